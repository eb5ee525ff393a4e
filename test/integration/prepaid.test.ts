import { keyIdOf, newSessionKey } from '@smartmeter/crypto';
import {
  openReadings,
  type BillRecord,
  type MeterPolicy,
  type WalletEntryRecord,
  type WalletRecord,
} from '@smartmeter/domain';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chaincodeChannel } from '../../client/src/contracts/invoke';
import { MeasurementClient } from '../../client/src/contracts/MeasurementClient';
import { writeSecretFile } from '../../client/src/keystore';
import { buildPairBundle } from '../../client/src/pairBundle';
import { HouseholdSource } from '../../meter-sim/src/sources/household';
import { MeterSimProcess, type LogEvent } from '../support/meterSim';
import { PrepaidClient } from '../../client/src/contracts/PrepaidClient';
import { CHAINCODE, Gateways, isoSeconds as iso, rejection, submitJson } from '../support/chaincode';
import {
  AUTHORITY,
  CHANNEL,
  D1,
  HOUSEHOLDS,
  INTERVAL,
  issueBill,
  onboardHousehold,
  readingFor,
  type OnboardedHousehold,
} from '../support/household';
import { meterctl, meterctlJson } from '../support/meterctl';
import { networkHome, profile } from '../support/network';

/**
 * Issue 18 on the real network: two prepaid households on northgrid. A flat tariff of 25 p/kWh with no standing
 * charge and no tax makes every settlement easy to check by hand: a reading of 800 Wh costs exactly 20 p, a
 * batch of 24 such readings 4.80 GBP.
 */
const DAY = 86_400;
const BATCH = 24;
const WH = 800;
const BATCH_COST = (BATCH * WH * 25) / 1000; // 480 pence
const start = Math.floor(Date.now() / 1000 / DAY) * DAY - 3 * DAY;
const batchEnd = (n: number) => start + n * BATCH * INTERVAL;
const flat = {
  standingChargeMicroPerDay: 0,
  taxBasisPoints: 0,
  pricing: { kind: 'flat', priceMicroPerKwh: 25_000_000 },
} as const;
/** No friendly hours: the switch-off does not depend on when CI runs. */
const policy: MeterPolicy = {
  warningBelowMinor: 600,
  powerSavingBelowMinor: 300,
  switchOffBelowMinor: 0,
  powerSavingLimitW: 1000,
  friendlyHours: { utcOffsetMinutes: 0, days: [], holidays: [] },
};

const gateways = new Gateways();
const work = mkdtempSync(join(tmpdir(), 'prepaid-it-'));
const profilePath = (org: string) => join(networkHome, 'profiles', `${org}.json`);
const operator = () =>
  new PrepaidClient(chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE));
const asHousehold = (h: OnboardedHousehold) =>
  new PrepaidClient(chaincodeChannel(gateways.gateway(HOUSEHOLDS, h.subscriber), CHANNEL, CHAINCODE));
let a: OnboardedHousehold;
let b: OnboardedHousehold;

/** The meter submits batch n (readings (n−1)·24 … n·24 − 1, each 800 Wh, sequences continuing). */
async function readingsFrom(h: OnboardedHousehold, n: number): Promise<void> {
  const readings = Array.from({ length: BATCH }, (_, i) => readingFor(h, start, (n - 1) * BATCH + i, WH));
  await submitJson(
    gateways.contract(HOUSEHOLDS, CHANNEL, 'Measurement', h.meter),
    'SubmitReadings',
    JSON.stringify(readings),
  );
}

/** Batch n's readings, then the operator settles up to its end. */
async function useAndSettle(h: OnboardedHousehold, n: number): Promise<WalletRecord> {
  await readingsFrom(h, n);
  return operator().settle(h.subscriptionId, iso(batchEnd(n)), h.sessionKey, [D1, AUTHORITY]);
}

