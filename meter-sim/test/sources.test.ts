import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HouseholdSource } from '../src/sources/household';
import { LclFormatError, LclReplaySource, parseLcl } from '../src/sources/lcl';

const HOUR = 3600;
const DAY = 86_400;
const at = (iso: string) => Date.parse(iso) / 1000;
const household = (seed: string, utility: 'electricity' | 'gas' | 'water' = 'electricity') =>
  new HouseholdSource({ seed, utility, utcOffsetMinutes: 0 });

function dailyTotal(source: HouseholdSource, dayStart: number): number {
  let total = 0;
  for (let t = dayStart; t < dayStart + DAY; t += 1800) total += source.measure(t, 1800).quantity;
  return total;
}

/** Mean use per half hour in [fromHour, toHour) over the given days. */
function meanBetween(source: HouseholdSource, days: number[], fromHour: number, toHour: number): number {
  const values = days.flatMap((day) =>
    Array.from(
      { length: (toHour - fromHour) * 2 },
      (_, i) => source.measure(day + fromHour * HOUR + i * 1800, 1800).quantity,
    ),
  );
  return values.reduce((a, b) => a + b, 0) / values.length;
}

describe('synthetic household', () => {
  it('when the same seed measures the same period twice then the quantity is identical; other seeds differ', () => {
    const period = at('2026-01-14T07:30:00Z');
    expect(household('hh-1').measure(period, 1800)).toEqual(household('hh-1').measure(period, 1800));
    const distinct = new Set(
      Array.from({ length: 20 }, (_, i) => dailyTotal(household(`hh-${i}`), at('2026-01-14T00:00:00Z'))),
    );
    expect(distinct.size).toBe(20);
  });

  it('when electricity is summed over a day then it lies between 4 and 18 kWh, more in January than in July', () => {
    for (let i = 0; i < 25; i += 1) {
      const source = household(`seed-${i}`);
      const winter = dailyTotal(source, at('2026-01-14T00:00:00Z'));
      const summer = dailyTotal(source, at('2026-07-15T00:00:00Z'));
      expect(winter).toBeGreaterThan(4000);
      expect(winter).toBeLessThan(18000);
      expect(summer).toBeGreaterThan(3000);
      expect(summer).toBeLessThan(winter);
    }
  });

  it('when gas and water are summed over a day then they lie in household ranges (litres), gas far higher in winter', () => {
    const gas = household('g', 'gas');
    const winterGas = dailyTotal(gas, at('2026-01-14T00:00:00Z'));
    const summerGas = dailyTotal(gas, at('2026-07-15T00:00:00Z'));
    expect(winterGas).toBeGreaterThan(2500);
    expect(winterGas).toBeLessThan(10000);
    expect(winterGas).toBeGreaterThan(3 * summerGas);
    const water = dailyTotal(household('w', 'water'), at('2026-03-10T00:00:00Z'));
    expect(water).toBeGreaterThan(150);
    expect(water).toBeLessThan(800);
  });

  it('when weekdays are averaged then morning and evening peaks stand above the night, and weekend mornings peak later', () => {
    const source = household('peaks');
    const weekdays = [12, 13, 14, 15, 16].map((d) => at(`2026-01-${d}T00:00:00Z`)); // Monday to Friday
    const weekends = [17, 18, 24, 25].map((d) => at(`2026-01-${d}T00:00:00Z`));
    const night = meanBetween(source, weekdays, 1, 5);
    expect(meanBetween(source, weekdays, 7, 8)).toBeGreaterThan(2 * night);
    expect(meanBetween(source, weekdays, 18, 20)).toBeGreaterThan(3 * night);
    expect(meanBetween(source, weekends, 9, 10)).toBeGreaterThan(meanBetween(source, weekdays, 9, 10));
    expect(meanBetween(source, weekends, 12, 15)).toBeGreaterThan(meanBetween(source, weekdays, 12, 15));
  });

  it('when the interval is halved then two short periods add up to the long one (same underlying usage)', () => {
    const source = household('intervals');
    for (let t = at('2026-02-01T00:00:00Z'); t < at('2026-02-02T00:00:00Z'); t += 3600) {
      const whole = source.measure(t, 3600).quantity;
      const halves = source.measure(t, 1800).quantity + source.measure(t + 1800, 1800).quantity;
      expect(Math.abs(whole - halves)).toBeLessThanOrEqual(1);
    }
  });
});

