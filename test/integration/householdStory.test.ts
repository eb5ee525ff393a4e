import {
  computeBill,
  type AccessRequestRecord,
  type BillRecord,
  type ReadingRecord,
  type SubscriptionRecord,
} from '@smartmeter/domain';
import { common } from '@hyperledger/fabric-protos';
import { decryptReading, keyIdOf } from '@smartmeter/crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { identityFiles } from '../../meter-sim/src/bundle';
import { MeasurementClient, type ReadingSubmission } from '../../client/src/contracts/MeasurementClient';
import { openGateway } from '../../client/src/gateway';
import { Keystore } from '../../client/src/keystore';
import { formatAmount } from '../../client/src/money';
import { formatMoney } from '../../client/src/output';
import { PricingClient } from '../../client/src/contracts/PricingClient';
import type { SettleRow } from '../../client/src/prepaidSettlement';
import { HouseholdSource } from '../../meter-sim/src/sources/household';
import { Gateways, isoSeconds as iso, rejection } from '../support/chaincode';
import { meterctl, meterctlJson } from '../support/meterctl';
import { meterSimPath, MeterSimProcess } from '../support/meterSim';
import { CHAINCODE, networkHome, profile, repoDir } from '../support/network';
import { chaincodeChannel } from '../../client/src/contracts/invoke';

/**
 * Issue 7: the README walkthrough as one story on the real network, with the real CLI and meter process. A
 * household subscribes on northgrid, its meter reports a month, it is billed, the authority reports and asks for
 * personal data, then the household moves to Distributor2 on southgrid. Every promise is checked at the end.
 */
const DAY = 86_400;
const HALF_HOUR = 1800;
// Short: the run id goes into a region code, whose segments have at most 16 characters.
const run = `${Date.now().toString(36).slice(-6)}${Math.floor(Math.random() * 1e4)}`;
const work = mkdtempSync(join(tmpdir(), 'household-story-'));
const profiles = join(networkHome, 'profiles');
// The month ends a day ago: every period of it has ended, and it starts within the ledger's 45-day backlog.
const monthStart = Math.floor(Date.now() / 1000 / DAY) * DAY - 31 * DAY;
const monthEnd = monthStart + 30 * DAY;
const region = `north/st${run}`;
const hh = `hh-${run}`;
const hh2 = `hh2-${run}`;
const meter1 = `mtr-${run}`;
const meter2 = `mtr2-${run}`;
const personal = { name: 'Story Household', address: '7 Meter Row' };

const d1 = ['-p', join(profiles, 'distributor1.json'), '-k', join(work, 'distributor1')];
const d2 = ['-p', join(profiles, 'distributor2.json'), '-k', join(work, 'distributor2')];
const authorityOn = (channel: string) => [
  '-p',
  join(profiles, 'authority.json'),
  '-c',
  channel,
  '-k',
  join(work, 'authority'),
];
// Households act through their distributor's households profile, each with its own identity.
const household = ['-p', join(profiles, 'households1.json'), '-k', join(work, 'household'), '-i', hh];
const householdSouth = ['-p', join(profiles, 'households2.json'), '-k', join(work, 'household'), '-i', hh2];
const meterSim = (...args: string[]) => new MeterSimProcess(args);
const gateways = new Gateways();
afterAll(() => {
  gateways.closeAll();
});

/** `readings list --json`: the payload is there when the caller's key decrypts the reading. */
interface DecryptedReading {
  periodStart: string;
  sequence: number;
  payload?: { energyWh: number };
  error?: string;
}

const readingsOf = (party: string[], subscriptionId: string, from: number, to: number) =>
  meterctlJson<DecryptedReading[]>([
    ...party,
    'readings',
    'list',
    subscriptionId,
    '--from',
    iso(from),
    '--to',
    iso(to),
  ]);

let northId = '';
let southId = '';
let southStart = 0;
let southSettledMinor = 0;
let billId = '';
let requestId = '';
let oldKeyHex = '';
let northEndAt = '';