describe('prepaid wallets on northgrid', () => {
  beforeAll(async () => {
    a = await onboardHousehold(gateways, 'pa', start, { tariff: flat });
    b = await onboardHousehold(gateways, 'pb', start, { tariff: flat });
  }, 180_000);

  afterAll(() => {
    gateways.closeAll();
  });

  it('the operator opens the wallets; a household cannot, and a second wallet is refused', async () => {
    expect(await rejection(asHousehold(a).open(a.subscriptionId, 500))).toMatch(
      /FORBIDDEN: OpenWallet needs an operator/,
    );
    const opened = await operator().open(a.subscriptionId, 500);
    expect(opened).toMatchObject({
      balanceMinor: 0,
      currency: 'GBP',
      emergencyCreditMinor: 500,
      settledUntil: iso(start),
    });
    await operator().open(b.subscriptionId, 500);
    expect(await rejection(operator().open(a.subscriptionId, 500))).toMatch(/ALREADY_EXISTS/);
  }, 60_000);

  it('a top-up credits the wallet once per reference; bad amounts and a reused reference are refused', async () => {
    const topped = await operator().topUp(a.subscriptionId, 1000, `PAY-${a.subscriptionId}-1`);
    expect(topped.balanceMinor).toBe(1000);
    expect(await operator().topUp(a.subscriptionId, 1000, `PAY-${a.subscriptionId}-1`)).toMatchObject({
      balanceMinor: 1000,
    });
    expect(await rejection(operator().topUp(a.subscriptionId, 999, `PAY-${a.subscriptionId}-1`))).toMatch(
      /CONFLICT: top-up reference/,
    );
    for (const bad of [0, -5, 1_000_001])
      expect(await rejection(operator().topUp(a.subscriptionId, bad, `PAY-bad-${bad}`))).toMatch(
        /INVALID_ARGUMENT: amountMinor/,
      );
    const fractional = await meterctl([
      ...[
        '-p',
        profilePath('distributor1'),
        'wallet',
        'top-up',
        a.subscriptionId,
        '--amount',
        '1.005',
        '--reference',
        'PAY-x',
      ],
    ]);
    expect(fractional.code).toBe(2);
    expect(fractional.stderr).toMatch(/--amount/);
    expect(await rejection(asHousehold(a).topUp(a.subscriptionId, 100, 'PAY-self'))).toMatch(/FORBIDDEN/);
    expect((await operator().wallet(a.subscriptionId)).balanceMinor).toBe(1000);
  }, 60_000);

  it('the household sets its meter policy; an inverted policy or another household is refused', async () => {
    const inverted = { ...policy, powerSavingBelowMinor: 700 };
    expect(await rejection(asHousehold(a).setPolicy(a.subscriptionId, JSON.stringify(inverted)))).toMatch(
      /INVALID_ARGUMENT: the meter policy is invalid: powerSavingBelowMinor/,
    );
    expect(await rejection(asHousehold(b).setPolicy(a.subscriptionId, JSON.stringify(policy)))).toMatch(
      /FORBIDDEN/,
    );
    const file = join(work, 'policy.json');
    writeFileSync(file, JSON.stringify(policy));
    const set = await meterctlJson<WalletRecord>([
      ...[
        '-p',
        profilePath(HOUSEHOLDS),
        '-i',
        a.subscriber,
        'meter',
        'policy',
        'set',
        a.subscriptionId,
        '--file',
        file,
      ],
    ]);
    expect(set.policy).toEqual(policy);
    expect(set).toMatchObject({ supply: 'on', supplyReason: 'balance-ok' });
  }, 60_000);

  it('settlements drain the wallet by exactly the cost of the readings; the supply follows the thresholds', async () => {
    const first = await useAndSettle(a, 1);
    expect(first).toMatchObject({
      balanceMinor: 1000 - BATCH_COST,
      supply: 'on',
      supplyReason: 'low-balance-warning',
      settledUntil: iso(batchEnd(1)),
    });
    // The same range again, a wrong session key, a future period: refused, balance unchanged.
    expect(
      await rejection(operator().settle(a.subscriptionId, iso(batchEnd(1)), a.sessionKey, [D1, AUTHORITY])),
    ).toMatch(/CONFLICT: .* is settled or billed until/);
    await readingsFrom(a, 2);
    expect(
      await rejection(
        operator().settle(a.subscriptionId, iso(batchEnd(2)), newSessionKey(), [D1, AUTHORITY]),
      ),
    ).toMatch(/FORBIDDEN: the session key given is not the key/);
    expect(
      await rejection(
        operator().settle(a.subscriptionId, iso(Math.floor(Date.now() / 1000) + 3600 * 6), a.sessionKey, [
          D1,
          AUTHORITY,
        ]),
      ),
    ).toMatch(/INVALID_ARGUMENT/);
    expect((await operator().wallet(a.subscriptionId)).balanceMinor).toBe(1000 - BATCH_COST);
    const second = await operator().settle(a.subscriptionId, iso(batchEnd(2)), a.sessionKey, [D1, AUTHORITY]);
    expect(second).toMatchObject({
      balanceMinor: 1000 - 2 * BATCH_COST,
      supply: 'power-saving',
      supplyReason: 'power-saving-threshold',
    });
  }, 120_000);

  it('emergency credit is taken once; below zero the supply stays in power saving until the credit is used up, then switches off', async () => {
    const credit = await asHousehold(a).takeEmergencyCredit(a.subscriptionId);
    expect(credit.emergencyCreditTakenAt).toBeDefined();
    expect(await rejection(asHousehold(a).takeEmergencyCredit(a.subscriptionId))).toMatch(
      /CONFLICT: no emergency credit/,
    );
    const third = await useAndSettle(a, 3);
    expect(third).toMatchObject({
      balanceMinor: 1000 - 3 * BATCH_COST,
      supply: 'power-saving',
      supplyReason: 'emergency-credit',
    });
    const fourth = await useAndSettle(a, 4);
    expect(fourth).toMatchObject({
      balanceMinor: 1000 - 4 * BATCH_COST,
      supply: 'off',
      supplyReason: 'switch-off-threshold',
    });
    // A top-up to ≥ 0 switches it back on and repays the emergency credit.
    const topped = await operator().topUp(a.subscriptionId, 2000, `PAY-${a.subscriptionId}-2`);
    expect(topped).toMatchObject({
      balanceMinor: 3000 - 4 * BATCH_COST,
      supply: 'on',
      supplyReason: 'balance-ok',
    });
    expect(topped.emergencyCreditTakenAt).toBeUndefined();
    const history = await asHousehold(a).history(a.subscriptionId);
    const changes = history
      .filter((e: WalletEntryRecord) => e.kind === 'supply')
      .map((e) => `${e.supply}:${e.supplyReason}`);
    // Opened at 0 (power saving under the default policy), topped up (on), then the settlements.
    expect(changes).toEqual([
      'power-saving:power-saving-threshold',
      'on:balance-ok',
      'on:low-balance-warning',
      'power-saving:power-saving-threshold',
      'power-saving:emergency-credit',
      'off:switch-off-threshold',
      'on:balance-ok',
    ]);
  }, 180_000);

  it('a transfer to a neighbour changes both balances exactly; bad transfers are refused and change nothing', async () => {
    const before = (await operator().wallet(a.subscriptionId)).balanceMinor;
    const sent = await asHousehold(a).transfer(a.subscriptionId, b.subscriptionId, 250);
    // The sender gets its own wallet back, never the neighbour's.
    expect(sent).toMatchObject({ subscriptionId: a.subscriptionId, balanceMinor: before - 250 });
    expect((await operator().wallet(a.subscriptionId)).balanceMinor).toBe(before - 250);
    expect(await rejection(asHousehold(b).transfer(b.subscriptionId, b.subscriptionId, 1))).toMatch(
      /INVALID_ARGUMENT: a wallet cannot transfer to itself/,
    );
    expect(await rejection(asHousehold(b).transfer(b.subscriptionId, a.subscriptionId, 251))).toMatch(
      /CONFLICT: .*below zero/,
    );
    expect(await rejection(asHousehold(b).transfer(a.subscriptionId, b.subscriptionId, 1))).toMatch(
      /FORBIDDEN: only the household/,
    );
    expect(
      await rejection(asHousehold(a).transfer(a.subscriptionId, 'sub_000000000000000000000000', 1)),
    ).toMatch(/NOT_FOUND/);
    expect(await rejection(operator().transfer(a.subscriptionId, b.subscriptionId, 1))).toMatch(/FORBIDDEN/);
    expect((await operator().wallet(a.subscriptionId)).balanceMinor).toBe(before - 250);
    expect((await operator().wallet(b.subscriptionId)).balanceMinor).toBe(250);
  }, 120_000);

  it('another household cannot read the wallet, through the client or meterctl', async () => {
    expect(await rejection(asHousehold(b).wallet(a.subscriptionId))).toMatch(
      /FORBIDDEN: subscriber .* may not GetWallet/,
    );
    expect(await rejection(asHousehold(b).history(a.subscriptionId))).toMatch(/FORBIDDEN/);
    const shown = await meterctl([
      '-p',
      profilePath(HOUSEHOLDS),
      '-i',
      b.subscriber,
      'wallet',
      'show',
      a.subscriptionId,
    ]);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toMatch(/FORBIDDEN/);
    const own = await meterctl([
      '-p',
      profilePath(HOUSEHOLDS),
      '-i',
      a.subscriber,
      'wallet',
      'show',
      a.subscriptionId,
    ]);
    expect(own.code).toBe(0);
    expect(own.stdout).toContain(`balance ${((3000 - 4 * BATCH_COST - 250) / 100).toFixed(2)} GBP`);
    expect(own.stdout).toContain('supply: on (balance-ok');
  }, 60_000);

  it('a settlement and a transfer of one wallet at once both land (a lost MVCC race is endorsed again), and neither debit is lost or doubled', async () => {
    const before = (await operator().wallet(a.subscriptionId)).balanceMinor;
    await readingsFrom(a, 5);
    const [settled, moved] = await Promise.allSettled([
      operator().settle(a.subscriptionId, iso(batchEnd(5)), a.sessionKey, [D1, AUTHORITY]),
      asHousehold(a).transfer(a.subscriptionId, b.subscriptionId, 100),
    ]);
    expect(settled.status).toBe('fulfilled');
    expect(moved.status).toBe('fulfilled');
    expect((await operator().wallet(a.subscriptionId)).balanceMinor).toBe(before - BATCH_COST - 100);
    expect((await operator().wallet(b.subscriptionId)).balanceMinor).toBe(350);
  }, 120_000);

  it("the supply reconciles (topped up = balances + exhausted), and the month's bill shows what the settlements paid", async () => {
    const supply = await meterctlJson<{
      toppedUpMinor: number;
      exhaustedMinor: number;
      balancesMinor: number;
      reconciled: boolean;
    }>([...['-p', profilePath('authority'), '-c', CHANNEL, 'wallet', 'supply', '--distributor', D1]]);
    expect(supply.reconciled).toBe(true);
    expect(supply.toppedUpMinor).toBe(supply.balancesMinor + supply.exhaustedMinor);
    const bill: BillRecord = await issueBill(gateways, a, start, batchEnd(5));
    expect(bill.totalMinor).toBe(5 * BATCH_COST);
    expect(bill.prepaid).toEqual({ settlements: 5, settledMinor: 5 * BATCH_COST, dueMinor: 0 });
  }, 120_000);
});

