import { lastBoundary } from '../../src/commands/wallet';
import { TestWorld, authorityProfile } from './support/world';

const policy = {
  regionCode: 'north',
  effectiveFrom: '2026-01-01T00:00:00Z',
  bands: [
    { fromW: 0, toW: 10_000, basePriceMicroPerKwh: 20_000_000, slopeMicroPerKwhPerKw: 0 },
    { fromW: 10_000, toW: null, basePriceMicroPerKwh: 20_000_000, slopeMicroPerKwhPerKw: 500_000 },
  ],
  floorMicroPerKwh: 15_000_000,
  capMicroPerKwh: 40_000_000,
};

describe('meterctl price-policy', () => {
  it('when a load is priced offline then it prints the average power and the price the chaincode derives', async () => {
    const world = new TestWorld();
    const file = world.file('policy.json', JSON.stringify(policy));
    // 4000 Wh in 900 s = 16000 W: 20 p + 0.5 p per kW above 10 kW = 23 p/kWh.
    const result = await world.run('price-policy', 'price', '--file', file, '--load-wh', '4000');
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: 'load 4000 Wh over 900 s = 16000 W on average: 23000000 µ/kWh\n',
    });
  });

  it('when a policy file has a gap then every error is printed by field (exit 2) and nothing is sent', async () => {
    const world = new TestWorld();
    world.profile = authorityProfile(world.dir);
    const publishPolicy = jest.fn();
    world.clients.pricing = { publishPolicy };
    const gap = {
      ...policy,
      bands: [policy.bands[0], { ...policy.bands[1], fromW: 12_000 }],
      floorMicroPerKwh: -1,
    };
    const file = world.file('gap.json', JSON.stringify(gap));
    const result = await world.run('-c', 'northgrid', 'price-policy', 'publish', file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('floorMicroPerKwh: must be a whole number from 0 to');
    expect(result.stderr).toContain('bands[1].fromW: a gap from 10000 W to 12000 W');
    expect(publishPolicy).not.toHaveBeenCalled();
  });
});

describe('wallet settle: the default end of a settlement', () => {
  const schedule = { startDate: '2026-01-30T00:00:00Z', intervalSeconds: 1800 };
  const at = (iso: string) => Date.parse(iso) / 1000;

  it('when periods have ended then it is the last boundary at least 5 minutes before now', () => {
    expect(lastBoundary(schedule, '2026-01-30T00:00:00Z', at('2026-01-30T10:04:00Z'))).toBe(
      '2026-01-30T09:30:00Z',
    );
    expect(lastBoundary(schedule, '2026-01-30T00:00:00Z', at('2026-01-30T10:05:00Z'))).toBe(
      '2026-01-30T10:00:00Z',
    );
  });

  it('when the month ends before now then it stops at the 1st of the next month', () => {
    expect(lastBoundary(schedule, '2026-01-30T00:00:00Z', at('2026-02-03T12:00:00Z'))).toBe(
      '2026-02-01T00:00:00Z',
    );
  });

  it('when no period has ended since the last settlement then it is the last settlement itself', () => {
    expect(lastBoundary(schedule, '2026-01-30T10:00:00Z', at('2026-01-30T10:20:00Z'))).toBe(
      '2026-01-30T10:00:00Z',
    );
  });
});
