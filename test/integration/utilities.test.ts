import { decryptReading, sealPersonalData, type Utility } from '@smartmeter/crypto';
import {
  anomalyId,
  detectAnomalies,
  gasLitresToWh,
  UK_GAS_VOLUME_CORRECTION_PPM,
  type AnomalyFinding,
  type ReadingRecord,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeasurementClient } from '../../client/src/contracts/MeasurementClient';
import { SubscriptionClient } from '../../client/src/contracts/SubscriptionClient';
import { chaincodeChannel } from '../../client/src/contracts/invoke';
import { Keystore, writeSecretFile } from '../../client/src/keystore';
import { buildPairBundle } from '../../client/src/pairBundle';
import {
  AnomalyInjectingSource,
  planAnomalies,
  type InjectedAnomaly,
} from '../../meter-sim/src/sources/anomalies';
import { HouseholdSource } from '../../meter-sim/src/sources/household';
import { Gateways, isoSeconds as iso } from '../support/chaincode';
import {
  CHANNEL,
  enrollSubscriber,
  D1,
  HOUSEHOLDS,
  issueBill,
  onboardHousehold,
  type OnboardedHousehold,
} from '../support/household';
import { meterctlJson } from '../support/meterctl';
import { MeterSimProcess } from '../support/meterSim';
import { CHAINCODE, networkHome, profile } from '../support/network';

/**
 * Issue 19 on the real network: one household with an electricity, a gas and a water meter, each run by
 * meter-sim at speed over ten days with injected faults; bills per utility; the faults found by
 * `meterctl anomalies scan` as the distributor sees them.
 */
const HALF_HOUR = 1800;
const DAYS = 10;
const ukGas = { calorificValueKjPerM3: 39_500, volumeCorrectionPpm: UK_GAS_VOLUME_CORRECTION_PPM };
const TARIFFS: Record<Utility, object> = {
  electricity: {},
  gas: {
    utility: 'gas',
    gasConversion: ukGas,
    pricing: { kind: 'flat', priceMicroPerKwh: 6_240_000 },
    standingChargeMicroPerDay: 29_000_000,
  },
  water: {
    utility: 'water',
    pricing: { kind: 'flat', priceMicroPerKwh: 212_340_000 }, // per m³ for water
    standingChargeMicroPerDay: 25_000_000,
  },
};
const FAULTS: Record<Utility, string> = { electricity: 'spike', gas: 'spike,leak', water: 'spike,leak' };

const gateways = new Gateways();
afterAll(() => {
  gateways.closeAll();
});