describe('a prepaid meter (meter-sim) follows its supply state from the ledger', () => {
  const gatewaysC = new Gateways();
  const operatorC = () =>
    new PrepaidClient(chaincodeChannel(gatewaysC.gateway('distributor1'), CHANNEL, CHAINCODE));
  let c: OnboardedHousehold;
  const bundlePath = join(work, 'meter-c.json');
  const stateDir = join(work, 'meter-c-state');
  const periods = (k: number) => start + k * INTERVAL;
  // The load limit is set from this meter's own generator (seeded by its id), at half its largest period of the
  // first 12, so that the cap binds in at least one period whatever the seed.
  let limitWh = 0;
  let meterPolicy: MeterPolicy = policy;

  function generated(k: number): number {
    return new HouseholdSource({ seed: c.meter, utility: 'electricity', utcOffsetMinutes: 0 }).measure(
      periods(k),
      INTERVAL,
    ).quantity;
  }

  /** Runs the meter at speed over periods [from, to) and returns its supply log lines. */
  async function runMeter(from: number, to: number): Promise<LogEvent[]> {
    const meter = new MeterSimProcess([
      ...[
        '--bundle',
        bundlePath,
        '--state-dir',
        stateDir,
        '--from',
        iso(periods(from)),
        '--until',
        iso(periods(to)),
      ],
      ...['--speed', '1000000', '--wallet-poll-seconds', '1'],
    ]);
    expect((await meter.exited).code).toBe(0);
    return meter.events.filter((e) => e.event === 'supply.changed');
  }

  async function measured(from: number, to: number): Promise<number[]> {
    const readings = await new MeasurementClient(
      chaincodeChannel(gatewaysC.gateway('distributor1'), CHANNEL, CHAINCODE),
    ).all(c.subscriptionId, iso(periods(from)), iso(periods(to)));
    return openReadings(readings, c.sessionKey, CHANNEL, keyIdOf(c.sessionKey)).billed.map((r) => r.energyWh);
  }

  beforeAll(async () => {
    c = await onboardHousehold(gatewaysC, 'pc', start, { tariff: flat });
    const households = profile(HOUSEHOLDS);
    writeSecretFile(
      bundlePath,
      JSON.stringify(
        buildPairBundle({
          profile: households,
          channel: CHANNEL,
          subscriptionId: c.subscriptionId,
          meterId: c.meter,
          meterIdentity: households.identities[c.meter],
          sessionKey: c.sessionKey,
        }),
      ),
    );
    limitWh = Math.max(1, Math.floor(Math.max(...Array.from({ length: 12 }, (_, k) => generated(k))) / 2));
    meterPolicy = { ...policy, powerSavingLimitW: (limitWh * 3600) / INTERVAL };
    await operatorC().open(c.subscriptionId, 0);
    const household = new PrepaidClient(
      chaincodeChannel(gatewaysC.gateway(HOUSEHOLDS, c.subscriber), CHANNEL, CHAINCODE),
    );
    await household.setPolicy(c.subscriptionId, JSON.stringify(meterPolicy));
  }, 180_000);

  afterAll(() => {
    gatewaysC.closeAll();
  });

  it('in power saving the meter limits its load: every period is capped at the policy limit', async () => {
    const wallet = await operatorC().topUp(c.subscriptionId, 200, `PAY-${c.subscriptionId}-1`);
    expect(wallet).toMatchObject({ supply: 'power-saving', supplyReason: 'power-saving-threshold' });
    const changes = await runMeter(0, 12);
    expect(changes.map((e) => e.message)).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^supply: power-saving \\(power-saving-threshold, balance 2\\.00 GBP\\); load limited to ${meterPolicy.powerSavingLimitW} W`,
        ),
      ),
    );
    const expected = Array.from({ length: 12 }, (_, k) => Math.min(generated(k), limitWh));
    expect(expected.some((wh) => wh === limitWh)).toBe(true);
    expect(await measured(0, 12)).toEqual(expected);
  }, 180_000);

  it('after a top-up the supply is on and the meter measures in full', async () => {
    expect(await operatorC().topUp(c.subscriptionId, 5000, `PAY-${c.subscriptionId}-2`)).toMatchObject({
      supply: 'on',
    });
    const changes = await runMeter(12, 24);
    expect(changes.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^supply: on \(balance-ok, balance 52\.00 GBP\)/),
    );
    expect(await measured(12, 24)).toEqual(Array.from({ length: 12 }, (_, k) => generated(12 + k)));
  }, 180_000);

  it('below the switch-off threshold, outside friendly hours, the supply is off and the meter measures nothing', async () => {
    const household = new PrepaidClient(
      chaincodeChannel(gatewaysC.gateway(HOUSEHOLDS, c.subscriber), CHANNEL, CHAINCODE),
    );
    const strict = {
      ...policy,
      warningBelowMinor: 9000,
      powerSavingBelowMinor: 8000,
      switchOffBelowMinor: 7000,
    };
    expect(await household.setPolicy(c.subscriptionId, JSON.stringify(strict))).toMatchObject({
      supply: 'off',
      supplyReason: 'switch-off-threshold',
    });
    const changes = await runMeter(24, 36);
    expect(changes.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^supply: off \(switch-off-threshold, balance 52\.00 GBP\)/),
    );
    expect(await measured(24, 36)).toEqual(Array(12).fill(0));
  }, 180_000);
});
