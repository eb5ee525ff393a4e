import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HouseholdSource } from '../src/sources/household';
import { LclFormatError, LclReplaySource, parseLcl, type LclHousehold } from '../src/sources/lcl';

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
    replay.alignTo(sameTimeOfDay);
    expect(replay.measure(sameTimeOfDay, 1800)).toEqual({ quantity: 250, quality: 'measured' });
    // Null: estimated from the value before it.
    expect(replay.measure(sameTimeOfDay + 1800, 1800)).toEqual({ quantity: 250, quality: 'estimated' });
    expect(replay.measure(sameTimeOfDay + 3600, 3600)).toEqual({ quantity: 100 + 100, quality: 'estimated' });
    expect(replay.measure(sameTimeOfDay, 900)).toEqual({ quantity: 125, quality: 'measured' });
    expect(replay.measure(sameTimeOfDay + 23.5 * HOUR, 1800).quantity).toBe(500);
    expect(replay.measure(sameTimeOfDay + DAY, 1800).quantity).toBe(250);
  });

  it('when the file is not LCL or has bad rows then the error names the missing columns or every bad line', () => {
    expect(() => parseLcl('id,time,kwh\nA,1,2')).toThrow(LclFormatError);
    expect(() => parseLcl('id,time,kwh\nA,1,2')).toThrow(
      'not an LCL file: the header has no "LCLid", "DateTime", "KWH/hh (per half hour)" column (an LCL file starts "LCLid,stdorToU,DateTime,KWH/hh (per half hour) ", other columns are ignored; got "id,time,kwh")',
    );
    expect(() => parseLcl('LCLid,DateTime,kwh\nA,1,2')).toThrow(
      /^not an LCL file: the header has no "KWH\/hh \(per half hour\)" column/,
    );
    const bad = [
      'LCLid,stdorToU,DateTime,KWH/hh (per half hour) ',
      'MAC1,Std,2013-01-07 00:00:00.0000000,abc',
      'MAC1,Std,2013/01/07 00:30,0.1',
      'MAC1,Std,2013-01-07 00:10:00.0000000,0.1',
      'MAC1,Std,2013-01-07 01:00:00.0000000,0.1,ACORN-A',
    ].join('\n');
    expect(() => parseLcl(bad)).toThrow(
      'bad LCL rows: line 2: KWH/hh "abc" is not a non-negative number or Null; line 3: DateTime "2013/01/07 00:30" is not like 2012-10-12 00:30:00.0000000; line 4: DateTime 2013-01-07 00:10:00.0000000 is not on a half hour; line 5: expected 4 fields, as in the header, got 5',
    );
  });
});