const sample = readFileSync(join(__dirname, '..', 'data', 'lcl-sample.csv'), 'utf8');

describe('London LCL replay', () => {
  it('when the shipped sample is parsed then the header with its trailing space and the Null values are understood', () => {
    expect(sample.split('\n')[0]).toBe('LCLid,stdorToU,DateTime,KWH/hh (per half hour) ');
    const households = parseLcl(sample);
    expect([...households.keys()]).toEqual(['MAC000002', 'MAC004387']);
    const first = households.get('MAC000002');
    expect(first?.tariff).toBe('Std');
    expect(first?.halfHours.size).toBe(7 * 48);
    expect(first?.halfHours.get(at('2013-01-07T08:30:00Z'))).toBeNull();
    expect(first?.halfHours.get(at('2013-01-07T00:00:00Z'))).toBe(0.115);
  });

  it('when a period is replayed then it gets the file value of the same time of day in Wh, summed for longer intervals', () => {
    const text = [
      'LCLid,stdorToU,DateTime,KWH/hh (per half hour) ',
      'MAC1,ToU,2013-01-07 00:00:00.0000000,0.250 ',
      'MAC1,ToU,2013-01-07 00:30:00.0000000,Null',
      'MAC1,ToU,2013-01-07 01:00:00.0000000, 0.1 ',
      'MAC1,ToU,2013-01-07 23:30:00.0000000,0.5',
    ].join('\n');
    const replay = new LclReplaySource(parseLcl(text).get('MAC1') as never);
    const sameTimeOfDay = at('2026-03-02T00:00:00Z');
    expect(replay.measure(sameTimeOfDay, 1800)).toEqual({ quantity: 250, quality: 'measured' });
    // Null: estimated from the value before it.
    expect(replay.measure(sameTimeOfDay + 1800, 1800)).toEqual({ quantity: 250, quality: 'estimated' });
    expect(replay.measure(sameTimeOfDay + 3600, 3600)).toEqual({ quantity: 100 + 100, quality: 'estimated' });
    expect(replay.measure(sameTimeOfDay, 900)).toEqual({ quantity: 125, quality: 'measured' });
    expect(replay.measure(sameTimeOfDay + 23.5 * HOUR, 1800).quantity).toBe(500);
    expect(replay.measure(sameTimeOfDay + DAY, 1800).quantity).toBe(250);
  });

  it('when the file is not LCL or has bad rows then the error names the header or every bad line', () => {
    expect(() => parseLcl('id,time,kwh\nA,1,2')).toThrow(LclFormatError);
    expect(() => parseLcl('id,time,kwh\nA,1,2')).toThrow(
      /header must be "LCLid,stdorToU,DateTime,KWH\/hh \(per half hour\) "/,
    );
    const bad = [
      'LCLid,stdorToU,DateTime,KWH/hh (per half hour) ',
      'MAC1,Std,2013-01-07 00:00:00.0000000,abc',
      'MAC1,Std,2013/01/07 00:30,0.1',
      'MAC1,Std,2013-01-07 00:10:00.0000000,0.1',
    ].join('\n');
    expect(() => parseLcl(bad)).toThrow(
      'bad LCL rows: line 2: KWH/hh "abc" is not a non-negative number or Null; line 3: DateTime "2013/01/07 00:30" is not like 2012-10-12 00:30:00.0000000; line 4: DateTime 2013-01-07 00:10:00.0000000 is not on a half hour',
    );
  });
});