/** The distributor registers a household or meter at its households CA; returns the one-time secret. */
async function register(distributor: string[], name: string, role: string): Promise<string> {
  const idOption = role === 'meter' ? ['--meter-id', name] : ['--subscriber-id', name];
  const { secret } = await meterctlJson<{ secret: string }>([
    ...distributor,
    'identity',
    'register',
    name,
    '--role',
    role,
    ...idOption,
  ]);
  return secret;
}

/** The household enrolls itself: its key is made in its own keystore. */
async function registerAndEnroll(distributor: string[], home: string[], name: string): Promise<void> {
  const secret = await register(distributor, name, 'subscriber');
  await meterctlJson([...home.slice(0, 4), 'identity', 'enroll', name, '--secret', secret]);
}

/** The meter enrolls itself with its one-time secret: its key never leaves its state folder. */
async function enrollMeter(bundle: string, stateDir: string, secret: string): Promise<void> {
  const enrolled = await execFileAsync(
    'node',
    [meterSimPath, 'enroll', '--bundle', bundle, '--state-dir', stateDir],
    {
      env: { ...process.env, METER_SIM_ENROLLMENT_SECRET: secret },
    },
  );
  expect(enrolled.stdout).toMatch(/^enrolled meter .* private key .*key\.pem \(0600\)\n$/);
}
const execFileAsync = promisify(execFile);
let meter1Secret = '';
let meter2Secret = '';

function generated(meterId: string, from: number, to: number): Map<string, number> {
  const source = new HouseholdSource({ seed: meterId, utility: 'electricity', utcOffsetMinutes: 0 });
  const values = new Map<string, number>();
  for (let t = from; t < to; t += HALF_HOUR) values.set(iso(t), source.measure(t, HALF_HOUR).quantity);
  return values;
}