describe('London LCL replay: the variant with Acorn columns, and where the replay starts', () => {
  const acorn = readFileSync(join(__dirname, 'fixtures', 'lcl-acorn.csv'), 'utf8');
  /** The fixture's kWh for file day d (0-2) and half hour h, in Wh. */
  const fixtureWh = (d: number, h: number) => Math.round(((d + 1) / 10 + h / 1000) * 1000);
  const household = () => parseLcl(acorn).get('MAC000003') as LclHousehold;
  /** 2026-11-15 is a Sunday: the subscription's first day in these tests. */
  const subscriptionStart = at('2026-11-15T10:30:00Z');
  const firstDay = at('2026-11-15T00:00:00Z');

  it('when the file has Acorn,Acorn_grouped columns then they are ignored and the readings parsed by header name', () => {
    expect(acorn.split('\n')[0]).toBe('LCLid,stdorToU,DateTime,KWH/hh (per half hour) ,Acorn,Acorn_grouped');
    const parsed = household();
    expect(parsed.tariff).toBe('ToU');
    expect(parsed.halfHours.size).toBe(3 * 48);
    expect(parsed.halfHours.get(at('2013-01-07T00:30:00Z'))).toBe(0.101);
    expect(parsed.halfHours.get(at('2013-01-08T05:00:00Z'))).toBeNull();
  });

  it('when the columns come in another order, with CRLF lines and without stdorToU, then they are found by name', () => {
    const text = [
      'Acorn,KWH/hh (per half hour) ,DateTime,lclid',
      'ACORN-A,0.2,2013-01-07 00:00:00.0000000,MAC9',
      'ACORN-A,Null,2013-01-07 00:30:00.0000000,MAC9',
    ].join('\r\n');
    const parsed = parseLcl(text).get('MAC9');
    expect(parsed?.tariff).toBe('');
    expect([...(parsed?.halfHours ?? [])]).toEqual([
      [at('2013-01-07T00:00:00Z'), 0.2],
      [at('2013-01-07T00:30:00Z'), null],
    ]);
    expect(new LclReplaySource(parsed as LclHousehold).description).toBe(
      "LCL household MAC9 (1 day from 2013-01-07); file day 2013-01-07 (Mon) plays on the subscription's first day",
    );
  });

  it("when aligned to the subscription then its first day replays the file's first day, and the next days the next file days", () => {
    const replay = new LclReplaySource(household());
    replay.alignTo(subscriptionStart);

    // Midnight of the first day, whatever time the subscription starts at on it.
    expect(replay.measure(firstDay, 1800)).toEqual({ quantity: fixtureWh(0, 0), quality: 'measured' });
    expect(replay.measure(subscriptionStart, 1800).quantity).toBe(fixtureWh(0, 21));
    expect(replay.measure(firstDay + DAY + 3 * HOUR, 1800).quantity).toBe(fixtureWh(1, 6));
    expect(replay.measure(firstDay + 2 * DAY + 23.5 * HOUR, 1800).quantity).toBe(fixtureWh(2, 47));
    // The Null of file day 2 at 05:00, estimated from 04:30.
    expect(replay.measure(firstDay + DAY + 5 * HOUR, 1800)).toEqual({
      quantity: fixtureWh(1, 9),
      quality: 'estimated',
    });
    // After the file's last day, its first day again.
    expect(replay.measure(firstDay + 3 * DAY, 1800).quantity).toBe(fixtureWh(0, 0));
    expect(replay.description).toBe(
      'LCL household MAC000003 (ToU, 3 days from 2013-01-07); file day 2013-01-07 (Mon) plays on 2026-11-15 (Sun)',
    );
  });

  it('when the replay starts from a later file day then that day plays on the first day, and the days before it last', () => {
    const replay = new LclReplaySource(household(), { fromDaySeconds: at('2013-01-08T00:00:00Z') });
    replay.alignTo(subscriptionStart);

    expect(replay.measure(firstDay, 1800).quantity).toBe(fixtureWh(1, 0));
    expect(replay.measure(firstDay + DAY, 1800).quantity).toBe(fixtureWh(2, 0));
    expect(replay.measure(firstDay + 2 * DAY, 1800).quantity).toBe(fixtureWh(0, 0));
    // A period before the subscription's first day plays the file day before the start day.
    expect(replay.measure(firstDay - 1800, 1800).quantity).toBe(fixtureWh(0, 47));
    expect(replay.description).toBe(
      'LCL household MAC000003 (ToU, 3 days from 2013-01-07); file day 2013-01-08 (Tue) plays on 2026-11-15 (Sun)',
    );
  });

  it("when the replay is to start outside the household's days then it is refused with the days it has", () => {
    expect(() => new LclReplaySource(household(), { fromDaySeconds: at('2013-01-10T00:00:00Z') })).toThrow(
      'the replay cannot start on 2013-01-10: LCL household MAC000003 has 2013-01-07 to 2013-01-09',
    );
  });

  it('when the replay is not aligned yet then the file days play on their own dates', () => {
    const replay = new LclReplaySource(household());
    expect(replay.measure(at('2013-01-08T01:00:00Z'), 1800).quantity).toBe(fixtureWh(1, 2));
  });
});
