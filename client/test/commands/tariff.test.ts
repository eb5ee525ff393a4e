import { join } from 'node:path';
import { tariffRecord } from './support/fixtures';
import { TestWorld } from './support/world';

const example = join(__dirname, '..', '..', '..', 'examples', 'tariffs', 'time-of-use.json');

describe('meterctl tariff', () => {
  it('when a tariff file is published with --id and --effective-from then those replace the file fields', async () => {
    const world = new TestWorld();
    const publishTariff = jest.fn(async (json: string) => ({
      ...tariffRecord(),
      ...(JSON.parse(json) as object),
      version: 1,
    }));
    world.clients.pricing = { publishTariff };

    const result = await world.run(
      'tariff',
      'publish',
      example,
      '--id',
      'tou-x',
      '--effective-from',
      '2026-12-01',
    );

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: 'published tou-x v1 of Distributor1MSP: timeOfUse, GBP, from 2026-12-01T00:00:00Z\n',
    });
    expect(JSON.parse(publishTariff.mock.calls[0][0])).toMatchObject({
      tariffId: 'tou-x',
      effectiveFrom: '2026-12-01T00:00:00Z',
      currency: 'GBP',
      pricing: { kind: 'timeOfUse' },
    });
  });

  it('when the tariff file has schema errors then they are listed by field (exit 2) and nothing is sent', async () => {
    const world = new TestWorld();
    const bad = world.file('bad.json', JSON.stringify({ tariffId: 't', currency: 'pounds' }));

    const result = await world.run('tariff', 'publish', bad);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`^meterctl: tariff file ${bad} is invalid: .*currency: a 3-letter ISO 4217 code`),
    );
    expect(world.connections).toBe(0);
  });

  it('when a tariff is shown then its current version is described; history is a table', async () => {
    const world = new TestWorld();
    const tariff = jest.fn(async () => tariffRecord({ version: 2 }));
    world.clients.pricing = {
      tariff,
      tariffHistory: async () => [
        tariffRecord(),
        tariffRecord({ version: 2, effectiveFrom: '2026-11-01T00:00:00Z' }),
      ],
    };

    const shown = await world.run('tariff', 'show', 'flat-2026', '--distributor', 'Distributor1MSP');
    const history = await world.run('tariff', 'history', 'flat-2026', '--distributor', 'Distributor1MSP');

    expect(shown).toEqual({
      code: 0,
      stderr: '',
      stdout: 'flat-2026 v2 of Distributor1MSP: flat, GBP, from 2026-10-01T00:00:00Z\n',
    });
    expect(tariff).toHaveBeenCalledWith('Distributor1MSP', 'flat-2026');
    expect(history.stdout).toBe(
      [
        'VERSION  KIND  CURRENCY  EFFECTIVE FROM        PUBLISHED',
        '1        flat  GBP       2026-10-01T00:00:00Z  2026-10-01T00:00:00Z',
        '2        flat  GBP       2026-11-01T00:00:00Z  2026-10-01T00:00:00Z',
        '',
      ].join('\n'),
    );
  });
});