describe('the household story on the real network', () => {
  it('1-2. the organizations publish their keys, Distributor1 a time-of-use tariff, the authority price signals', async () => {
    await meterctlJson([...d1, 'keys', 'publish', '--rotate']);
    await meterctlJson([...d2, 'keys', 'publish', '--rotate']);
    await meterctlJson([...authorityOn('northgrid'), 'keys', 'publish', '--rotate']);
    await meterctlJson([...authorityOn('southgrid'), 'keys', 'publish', '--rotate']);
    const tariffFile = join(repoDir, 'examples', 'tariffs', 'time-of-use.json');
    for (const [distributor, id] of [
      [d1, `tou-${run}`],
      [d2, `tou2-${run}`],
    ] as const) {
      const tariff = await meterctlJson<{ version: number }>([
        ...distributor,
        'tariff',
        'publish',
        tariffFile,
        '--id',
        id,
        '--effective-from',
        iso(monthStart),
      ]);
      expect(tariff.version).toBe(1);
    }
    const signals = join(work, 'signals.json');
    writeFileSync(signals, JSON.stringify([{ periodStart: iso(monthStart), priceMicroPerKwh: 250000 }]));
    await meterctlJson([
      ...authorityOn('northgrid'),
      'price-signal',
      'publish',
      '--region',
      region,
      '--file',
      signals,
    ]);
  });

  it('3. the household subscribes on northgrid, the distributor approves every 30 minutes, the meter is paired from its bundle', async () => {
    await registerAndEnroll(d1, household, hh);
    meter1Secret = await register(d1, meter1, 'meter');
    await meterctlJson([...household, 'keys', 'new', 'home']);
    const requested = await meterctlJson<SubscriptionRecord>([
      ...household,
      'subscription',
      'request',
      '--meter',
      meter1,
      '--key',
      'home',
    ]);
    northId = requested.subscriptionId;
    const approved = await meterctlJson<SubscriptionRecord>([
      ...d1,
      'subscription',
      'approve',
      northId,
      '--tariff',
      `tou-${run}`,
      '--region',
      region,
      '--interval',
      '1800',
      '--start',
      iso(monthStart),
    ]);
    expect(approved.status).toBe('APPROVED');
    writeFileSync(join(work, 'personal.json'), JSON.stringify(personal));
    await meterctlJson([
      ...household,
      'meter',
      'pair-bundle',
      northId,
      '--key',
      'home',
      '--personal-data',
      join(work, 'personal.json'),
      '--out',
      join(work, 'meter1.json'),
    ]);
    const bundleText = readFileSync(join(work, 'meter1.json'), 'utf8');
    expect(bundleText).not.toContain('Meter Row');
    // The bundle carries no private key: the meter makes its own and enrolls with its one-time secret.
    expect(bundleText).not.toMatch(/PRIVATE KEY/);
    await enrollMeter(join(work, 'meter1.json'), join(work, 'meter1'), meter1Secret);
    expect(statSync(join(work, 'meter1', 'identity', meter1, 'key.pem')).mode & 0o777).toBe(0o600);
  });

  it('4. meter-sim reports a simulated month at speed: 1,440 readings, each decrypting to what it measured', async () => {
    const meter = meterSim(
      '--bundle',
      join(work, 'meter1.json'),
      '--state-dir',
      join(work, 'meter1'),
      '--speed',
      '1000000',
      '--until',
      iso(monthEnd),
    );
    expect(await meter.exited).toEqual({ code: 0, signal: null });
    expect(meter.events.some((e) => e.event === 'meter.paired')).toBe(true);
    expect(meter.committed()).toHaveLength(1440);
    const readings = await readingsOf([...household], northId, monthStart, monthEnd);
    const expected = generated(meter1, monthStart, monthEnd);
    expect(readings).toHaveLength(1440);
    expect(readings.map((r) => [r.periodStart, r.payload?.energyWh])).toEqual([...expected.entries()]);
  });

  it('5. the distributor bills the month; the household verifies, disputes, the distributor resolves; the payment is recorded', async () => {
    const bill = await meterctlJson<BillRecord>([
      ...d1,
      'bill',
      'issue',
      northId,
      '--from',
      iso(monthStart),
      '--to',
      iso(monthEnd),
    ]);
    billId = bill.billId;
    const total = [...generated(meter1, monthStart, monthEnd).values()].reduce((a, b) => a + b, 0);
    expect(bill.energyWh).toBe(total);
    expect(bill.expectedReadings).toBe(1440);
    const verified = await meterctl([...household, 'bill', 'verify', billId]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^OK: bill /);
    expect(
      (
        await meterctlJson<BillRecord>([
          ...household,
          'bill',
          'dispute',
          billId,
          '--reason',
          'line "peak" looks high',
        ])
      ).status,
    ).toBe('DISPUTED');
    expect(
      (
        await meterctlJson<BillRecord>([
          ...d1,
          'bill',
          'resolve',
          billId,
          '--outcome',
          'REJECTED',
          '--note',
          'readings verified',
        ])
      ).status,
    ).toBe('RESOLVED');
    const paid = await meterctlJson<BillRecord>([
      ...d1,
      'bill',
      'pay',
      billId,
      '--amount',
      formatAmount(bill.totalMinor, bill.currency),
      '--reference',
      `story-${run}`,
    ]);
    expect(paid).toMatchObject({ status: 'PAID', payment: { amountMinor: bill.totalMinor } });
  });

  it('6. the authority syncs its reporting database, gets the region load, and receives personal data only on consent', async () => {
    const authority = authorityOn('northgrid');
    await meterctlJson([...authority, 'report', 'sync']);
    const loadArgs = [
      ...authority,
      'report',
      'load',
      '--region',
      region,
      '--from',
      iso(monthStart),
      '--to',
      iso(monthEnd),
      '--interval',
      String(DAY),
    ];
    // One household in the region: its "regional load" would be its own consumption, so it is suppressed.
    const shown =
      await meterctlJson<{ energyWh: number | null; households: number; suppressed: boolean }[]>(loadArgs);
    expect(shown).toHaveLength(30);
    expect(shown.every((row) => row.suppressed && row.energyWh === null && row.households === 1)).toBe(true);
    // The sums themselves, with k lowered for the test.
    const load = await meterctlJson<{ periodStart: string; energyWh: number; readingCount: number }[]>([
      ...loadArgs,
      '--min-households',
      '1',
    ]);
    const expected = generated(meter1, monthStart, monthEnd);
    const daily = Array.from({ length: 30 }, (_, day) =>
      [...expected.entries()]
        .filter(([p]) => Math.floor((Date.parse(p) / 1000 - monthStart) / DAY) === day)
        .reduce((sum, [, v]) => sum + v, 0),
    );
    expect(load.map((row) => row.energyWh)).toEqual(daily);
    expect(load.every((row) => row.readingCount === 48)).toBe(true);

    const request = await meterctlJson<AccessRequestRecord>([
      ...authority,
      'personal-data',
      'request',
      northId,
      '--reason',
      'tariff audit 2026/117',
    ]);
    requestId = request.requestId;
    const sealed = join(work, 'meter1', northId, 'personal-data.sealed');
    const granted = await meterctlJson<AccessRequestRecord>([
      ...household,
      'personal-data',
      'grant',
      requestId,
      '--sealed-file',
      sealed,
      '--key',
      'home',
    ]);
    expect(granted.status).toBe('GRANTED');
    const fetched = await meterctlJson<{ data: string }>([...authority, 'personal-data', 'fetch', requestId]);
    expect(JSON.parse(fetched.data)).toEqual(personal);
    await meterctlJson([...authority, 'report', 'sync']);
    const log = await meterctlJson<{ requestId: string; reason: string; status: string }[]>([
      ...authority,
      'report',
      'access-requests',
    ]);
    expect(log.find((row) => row.requestId === requestId)).toMatchObject({
      reason: 'tariff audit 2026/117',
      status: 'GRANTED',
    });

    // Blocks pass (every System.Ping is one); the authority's peer purges the delivery after its block-to-live.
    const ping = gateways.contract('authority', 'northgrid', 'System');
    let fetchAfter = { code: 0, stdout: '', stderr: '' };
    for (let block = 0; block < 40 && fetchAfter.code === 0; block += 1) {
      await ping.submitTransaction('Ping', `purge-${block}`);
      if (block >= 18) fetchAfter = await meterctl([...authority, 'personal-data', 'fetch', requestId]);
    }
    expect(fetchAfter.code).toBe(1);
    expect(fetchAfter.stderr).toMatch(
      /NOT_FOUND: the personal data of .* is no longer held \(purged after its block-to-live\)/,
    );
    // And the authority's client destroyed the request's key: no copy anywhere can be opened any more.
    expect(fetchAfter.stderr).toMatch(/destroyed the key of par_\w+: its data was purged/);
    expect(existsSync(join(work, 'authority', 'request-keys', 'northgrid', `${requestId}.pem`))).toBe(false);
  });

  it('7. the household ends the subscription, rotates its key and moves to Distributor2 on southgrid with a new meter', async () => {
    const keystore = new Keystore(join(work, 'household'));
    oldKeyHex = keystore.sessionKey('home').key;
    const ended = await meterctlJson<SubscriptionRecord>([
      ...household,
      'subscription',
      'end',
      northId,
      '--reason',
      'moving to Distributor2',
    ]);
    expect(ended.status).toBe('ENDED');
    northEndAt = ended.end?.effectiveAt ?? '';
    const rotated = await meterctlJson<{ keyId: string }>([...household, 'keys', 'rotate', 'home']);
    expect(rotated.keyId).not.toBe(keyIdOf(Buffer.from(oldKeyHex, 'hex')));

    await registerAndEnroll(d2, householdSouth, hh2);
    meter2Secret = await register(d2, meter2, 'meter');
    southId = (
      await meterctlJson<SubscriptionRecord>([
        ...householdSouth,
        'subscription',
        'request',
        '--meter',
        meter2,
        '--key',
        'home',
      ])
    ).subscriptionId;
    southStart = Math.floor(Date.now() / 1000 / DAY) * DAY - 2 * DAY;
    await meterctlJson([
      ...d2,
      'subscription',
      'approve',
      southId,
      '--tariff',
      `tou2-${run}`,
      '--region',
      'south/story',
      '--interval',
      '1800',
      '--start',
      iso(southStart),
    ]);
    await meterctlJson([
      ...householdSouth,
      'meter',
      'pair-bundle',
      southId,
      '--key',
      'home',
      '--out',
      join(work, 'meter2.json'),
    ]);
    await enrollMeter(join(work, 'meter2.json'), join(work, 'meter2'), meter2Secret);
    const meter = meterSim(
      '--bundle',
      join(work, 'meter2.json'),
      '--state-dir',
      join(work, 'meter2'),
      '--speed',
      '1000000',
      '--until',
      iso(southStart + DAY),
    );
    expect(await meter.exited).toEqual({ code: 0, signal: null });
    const readings = await readingsOf([...householdSouth], southId, southStart, southStart + DAY);
    expect(readings.map((r) => [r.periodStart, r.payload?.energyWh])).toEqual([
      ...generated(meter2, southStart, southStart + DAY).entries(),
    ]);
  });

  it('7b. Distributor2 makes the new subscription prepaid: a top-up, the day settled, the household sees its balance and verifies it', async () => {
    await meterctlJson([...d2, 'wallet', 'open', southId, '--emergency-credit', '5.00']);
    await meterctlJson([
      ...d2,
      'wallet',
      'top-up',
      southId,
      '--amount',
      '20.00',
      '--reference',
      `PAY-${run}`,
    ]);
    // The operator's periodic settlement, here up to the end of the day the meter reported.
    const pass = await meterctlJson<SettleRow[]>([
      ...d2,
      'wallet',
      'settle',
      '--all',
      '--distributor',
      'Distributor2MSP',
      '--to',
      iso(southStart + DAY),
    ]);
    const row = pass.find((r) => r.subscriptionId === southId);
    expect(row).toMatchObject({
      outcome: 'settled',
      periodFrom: iso(southStart),
      periodTo: iso(southStart + DAY),
    });

    // What the day's 48 readings cost by the published tariff, computed here from what the meter generated.
    const channel = chaincodeChannel(gateways.gateway('distributor2'), 'southgrid', CHAINCODE);
    const tariffVersions = await new PricingClient(channel).tariffHistory('Distributor2MSP', `tou2-${run}`);
    const cost = computeBill({
      periodFrom: iso(southStart),
      periodTo: iso(southStart + DAY),
      intervalSeconds: HALF_HOUR,
      subscriptionStart: iso(southStart),
      readings: [...generated(meter2, southStart, southStart + DAY).entries()].map(
        ([periodStart, energyWh]) => ({
          periodStart,
          energyWh,
          quality: 'measured' as const,
          // Only the digest reads ciphertexts; the cost does not.
          ciphertext: '',
        }),
      ),
      priorReadings: [],
      tariffVersions,
      signals: {},
    });
    expect(cost.readingCount).toBe(48);
    expect(row?.amountMinor).toBe(cost.totalMinor);
    southSettledMinor = cost.totalMinor;

    const shown = await meterctl([...householdSouth, 'wallet', 'show', southId]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`balance ${formatMoney(2000 - cost.totalMinor, 'GBP')}`);
    expect(shown.stdout).toContain(`settled until ${iso(southStart + DAY)}`);
    const verified = await meterctl([...householdSouth, 'wallet', 'verify', southId]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('1 settlements verified, 0 mismatches');
    // The household of northgrid is no reader of this wallet, on either channel.
    expect((await meterctl([...household, '-c', 'southgrid', 'wallet', 'show', southId])).code).not.toBe(0);
  });

  it('8. what the system promises holds: who reads what, refusals, replay, moved ciphertexts, and no secret in any block', async () => {
    const month = ['--from', iso(monthStart), '--to', iso(monthEnd)];
    // Distributor1 still decrypts its old readings, and sees nothing of the new subscription.
    const d1Old = await readingsOf([...d1], northId, monthStart, monthEnd);
    expect(d1Old.filter((r) => r.payload !== undefined)).toHaveLength(1440);
    const d1New = await meterctl([...d1, 'subscription', 'show', southId]);
    expect(d1New.code).toBe(1);
    expect(d1New.stderr).toMatch(/NOT_FOUND/);
    expect((await meterctl([...d1, '-c', 'southgrid', 'subscription', 'show', southId])).code).not.toBe(0);
    // Distributor2 cannot read northgrid.
    const d2North = await meterctl([...d2, '-c', 'northgrid', 'readings', 'list', northId, ...month]);
    expect(d2North.code).not.toBe(0);
    // The authority reads both.
    const auNorth = await readingsOf([...authorityOn('northgrid')], northId, monthStart, monthEnd);
    expect(auNorth.filter((r) => r.payload !== undefined)).toHaveLength(1440);
    const auSouth = await readingsOf([...authorityOn('southgrid')], southId, southStart, southStart + DAY);
    expect(auSouth.filter((r) => r.payload !== undefined)).toHaveLength(48);

    const keystore = new Keystore(join(work, 'household'));
    // The meters' own identities, as meter-sim enroll left them in their state folders.
    const asMeter = (stateDir: string, name: string, org: string, channel: string) => {
      const connection = gateways.track(
        openGateway(profile(org), { files: identityFiles(join(work, stateDir, 'identity'), name) }),
      );
      return new MeasurementClient(chaincodeChannel(connection.gateway, channel, CHAINCODE));
    };
    const oldMeter = asMeter('meter1', meter1, 'households1', 'northgrid');
    const newMeter = asMeter('meter2', meter2, 'households2', 'southgrid');
    const northReadings: ReadingRecord[] = await new MeasurementClient(
      chaincodeChannel(gateways.gateway('distributor1'), 'northgrid', CHAINCODE),
    ).all(northId, iso(monthStart), iso(monthStart + DAY));
    const strip = (r: ReadingRecord): ReadingSubmission => ({
      subscriptionId: r.subscriptionId,
      sequence: r.sequence,
      periodStart: r.periodStart,
      ciphertext: r.ciphertext,
      nonce: r.nonce,
      keyId: r.keyId,
    });
    // The old meter is refused on the ended subscription for the period in which it ended (and any later).
    const periodOfEnd = Math.floor(Date.parse(northEndAt) / 1000 / HALF_HOUR) * HALF_HOUR;
    expect(
      await rejection(
        oldMeter.submit({ ...strip(northReadings[0]), periodStart: iso(periodOfEnd), sequence: 100_000 }),
      ),
    ).toMatch(new RegExp(`FORBIDDEN: subscription ${northId} ended at ${northEndAt}`));

    const southReadings = await new MeasurementClient(
      chaincodeChannel(gateways.gateway('distributor2'), 'southgrid', CHAINCODE),
    ).all(southId, iso(southStart), iso(southStart + DAY));
    const last = southReadings[southReadings.length - 1];
    const nextSlot = iso(Date.parse(last.periodStart) / 1000 + HALF_HOUR);
    // A replayed old reading is refused: an old sequence in a later slot, and an old northgrid reading under the retired key.
    expect(await rejection(newMeter.submit({ ...strip(southReadings[0]), periodStart: nextSlot }))).toMatch(
      /CONFLICT: readings must advance/,
    );
    expect(
      await rejection(
        newMeter.submit({
          ...strip(northReadings[1]),
          subscriptionId: southId,
          periodStart: nextSlot,
          sequence: last.sequence + 1,
        }),
      ),
    ).toMatch(/WRONG_KEY: the reading is encrypted under key/);
    // A ciphertext moved to another slot is stored (the ledger cannot read it) but no longer decrypts.
    const moved = await newMeter.submit({
      ...strip(southReadings[0]),
      periodStart: nextSlot,
      sequence: last.sequence + 1,
    });
    const newKey = Buffer.from(keystore.sessionKey('home').key, 'hex');
    expect(() =>
      decryptReading(moved, newKey, {
        channel: 'southgrid',
        subscriptionId: southId,
        sequence: moved.sequence,
        periodStart: moved.periodStart,
      }),
    ).toThrow(/moved to another slot/);
    // It does not block billing: the bill over that day lists it as INVALID_READING and bills the rest, and
    // `readings missing` shows it to the household too.
    const southBill = await meterctlJson<BillRecord>([
      ...d2,
      'bill',
      'issue',
      southId,
      '--from',
      iso(southStart),
      '--to',
      iso(Date.parse(nextSlot) / 1000 + HALF_HOUR),
    ]);
    expect(southBill.readingCount).toBe(48);
    // Prepaid (7b): the day's settlement is inside the bill's period, so the bill shows it as paid.
    expect(southBill.prepaid).toEqual({
      settlements: 1,
      settledMinor: southSettledMinor,
      dueMinor: southBill.totalMinor - southSettledMinor,
    });
    expect(southBill.invalidReadings).toEqual([
      { periodStart: nextSlot, code: 'INVALID_READING', reason: 'does not decrypt in its slot' },
    ]);
    const missing = await meterctlJson<{
      missing: string[];
      invalid: { periodStart: string; code: string }[];
    }>([
      ...householdSouth,
      'readings',
      'missing',
      southId,
      '--from',
      iso(southStart),
      '--to',
      iso(Date.parse(nextSlot) / 1000 + HALF_HOUR),
    ]);
    expect(missing.invalid).toEqual([
      { periodStart: nextSlot, code: 'INVALID_READING', reason: 'does not decrypt in its slot' },
    ]);
    expect(missing.missing).toEqual([]);

    // Every block of both channels: no personal data, no session key, no plaintext reading, no private key.
    const secrets = [
      oldKeyHex,
      Buffer.from(oldKeyHex, 'hex').toString('base64'),
      newKey.toString('hex'),
      newKey.toString('base64'),
      personal.address,
      personal.name,
      '"utility":"electricity"',
      '"quality":"measured"',
    ].map((text) => Buffer.from(text));
    const rawKeys = [Buffer.from(oldKeyHex, 'hex'), newKey];
    // What must be found, to show that the scan sees what was written.
    const present: Record<string, string[]> = {
      northgrid: [northId, northReadings[5].ciphertext, requestId],
      southgrid: [southId, southReadings[5].ciphertext],
    };
    for (const channel of ['northgrid', 'southgrid']) {
      const network = gateways.gateway('authority').getNetwork(channel);
      const found = new Set<string>();
      const info = await network.getContract('qscc').evaluateTransaction('GetChainInfo', channel);
      const blocksTotal = common.BlockchainInfo.deserializeBinary(info).getHeight();
      const events = await network.getBlockEvents({ startBlock: 0n });
      let scanned = 0;
      try {
        for await (const block of events) {
          const bytes = Buffer.from(block.serializeBinary());
          for (const secret of [...secrets, ...rawKeys]) expect(bytes.includes(secret)).toBe(false);
          present[channel].filter((text) => bytes.includes(text)).forEach((text) => found.add(text));
          scanned += 1;
          if (scanned === blocksTotal) break;
        }
      } finally {
        events.close();
      }
      expect(scanned).toBe(blocksTotal);
      expect([...found].sort()).toEqual([...present[channel]].sort());
    }
  });
});
