import {
  anomalyTagOf,
  openConfirmedAnomaly,
  SEALED_ANOMALY_BYTES,
  sealConfirmedAnomaly,
} from '@smartmeter/crypto';
import { anomalyId, type ConfirmedAnomalyRecord, type ConfirmedFinding } from '@smartmeter/domain';
import { DAY_PERIODS, SUB, scanWorld } from './support/anomalyWorld';

const SPIKE_AT = '2026-11-10T07:00:00Z';
const SPIKE_ID = anomalyId({ subscriptionId: SUB, kind: 'spike', periodStart: SPIKE_AT });
const range = ['--from', '2026-11-01', '--to', '2026-11-15'];

/** A spike on day 9 at 07:00, and a fake Anomaly contract that keeps what it is given. */
function confirmWorld() {
  const scanned = scanWorld((e) => {
    e[9 * DAY_PERIODS + 14] = 4_800;
  });
  const stored: ConfirmedAnomalyRecord[] = [];
  scanned.world.clients = {
    ...scanned.world.clients,
    anomalies: {
      confirm: async (subscriptionId, anomalyTag, sealedFinding) => {
        const record: ConfirmedAnomalyRecord = {
          docType: 'confirmedAnomaly',
          channel: 'northgrid',
          subscriptionId,
          distributorMspId: 'Distributor1MSP',
          anomalyTag,
          keyId: scanned.subscription.keyId,
          sealedFinding,
          confirmedAt: '2026-11-15T10:07:00Z',
        };
        stored.push(record);
        return record;
      },
      all: async () => stored,
    },
  };
  return { ...scanned, stored };
}

describe('meterctl anomalies confirm and list', () => {
  it('confirms a finding of the scan: sealed under the session key, named by a keyed tag, with the note', async () => {
    const { world, sessionKey, stored } = confirmWorld();

    const result = await world.run(
      '--json',
      'anomalies',
      'confirm',
      SUB,
      SPIKE_ID,
      ...range,
      '--note',
      'site visit',
    );

    expect(result.code).toBe(0);
    const tag = anomalyTagOf(sessionKey, SUB, SPIKE_ID);
    expect(world.calls.find((c) => c.method === 'anomalies.confirm')?.args.slice(0, 2)).toEqual([SUB, tag]);
    expect(stored).toHaveLength(1);
    const sealed = Buffer.from(stored[0].sealedFinding, 'base64');
    expect(sealed.length).toBe(SEALED_ANOMALY_BYTES);
    const opened = JSON.parse(
      openConfirmedAnomaly(sealed, sessionKey, {
        channel: 'northgrid',
        subscriptionId: SUB,
        anomalyTag: tag,
      }),
    ) as ConfirmedFinding;
    expect(opened).toMatchObject({
      anomalyId: SPIKE_ID,
      note: 'site visit',
      scannedFrom: '2026-11-01T00:00:00Z',
      scannedTo: '2026-11-15T00:00:00Z',
      finding: { kind: 'spike', subscriptionId: SUB, periodStart: SPIKE_AT, value: 4_800 },
    });
    expect(JSON.parse(result.stdout)).toMatchObject({
      subscriptionId: SUB,
      anomalyId: SPIKE_ID,
      anomalyTag: tag,
      confirmedAt: '2026-11-15T10:07:00Z',
    });
  });

  it('refuses an id the scan did not find, saying what it found, and submits nothing (exit 2)', async () => {
    const { world } = confirmWorld();
    const other = 'f'.repeat(32);

    const result = await world.run('anomalies', 'confirm', SUB, other, ...range);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`no finding ${other} in the scan of ${SUB}`);
    expect(result.stderr).toContain(`it found ${SPIKE_ID} (spike at ${SPIKE_AT})`);
    expect(world.methodsCalled()).not.toContain('anomalies.confirm');
  });

  it('refuses a malformed anomaly id, an empty or too long note, before connecting (exit 2)', async () => {
    for (const args of [
      ['anomalies', 'confirm', SUB, 'xyz', ...range],
      ['anomalies', 'confirm', SUB, SPIKE_ID, ...range, '--note', '   '],
      ['anomalies', 'confirm', SUB, SPIKE_ID, ...range, '--note', 'n'.repeat(301)],
      ['anomalies', 'confirm', 'sub_1', SPIKE_ID, ...range],
    ]) {
      const { world } = confirmWorld();
      const result = await world.run(...args);
      expect([result.code, world.methodsCalled()]).toEqual([2, []]);
      expect(result.stderr).toMatch(/anomaly id|--note must be 1 to 300 characters|is not a subscription id/);
    }
  });

  it('lists confirmed anomalies opened with the caller’s key, and says which ones it cannot open', async () => {
    const { world, sessionKey, stored } = confirmWorld();
    await world.run('anomalies', 'confirm', SUB, SPIKE_ID, ...range, '--note', 'site visit');
    // A record sealed under a key this keystore does not hold.
    const foreignTag = 'a'.repeat(32);
    stored.push({
      ...stored[0],
      anomalyTag: foreignTag,
      keyId: 'b'.repeat(32),
      sealedFinding: sealConfirmedAnomaly('{}', Buffer.alloc(32, 7), {
        channel: 'northgrid',
        subscriptionId: SUB,
        anomalyTag: foreignTag,
      }).toString('base64'),
    });

    const json = await world.run('--json', 'anomalies', 'list', SUB);
    const text = await world.run('anomalies', 'list', SUB);

    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as {
      anomalyTag: string;
      confirmed?: ConfirmedFinding;
      error?: string;
    }[];
    expect(rows).toHaveLength(2);
    const opened = rows.find((r) => r.anomalyTag === anomalyTagOf(sessionKey, SUB, SPIKE_ID));
    expect(opened?.confirmed).toMatchObject({
      anomalyId: SPIKE_ID,
      note: 'site visit',
      finding: { value: 4_800 },
    });
    expect(rows.find((r) => r.anomalyTag === foreignTag)?.error).toBe(
      `sealed under key ${'b'.repeat(32)}, which this keystore does not hold`,
    );
    expect(text.stdout).toContain(`${SUB} spike      ${SPIKE_AT} … ${SPIKE_AT}`);
    expect(text.stdout).toContain('confirmed 2026-11-15T10:07:00Z: site visit');
  });
});
