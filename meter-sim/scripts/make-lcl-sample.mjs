// Writes data/lcl-sample.csv: a small, generated file in the layout of the London LCL smart-meter data
// (two households, one week of half hours, a few Null values). Generated, not downloaded, so tests never
// need the network. Run: node meter-sim/scripts/make-lcl-sample.mjs
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const households = [
  { id: 'MAC000002', tariff: 'Std', scale: 1.0, nulls: [17, 200] },
  { id: 'MAC004387', tariff: 'ToU', scale: 0.7, nulls: [95] },
];
const start = Date.UTC(2013, 0, 7); // a Monday
const lines = ['LCLid,stdorToU,DateTime,KWH/hh (per half hour) '];
for (const household of households) {
  for (let i = 0; i < 7 * 48; i += 1) {
    const at = new Date(start + i * 1800_000);
    const hour = at.getUTCHours() + at.getUTCMinutes() / 60;
    const morning = 0.25 * Math.exp(-0.5 * ((hour - 7.5) / 1) ** 2);
    const evening = 0.45 * Math.exp(-0.5 * ((hour - 19) / 1.6) ** 2);
    const wiggle = 0.03 * Math.sin(i * 1.7 + household.scale);
    const kwh = household.scale * (0.09 + morning + evening + wiggle);
    const dateTime = at.toISOString().replace('T', ' ').replace('.000Z', '.0000000');
    const value = household.nulls.includes(i) ? 'Null' : `${kwh.toFixed(3)} `;
    lines.push(`${household.id},${household.tariff},${dateTime},${value}`);
  }
}
writeFileSync(join(import.meta.dirname, '..', 'data', 'lcl-sample.csv'), `${lines.join('\n')}\n`);