describe('gas, water and electricity meters of one household', () => {
  // Ten days back, six-hour aligned: the simulated days lie in the past, where the ledger accepts them.
  const start = Math.floor(Date.now() / 1000 / 21_600) * 21_600 - DAYS * 86_400;
  const end = start + DAYS * 86_400;
  const dir = mkdtempSync(join(tmpdir(), 'utilities-it-'));
  const subscriber = `util-hh-${Date.now().toString(36)}`;
  const meters = {} as Record<Utility, OnboardedHousehold>;
  const running: MeterSimProcess[] = [];
  let measurements: MeasurementClient;

  /** The distributor's keystore: the org keys each onboarding published, under their ledger versions. */
  const distributorKeys = new Keystore(join(dir, 'distributor1'));
  const bundleOf = (utility: Utility): string => join(dir, `${utility}-bundle.json`);
  const meterSim = (utility: Utility, runAs: Utility, ...args: string[]): MeterSimProcess => {
    const child = new MeterSimProcess([
      '--bundle',
      bundleOf(utility),
      '--state-dir',
      join(dir, `${utility}-state`),
      '--refresh',
      '1',
      '--utility',
      runAs,
      ...args,
    ]);
    running.push(child);
    return child;
  };
  /** What the meter measured, computed here from the same seeds: the household source with its faults. */
  const sourceOf = (utility: Utility): { source: AnomalyInjectingSource; plan: InjectedAnomaly[] } => {
    const meterId = meters[utility].meter;
    const plan = planAnomalies(meterId, {
      utility,
      fromSeconds: start,
      toSeconds: end,
      intervalSeconds: 900,
      kinds: FAULTS[utility].split(','),
    });
    const inner = new HouseholdSource({ seed: meterId, utility, utcOffsetMinutes: 0 });
    return { source: new AnomalyInjectingSource(inner, plan, 900), plan };
  };
  const onLedger = (utility: Utility): Promise<ReadingRecord[]> =>
    measurements.all(meters[utility].subscriptionId, iso(start), iso(end));

  beforeAll(async () => {
    await enrollSubscriber(subscriber);
    for (const utility of ['electricity', 'gas', 'water'] as const) {
      meters[utility] = await onboardHousehold(gateways, `util-${utility.slice(0, 3)}`, start, {
        pair: false,
        subscriber,
        utility,
        tariff: TARIFFS[utility],
      });
      const households = profile(HOUSEHOLDS);
      const household = meters[utility];
      const bundle = buildPairBundle({
        profile: households,
        channel: CHANNEL,
        subscriptionId: household.subscriptionId,
        meterId: household.meter,
        meterIdentity: households.identities[household.meter],
        sessionKey: household.sessionKey,
        sealedPersonalData: sealPersonalData(
          Buffer.from('{}'),
          household.sessionKey,
          household.subscriptionId,
        ),
      });
      writeSecretFile(bundleOf(utility), JSON.stringify(bundle));
    }
    measurements = new MeasurementClient(
      chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
    );
    const subscriptions = new SubscriptionClient(
      chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
    );
    for (const household of Object.values(meters)) {
      const record = await subscriptions.get(household.subscriptionId);
      const grant = record.keyGrants.find((g) => g.mspId === D1);
      if (!grant) throw new Error(`no grant for ${D1}`);
      writeSecretFile(
        distributorKeys.orgKeyPath(CHANNEL, D1, grant.orgKeyVersion),
        household.orgKeys[D1].privateKeyPem,
      );
    }
  }, 240_000);

  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(running.map((child) => child.exited));
  });

  it('the household holds one subscription per utility, each naming its utility in clear', async () => {
    const subscriptions = new SubscriptionClient(
      chaincodeChannel(gateways.gateway(HOUSEHOLDS, subscriber), CHANNEL, CHAINCODE),
    );
    const records: SubscriptionRecord[] = await subscriptions.mine();
    const ours = records.filter((s) =>
      Object.values(meters).some((m) => m.subscriptionId === s.subscriptionId),
    );
    expect(ours.map((s) => s.utility ?? 'electricity').sort()).toEqual(['electricity', 'gas', 'water']);
  });

  it('a meter run as electricity for the gas subscription refuses to start and submits nothing', async () => {
    const wrong = meterSim('gas', 'electricity', '--speed', '100000', '--until', iso(end));
    const exit = await wrong.exited;
    expect(exit.code).not.toBe(0);
    const failed = wrong.events.find((e) => e.event === 'meter.failed');
    expect(failed?.message).toBe(
      `subscription ${meters.gas.subscriptionId} meters gas, but this meter measures electricity: run with --utility gas`,
    );
    expect(await onLedger('gas')).toEqual([]);
  });

  it('each meter runs ten days at speed with its faults, and the ledger holds exactly what it measured', async () => {
    const runs = (['electricity', 'gas', 'water'] as const).map((utility) =>
      meterSim(
        utility,
        utility,
        '--speed',
        '100000',
        '--from',
        iso(start),
        '--until',
        iso(end),
        '--inject-anomalies',
        FAULTS[utility],
      ),
    );
    for (const run of runs) expect(await run.exited).toEqual({ code: 0, signal: null });
    for (const utility of ['electricity', 'gas', 'water'] as const) {
      const { source } = sourceOf(utility);
      const readings = await onLedger(utility);
      expect(readings).toHaveLength(DAYS * 48);
      const household = meters[utility];
      for (const reading of readings) {
        const slot = {
          channel: CHANNEL,
          subscriptionId: household.subscriptionId,
          sequence: reading.sequence,
          periodStart: reading.periodStart,
        };
        expect(decryptReading(reading, household.sessionKey, slot)).toEqual({
          energyWh: source.measure(Date.parse(reading.periodStart) / 1000, HALF_HOUR).quantity,
          utility,
          unit: utility === 'electricity' ? 'Wh' : 'L',
          quality: 'measured',
        });
      }
    }
  }, 600_000);

  it('bills per utility: electricity in Wh, gas litres converted to kWh month by month, water litres per m³', async () => {
    const measured = (utility: Utility, from: number, to: number): number => {
      const { source } = sourceOf(utility);
      let sum = 0;
      for (let t = from; t < to; t += HALF_HOUR) sum += source.measure(t, HALF_HOUR).quantity;
      return sum;
    };
    // The running volume restarts on the 1st, so a bill across months converts each month's volume once.
    const firstOfMonth =
      Date.UTC(new Date(end * 1000).getUTCFullYear(), new Date(end * 1000).getUTCMonth(), 1) / 1000;
    const months =
      firstOfMonth > start
        ? [
            [start, firstOfMonth],
            [firstOfMonth, end],
          ]
        : [[start, end]];

    const electricity = await issueBill(gateways, meters.electricity, start, end);
    expect(electricity.metered).toBeUndefined();
    expect(electricity.energyWh).toBe(measured('electricity', start, end));

    const gas = await issueBill(gateways, meters.gas, start, end);
    const litres = measured('gas', start, end);
    expect(gas.metered).toEqual({ utility: 'gas', litres, estimatedLitres: 0 });
    expect(gas.energyWh).toBe(
      months.reduce((sum, [a, b]) => sum + gasLitresToWh(measured('gas', a, b), ukGas), 0),
    );
    expect(gas.invalidReadings).toEqual([]);

    const water = await issueBill(gateways, meters.water, start, end);
    expect(water.metered).toEqual({
      utility: 'water',
      litres: measured('water', start, end),
      estimatedLitres: 0,
    });
    expect(water.energyWh).toBe(water.metered?.litres);
    // Ten days of standing charge at 25 p a day, each month's running total rounded half up on its own.
    const standing = months.reduce((sum, [a, b]) => sum + Math.round(((b - a) / 86_400) * 25), 0);
    expect(water.standingCharge.amountMinor).toBe(standing);
    expect(water.standingCharge.seconds).toBe(DAYS * 86_400);
  });

  it('anomalies scan as the distributor finds the injected spikes and leaks, as the detector does on what was measured', async () => {
    type Scan = {
      scans: { subscriptionId: string; utility: Utility; readings: number; findings: AnomalyFinding[] }[];
    };
    const ids = (['electricity', 'gas', 'water'] as const).map((u) => meters[u].subscriptionId);
    const scanArgs = [
      '-p',
      join(networkHome, 'profiles', 'distributor1.json'),
      '-k',
      distributorKeys.dir,
      'anomalies',
      'scan',
      ...ids,
      '--from',
      iso(start),
      '--to',
      iso(end),
    ];
    const scan = await meterctlJson<Scan>(scanArgs);
    // The same scan, saved to the reporting database: once, and a second scan updates rather than adds.
    const reportDbUrl = profile('authority').reportDbUrl as string;
    const save = [
      ...scanArgs,
      '--save',
      '--db-url',
      reportDbUrl,
      '--db-name',
      `anomalies_${Date.now().toString(36)}`,
    ];
    type Saved = Scan & { saved: { added: number; updated: number } };
    const first = await meterctlJson<Saved>(save);
    const total = first.scans.reduce((sum, s) => sum + s.findings.length, 0);
    expect(first.saved).toEqual({ added: total, updated: 0 });
    expect((await meterctlJson<Saved>(save)).saved).toEqual({ added: 0, updated: total });
    const dbName = save.at(-1) as string;
    const spike = first.scans[0].findings[0];
    const stored = (await (
      await fetch(`${reportDbUrl}/${dbName}/${encodeURIComponent(`anomaly|northgrid|${anomalyId(spike)}`)}`)
    ).json()) as Record<string, unknown>;
    expect(stored).toMatchObject({
      docType: 'anomaly',
      kind: spike.kind,
      periodStart: spike.periodStart,
      value: spike.value,
    });

    expect(scan.scans.map((s) => [s.utility, s.readings])).toEqual([
      ['electricity', DAYS * 48],
      ['gas', DAYS * 48],
      ['water', DAYS * 48],
    ]);
    for (const [i, utility] of (['electricity', 'gas', 'water'] as const).entries()) {
      const { source, plan } = sourceOf(utility);
      const points = Array.from({ length: DAYS * 48 }, (_, n) => ({
        periodStart: iso(start + n * HALF_HOUR),
        quantity: source.measure(start + n * HALF_HOUR, HALF_HOUR).quantity,
      }));
      const expected = detectAnomalies({
        subscriptionId: ids[i],
        utility,
        intervalSeconds: HALF_HOUR,
        points,
      });
      expect(scan.scans[i].findings).toEqual(expected.map((f) => ({ ...f, anomalyId: anomalyId(f) })));
      // Every injected fault lies inside a finding of its kind.
      for (const fault of plan) {
        const faultEnd = iso(fault.startSeconds + fault.periods * 900 - 1);
        expect(scan.scans[i].findings).toContainEqual(expect.objectContaining({ kind: fault.kind }));
        const hit = scan.scans[i].findings.find(
          (f) =>
            f.kind === fault.kind &&
            f.periodStart <= faultEnd &&
            iso(Date.parse(f.periodEnd) / 1000 + HALF_HOUR) > iso(fault.startSeconds),
        );
        expect(hit).toBeDefined();
      }
    }
  });
});
