import { TestWorld, authorityProfile } from './support/world';

describe('meterctl price-signal', () => {
  it('when a signal file is published then the signals go to the region and their number is printed', async () => {
    const world = new TestWorld();
    world.profile = authorityProfile(world.dir);
    const signals = [
      { periodStart: '2026-11-01T00:00:00Z', priceMicroPerKwh: 20_000_000 },
      { periodStart: '2026-11-01T00:30:00Z', priceMicroPerKwh: 21_000_000 },
    ];
    const publishSignals = jest.fn(async () => ({ regionCode: 'north/d1', count: 2 }));
    world.clients.pricing = { publishSignals };
    const file = world.file('signals.json', JSON.stringify(signals));

    const result = await world.run(
      '-c',
      'northgrid',
      'price-signal',
      'publish',
      '--region',
      'north/d1',
      '--file',
      file,
    );

    expect(result).toEqual({ code: 0, stderr: '', stdout: 'published 2 price signals for north/d1\n' });
    expect(publishSignals).toHaveBeenCalledWith('north/d1', signals);
  });

  it('when a signal has no valid price then the file is refused by index (exit 2) and nothing is sent', async () => {
    const world = new TestWorld();
    const file = world.file(
      'signals.json',
      JSON.stringify([{ periodStart: '2026-11-01T00:00:00Z', priceMicroPerKwh: -1 }]),
    );

    const result = await world.run('price-signal', 'publish', '--region', 'north/d1', '--file', file);

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `meterctl: price-signal file ${file} is invalid: [0].priceMicroPerKwh must be a non-negative integer (millionths of the minor unit per kWh: 25000000 = 25 p/kWh)\n`,
    });
    expect(world.calls).toEqual([]);
  });

  it('when signals are shown then they are listed for [from, to) as CSV', async () => {
    const world = new TestWorld();
    const signals = jest.fn(async () => [
      {
        docType: 'priceSignal' as const,
        regionCode: 'north/d1',
        periodStart: '2026-11-01T00:00:00Z',
        priceMicroPerKwh: 20_000_000,
        publishedAt: '2026-10-31T12:00:00Z',
      },
    ]);
    world.clients.pricing = { signals };

    const result = await world.run(
      '--csv',
      'price-signal',
      'show',
      '--region',
      'north/d1',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-02',
    );

    expect(result.stdout).toBe(
      'period_start,price_micro_per_kwh,source,regional_load_wh,policy_price_micro_per_kwh,policy_version,published\n2026-11-01T00:00:00Z,20000000,manual,,,,2026-10-31T12:00:00Z\n',
    );
    expect(signals).toHaveBeenCalledWith('north/d1', '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z');
  });
});
