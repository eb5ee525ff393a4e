import type {
  AccessRequestRecord,
  BillRecord,
  SubscriptionRecord,
  TariffDefinition,
} from '@smartmeter/domain';
import type { ConnectionProfile } from '../../client/src/profile';
import { encryptReading, SEALED_ANOMALY_BYTES } from '@smartmeter/crypto';
import nano from 'nano';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeasurementClient } from '../../client/src/contracts/MeasurementClient';
import { openGateway } from '../../client/src/gateway';
import { unwrapForReports } from '../../client/src/commands/report';
import { Keystore } from '../../client/src/keystore';
import { formatAmount } from '../../client/src/money';
import { ReportDb } from '../../client/src/reporting/reportDb';
import { syncChannel } from '../../client/src/reporting/sync';
import type { PairBundle } from '../../client/src/pairBundle';
import { isoSeconds, rejection } from '../support/chaincode';
import { meterctl, meterctlJson, meterctlKilledWhen } from '../support/meterctl';
import { CHAINCODE, networkHome, profile, repoDir } from '../support/network';
import { chaincodeChannel } from '../../client/src/contracts/invoke';
import { channelHeight, peerChaincode, type UserMsp } from '../support/attacker';

/**
 * Every meterctl command group as a process against the network: a household with its own keystore, the
 * distributor's operator and the authority's auditor with theirs, all through the CLI except the meter's
 * readings (meter-sim's job), which the test encrypts itself so that it knows every plaintext.
 */
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const work = mkdtempSync(join(tmpdir(), 'meterctl-story-'));
const profiles = join(networkHome, 'profiles');
const INTERVAL = 1800;
// Six-hour aligned, so that the load report's epoch-aligned six-hour buckets hold 12 readings each.
const startSeconds = Math.floor(Date.now() / 1000 / 21_600) * 21_600 - 2 * 86_400;
const start = isoSeconds(startSeconds);
const end = isoSeconds(startSeconds + 86_400);
const region = `north/m${run}`;
const household = `hh-${run}`;
const meterName = `mtr-${run}`;
const energies = Array.from({ length: 48 }, (_, n) => 150 + ((n * 37) % 90));

const distributor = ['-p', join(profiles, 'distributor1.json'), '-k', join(work, 'distributor1')];
const authority = ['-p', join(profiles, 'authority.json'), '-c', 'northgrid', '-k', join(work, 'authority')];
// Households and meters use their distributor's households profile and their own identities.
const home = ['-p', join(profiles, 'households1.json'), '-k', join(work, 'household'), '-i', household];
const reportDbUrl = (JSON.parse(readFileSync(join(profiles, 'authority.json'), 'utf8')) as ConnectionProfile)
  .reportDbUrl as string;

let subscriptionId = '';
let billId = '';
let requestId = '';

async function submitReadings(values = energies, firstPeriod = 0): Promise<void> {
  const keystore = new Keystore(join(work, 'household'));
  const files = keystore.identity('Distributor1HouseholdsMSP', meterName);
  if (!files) throw new Error('meter identity not enrolled');
  const key = Buffer.from(keystore.sessionKey('home').key, 'hex');
  const connection = openGateway(profile('households1'), { files });
  try {
    const measurement = new MeasurementClient(chaincodeChannel(connection.gateway, 'northgrid', CHAINCODE));
    const readings = values.map((energyWh, i) => {
      const n = firstPeriod + i;
      const slot = { subscriptionId, sequence: n + 1, periodStart: isoSeconds(startSeconds + n * INTERVAL) };
      const payload = { energyWh, utility: 'electricity' as const, unit: 'Wh', quality: 'measured' as const };
      return { ...slot, ...encryptReading(payload, key, { channel: 'northgrid', ...slot }) };
    });
    for (let i = 0; i < readings.length; i += 24) await measurement.submitBatch(readings.slice(i, i + 24));
  } finally {
    connection.close();
  }
}

/** Syncs northgrid into db as the CLI does, but throws after writing the documents of its n-th block. */
async function crashAfterWritingBlocks(db: string, n: number): Promise<void> {
  const authorityProfile = profile('authority');
  const keystore = new Keystore(join(work, 'authority'));
  const connection = openGateway(authorityProfile);
  const reportDb = await ReportDb.open(reportDbUrl, db);
  let written = 0;
  try {
    await syncChannel(
      chaincodeChannel(connection.gateway, 'northgrid', authorityProfile.chaincodeName),
      reportDb,
      (subscription) => unwrapForReports(subscription, authorityProfile.mspId, keystore),
      {
        checkpointPath: join(keystore.dir, 'report-sync', `${db}.northgrid.json`),
        follow: false,
        afterBlockWritten: (block) => {
          written += 1;
          if (written >= n) throw new Error(`crashed after writing block ${block}`);
        },
      },
    );
  } finally {
    connection.close();
  }
}

describe('meterctl command groups on the network', () => {
  it('identity: the operator registers a household and a meter; enrollment writes 0600 key files', async () => {
    const registered = await meterctlJson<{ secret: string }>([
      ...distributor,
      'identity',
      'register',
      household,
      '--role',
      'subscriber',
      '--subscriber-id',
      household,
    ]);
    const meter = await meterctlJson<{ secret: string }>([
      ...distributor,
      'identity',
      'register',
      meterName,
      '--role',
      'meter',
      '--meter-id',
      meterName,
    ]);
    const enrolled = await meterctlJson<{ keyPath: string }>([
      ...home,
      'identity',
      'enroll',
      household,
      '--secret',
      registered.secret,
    ]);
    await meterctlJson([...home, 'identity', 'enroll', meterName, '--secret', meter.secret]);
    expect(statSync(enrolled.keyPath).mode & 0o777).toBe(0o600);

    const again = await meterctl([
      ...distributor,
      'identity',
      'register',
      household,
      '--role',
      'subscriber',
      '--subscriber-id',
      household,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^meterctl: the CA ca-households1 refused: .*already registered/);
  });

  it('keys: both organizations publish encryption keys; the household creates a session key', async () => {
    const d1 = await meterctlJson<{ mspId: string; version: number }>([
      ...distributor,
      'keys',
      'publish',
      '--rotate',
    ]);
    const au = await meterctlJson<{ mspId: string; version: number }>([
      ...authority,
      'keys',
      'publish',
      '--rotate',
    ]);
    expect(d1.mspId).toBe('Distributor1MSP');
    expect(au.mspId).toBe('AuthorityMSP');
    expect(
      statSync(join(work, 'authority', 'org-keys', 'northgrid', 'AuthorityMSP', `v${au.version}.pem`)).mode &
        0o777,
    ).toBe(0o600);
    const key = await meterctlJson<{ keyId: string }>([...home, 'keys', 'new', 'home']);
    expect(key.keyId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('subscription: request, approve, pair from the bundle; a second approval is refused with the chaincode code', async () => {
    const tariffFile = join(work, 'tariff.json');
    const example = JSON.parse(
      readFileSync(join(repoDir, 'examples', 'tariffs', 'time-of-use.json'), 'utf8'),
    ) as TariffDefinition;
    writeFileSync(tariffFile, JSON.stringify({ ...example, tariffId: `t-${run}`, effectiveFrom: start }));
    await meterctlJson([...distributor, 'tariff', 'publish', tariffFile]);

    const requested = await meterctlJson<SubscriptionRecord>([
      ...home,
      'subscription',
      'request',
      '--meter',
      meterName,
      '--key',
      'home',
      '--plan',
      'residential',
    ]);
    subscriptionId = requested.subscriptionId;
    expect(requested).toMatchObject({ status: 'REQUESTED', subscriberId: household, meterId: meterName });
    expect(requested.keyGrants.map((g) => g.mspId)).toEqual(['Distributor1MSP', 'AuthorityMSP']);

    const approved = await meterctlJson<SubscriptionRecord>([
      ...distributor,
      'subscription',
      'approve',
      subscriptionId,
      '--tariff',
      `t-${run}`,
      '--region',
      region,
      '--interval',
      String(INTERVAL),
      '--start',
      start,
    ]);
    expect(approved.approval).toMatchObject({
      intervalSeconds: INTERVAL,
      regionCode: region,
      startDate: start,
    });

    const bundleFile = join(work, 'meter-bundle.json');
    const personalFile = join(work, 'personal.json');
    writeFileSync(personalFile, JSON.stringify({ name: 'A. Household', address: '1 Grid Lane' }));
    await meterctlJson([
      ...home,
      'meter',
      'pair-bundle',
      subscriptionId,
      '--meter-identity',
      meterName,
      '--key',
      'home',
      '--personal-data',
      personalFile,
      '--out',
      bundleFile,
    ]);
    expect(statSync(bundleFile).mode & 0o777).toBe(0o600);
    const bundle = JSON.parse(readFileSync(bundleFile, 'utf8')) as PairBundle;
    expect(bundle).toMatchObject({
      subscriptionId,
      meterId: meterName,
      channel: 'northgrid',
      sessionKey: { keyId: requested.keyId },
    });
    expect(bundle.sealedPersonalData).not.toContain('Household');

    const paired = await meterctlJson<SubscriptionRecord>([
      '-p',
      join(profiles, 'households1.json'),
      '-k',
      join(work, 'household'),
      '-i',
      meterName,
      'subscription',
      'pair',
      subscriptionId,
      '--key',
      'home',
    ]);
    expect(paired.status).toBe('ACTIVE');

    const refused = await meterctl([
      ...distributor,
      'subscription',
      'approve',
      subscriptionId,
      '--tariff',
      `t-${run}`,
      '--region',
      region,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^meterctl: CONFLICT: cannot approve subscription sub_\w+: it is ACTIVE \(needs REQUESTED\) \(127\.0\.0\.1:\d+, \w+MSP\)\n$/,
    );
    const mine = await meterctlJson<SubscriptionRecord[]>([...home, 'subscription', 'list', '--mine']);
    expect(mine.map((s) => s.subscriptionId)).toEqual([subscriptionId]);
  });

  it('readings: the household, the distributor and the authority each decrypt the same plaintexts', async () => {
    await submitReadings();
    for (const who of [home, distributor, authority]) {
      const rows = await meterctlJson<{ payload?: { energyWh: number } }[]>([
        ...who,
        'readings',
        'list',
        subscriptionId,
        '--from',
        start,
        '--to',
        end,
      ]);
      expect(rows.map((r) => r.payload?.energyWh)).toEqual(energies);
    }
    const csv = await meterctl([
      ...distributor,
      '--csv',
      'readings',
      'list',
      subscriptionId,
      '--from',
      start,
      '--to',
      end,
    ]);
    expect(csv.stdout.split('\n')[0]).toBe(
      'period_start,seq,energy_wh,volume_l,error,utility,quality,submitted',
    );
    const missing = await meterctlJson<{ expected: number; missing: string[] }>([
      ...distributor,
      'readings',
      'missing',
      subscriptionId,
      '--from',
      start,
      '--to',
      isoSeconds(startSeconds + 86_400 + 4 * INTERVAL),
    ]);
    expect(missing.expected).toBe(52);
    expect(missing.missing).toHaveLength(4);
    const d2 = await meterctl([
      '-p',
      join(profiles, 'distributor2.json'),
      'readings',
      'list',
      subscriptionId,
      '--from',
      start,
      '--to',
      end,
    ]);
    expect(d2.code).toBe(1);
    expect(d2.stderr).toMatch(/NOT_FOUND/);
  });

  it('bill: issue, verify, HTML report, dispute, resolve, pay', async () => {
    const bill = await meterctlJson<BillRecord>([
      ...distributor,
      'bill',
      'issue',
      subscriptionId,
      '--from',
      start,
      '--to',
      end,
    ]);
    billId = bill.billId;
    expect(bill).toMatchObject({
      status: 'ISSUED',
      readingCount: 48,
      energyWh: energies.reduce((a, b) => a + b, 0),
    });
    const verified = await meterctl([...home, 'bill', 'verify', billId]);
    expect(verified).toMatchObject({ code: 0, stdout: `OK: bill ${billId} matches the ledger\n` });
    const html = join(work, 'bill.html');
    expect((await meterctl([...home, 'bill', 'report', billId, '--html', html])).code).toBe(0);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<svg');
    expect(page).toContain(billId);
    expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);

    const forbidden = await meterctl([
      ...home,
      'bill',
      'issue',
      subscriptionId,
      '--from',
      end,
      '--to',
      isoSeconds(startSeconds + 86_400 + INTERVAL),
    ]);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(
      /^meterctl: FORBIDDEN: IssueBill needs an operator of Distributor1MSP; caller is subscriber hh-\w+ of Distributor1HouseholdsMSP \(key [0-9a-f]{8}…\) \(127\.0\.0\.1:\d+, \w+MSP\)\n$/,
    );
    expect(
      (await meterctlJson<BillRecord>([...home, 'bill', 'dispute', billId, '--reason', 'peak line too high']))
        .status,
    ).toBe('DISPUTED');
    expect(
      (
        await meterctlJson<BillRecord>([
          ...distributor,
          'bill',
          'resolve',
          billId,
          '--outcome',
          'REJECTED',
          '--note',
          'meter data confirmed',
        ])
      ).status,
    ).toBe('RESOLVED');
    const paid = await meterctlJson<BillRecord>([
      ...distributor,
      'bill',
      'pay',
      billId,
      '--amount',
      formatAmount(bill.totalMinor, bill.currency),
      '--reference',
      `PAY-${run}`,
    ]);
    expect(paid.payment).toMatchObject({ amountMinor: bill.totalMinor });
  });

  it('personal-data and price-signal: the authority asks, the household grants, only the authority decrypts', async () => {
    const request = await meterctlJson<AccessRequestRecord>([
      ...authority,
      'personal-data',
      'request',
      subscriptionId,
      '--reason',
      `case ${run}`,
    ]);
    requestId = request.requestId;
    const data = join(work, 'personal.json');
    expect(
      (
        await meterctlJson<AccessRequestRecord>([
          ...home,
          'personal-data',
          'grant',
          requestId,
          '--data-file',
          data,
          '--key',
          'home',
        ])
      ).status,
    ).toBe('GRANTED');
    const fetched = await meterctlJson<{ data: string }>([...authority, 'personal-data', 'fetch', requestId]);
    expect(JSON.parse(fetched.data)).toEqual({ name: 'A. Household', address: '1 Grid Lane' });
    const other = await meterctl([...distributor, 'personal-data', 'fetch', requestId]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/^meterctl: FORBIDDEN: only the requesting organization AuthorityMSP/);

    const signals = join(work, 'signals.json');
    writeFileSync(signals, JSON.stringify([{ periodStart: start, priceMicroPerKwh: 210000 }]));
    await meterctlJson([...authority, 'price-signal', 'publish', '--region', region, '--file', signals]);
    const shown = await meterctlJson<{ priceMicroPerKwh: number }[]>([
      ...authority,
      'price-signal',
      'show',
      '--region',
      region,
      '--from',
      start,
      '--to',
      end,
    ]);
    expect(shown.map((s) => s.priceMicroPerKwh)).toEqual([210000]);
  });

  it('report sync: killed mid-way and restarted gives exactly the database of an uninterrupted run', async () => {
    const straight = `straight_${run}`;
    const crashed = `crashed_${run}`;
    const sync = (db: string) => [
      ...authority.slice(0, 2),
      '-k',
      join(work, 'authority'),
      'report',
      'sync',
      '--db-name',
      db,
    ];
    expect((await meterctl(sync(straight))).code).toBe(0);

    // A crash between writing a block's documents and checkpointing it: the sync runs in this process, with
    // the same checkpoint file and keystore as the CLI, and dies at that point of its third block.
    await expect(crashAfterWritingBlocks(crashed, 3)).rejects.toThrow('crashed after writing block');
    const killed = await meterctlKilledWhen(
      [...sync(crashed), '--progress-every', '1'],
      /: \d+ of \d+ blocks \(\d+%\), \d+ documents written\n(.*\n){5}/,
    );
    expect(killed.killed).toBe(true);
    expect((await meterctl(sync(crashed))).code).toBe(0);

    const snapshot = async (name: string) => {
      const rows = (await nano(reportDbUrl).use(name).list({ include_docs: true })).rows;
      return rows
        .filter((r) => !r.id.startsWith('_design/'))
        .map((r) => {
          const doc: Record<string, unknown> = { ...(r.doc as unknown as Record<string, unknown>) };
          delete doc._rev;
          return doc;
        });
    };
    const [a, b] = [await snapshot(straight), await snapshot(crashed)];
    expect(a.length).toBeGreaterThan(50);
    expect(b).toEqual(a);
    expect(JSON.stringify(a)).not.toMatch(/ciphertext|A\. Household|wrappedKey/);
  });

  it('reports: load sums the known plaintexts; subscriptions, missing readings, access requests and bills are listed', async () => {
    const db = ['--db-name', `straight_${run}`];
    const who = [...authority.slice(0, 2), '-k', join(work, 'authority')];
    const svg = join(work, 'load.svg');
    const loadArgs = [...who, 'report', 'load', ...db, '--region', region, '--from', start, '--to', end];
    // The region has one household: by default its "regional load" is suppressed, since it is that household.
    const suppressed = await meterctl(['--json', ...loadArgs, '--interval', '21600']);
    expect(suppressed.code).toBe(0);
    expect(JSON.parse(suppressed.stdout)).toEqual(
      [0, 1, 2, 3].map((q) => ({
        periodStart: isoSeconds(startSeconds + q * 21_600),
        energyWh: null,
        readingCount: 12,
        households: 1,
        suppressed: true,
      })),
    );
    expect(suppressed.stderr).toBe(
      '4 of 4 buckets suppressed: they cover fewer than 5 households (a larger --interval or region merges them)\n',
    );
    // With k = 1 (a deployment must not; the test can check the sums) the known plaintexts add up.
    const load = await meterctlJson<{ periodStart: string; energyWh: number; readingCount: number }[]>([
      ...loadArgs,
      '--interval',
      '21600',
      '--min-households',
      '1',
      '--svg',
      svg,
    ]);
    const sixHourly = [0, 1, 2, 3].map((q) => energies.slice(q * 12, q * 12 + 12).reduce((x, y) => x + y, 0));
    expect(load.map((row) => row.energyWh)).toEqual(sixHourly);
    expect(load.map((row) => row.readingCount)).toEqual([12, 12, 12, 12]);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[\s\S]*<rect[\s\S]*<\/svg>\n$/);

    const byRegion = await meterctlJson<{ group: string; subscriptions: number }[]>([
      ...who,
      'report',
      'subscriptions',
      ...db,
      '--by',
      'region',
    ]);
    expect(byRegion).toContainEqual({ group: region, subscriptions: 1 });
    const missing = await meterctlJson<{ subscriptionId: string; received: number }[]>([
      ...who,
      'report',
      'missing-readings',
      ...db,
    ]);
    expect(missing.find((row) => row.subscriptionId === subscriptionId)).toMatchObject({ received: 48 });
    const requests = await meterctlJson<{ requestId: string; status: string }[]>([
      ...who,
      'report',
      'access-requests',
      ...db,
      '--status',
      'GRANTED',
    ]);
    expect(requests).toContainEqual(expect.objectContaining({ requestId, status: 'GRANTED' }));
    const bills = await meterctlJson<{ billId: string; status: string }[]>([
      ...who,
      'report',
      'bills',
      ...db,
      '--distributor',
      'Distributor1MSP',
    ]);
    expect(bills).toContainEqual(expect.objectContaining({ billId, status: 'PAID' }));
  });

  it('anomalies: a spike on the second day is found by the household and the distributor; another distributor is refused', async () => {
    // The second day repeats the first, except 07:00-07:30, where the meter reports 5,200 Wh: a fault.
    const spikeAt = 48 + 14;
    await submitReadings(
      energies.map((e, i) => (48 + i === spikeAt ? 5_200 : e)),
      48,
    );
    const twoDays = ['--from', start, '--to', isoSeconds(startSeconds + 2 * 86_400)];
    type Scan = {
      scans: { subscriptionId: string; readings: number; findings: Record<string, unknown>[] }[];
    };
    for (const who of [home, distributor]) {
      const scan = await meterctlJson<Scan>([...who, 'anomalies', 'scan', subscriptionId, ...twoDays]);
      expect(scan.scans).toHaveLength(1);
      expect(scan.scans[0].readings).toBe(96);
      expect(scan.scans[0].findings).toEqual([
        expect.objectContaining({
          kind: 'spike',
          subscriptionId,
          periodStart: isoSeconds(startSeconds + spikeAt * INTERVAL),
          periods: 1,
          value: 5_200,
        }),
      ]);
    }
    const all = await meterctlJson<Scan>([...distributor, 'anomalies', 'scan', '--all', ...twoDays]);
    expect(all.scans.map((s) => s.subscriptionId)).toContain(subscriptionId);
    const d2 = await meterctl([
      '-p',
      join(profiles, 'distributor2.json'),
      'anomalies',
      'scan',
      subscriptionId,
      ...twoDays,
    ]);
    expect(d2.code).toBe(1);
    expect(d2.stderr).toMatch(/NOT_FOUND/);
  });

  it('a confirmed anomaly: on the ledger sealed and pseudonymous, opened by the household and the authority; outsiders change nothing', async () => {
    const twoDays = ['--from', start, '--to', isoSeconds(startSeconds + 2 * 86_400)];
    const scan = await meterctlJson<{
      scans: { findings: { anomalyId: string; kind: string; value: number }[] }[];
    }>([...distributor, 'anomalies', 'scan', subscriptionId, ...twoDays]);
    const spike = scan.scans[0].findings.find((f) => f.kind === 'spike');
    if (!spike) throw new Error('the spike of the test before is not found');
    const confirmArgs = [...distributor, 'anomalies', 'confirm', subscriptionId, spike.anomalyId, ...twoDays];
    const confirmed = await meterctlJson<{ anomalyTag: string; confirmedAt: string }>([
      ...confirmArgs,
      '--note',
      'site visit booked',
    ]);
    expect(confirmed.anomalyTag).toMatch(/^[0-9a-f]{32}$/);
    expect(confirmed.anomalyTag).not.toBe(spike.anomalyId);

    type Listed = {
      anomalyTag: string;
      confirmed?: { anomalyId: string; note?: string; finding: { kind: string; value: number } };
    };
    for (const reader of [home, authority, distributor]) {
      const listed = await meterctlJson<Listed[]>([...reader, 'anomalies', 'list', subscriptionId]);
      expect(listed.map((l) => l.anomalyTag)).toEqual([confirmed.anomalyTag]);
      expect(listed[0].confirmed).toMatchObject({
        anomalyId: spike.anomalyId,
        note: 'site visit booked',
        finding: { kind: 'spike', value: 5_200 },
      });
    }

    // What the ledger holds in clear says nothing of the finding.
    const auditorGateway = openGateway(profile('authority'));
    try {
      const record = JSON.parse(
        new TextDecoder().decode(
          await auditorGateway.gateway
            .getNetwork('northgrid')
            .getContract(CHAINCODE, 'Anomaly')
            .evaluateTransaction('GetConfirmedAnomaly', subscriptionId, confirmed.anomalyTag),
        ),
      ) as Record<string, unknown>;
      expect(Object.keys(record).sort()).toEqual([
        'anomalyTag',
        'channel',
        'confirmedAt',
        'distributorMspId',
        'docType',
        'keyId',
        'sealedFinding',
        'subscriptionId',
      ]);
      expect(JSON.stringify(record)).not.toMatch(/spike|5200|site visit/);

      const height = await channelHeight(auditorGateway.gateway, 'northgrid');
      const before = await meterctlJson<Listed[]>([...distributor, 'anomalies', 'list', subscriptionId]);
      // A replay through meterctl, the same finding again.
      const replay = await meterctl(confirmArgs);
      expect(replay.code).toBe(1);
      expect(replay.stderr).toMatch(/ALREADY_EXISTS: this anomaly of sub_[0-9a-f]{24} is confirmed already/);
      // Outsiders with Fabric's own peer CLI: another distributor's operator and the authority's auditor.
      const forged = {
        tag: 'c'.repeat(32),
        sealed: Buffer.alloc(SEALED_ANOMALY_BYTES, 1).toString('base64'),
      };
      // Distributor2 is no member of northgrid: its peer CLI is refused by the channel before any chaincode
      // runs. The authority's auditor and Distributor1's config-admin are members and refused by the contract.
      const channelRefusal = /access denied: channel \[northgrid\] creator org unknown/;
      const outsiders: [UserMsp, RegExp, RegExp | undefined][] = [
        [{ org: 'distributor2', mspId: 'Distributor2MSP', name: 'operator' }, channelRefusal, channelRefusal],
        [
          { org: 'authority', mspId: 'AuthorityMSP', name: 'auditor' },
          /FORBIDDEN: only an operator of Distributor1MSP confirms anomalies/,
          undefined, // the authority may read the record in disclosed mode (above)
        ],
        [
          { org: 'distributor1', mspId: 'Distributor1MSP', name: 'config-admin' },
          /FORBIDDEN: only an operator of Distributor1MSP confirms anomalies/,
          /FORBIDDEN: confirmed anomalies of sub_[0-9a-f]{24} are for its household/,
        ],
      ];
      for (const [outsider, confirmRefusal, listRefusal] of outsiders) {
        const viaCli = await peerChaincode(
          outsider,
          'distributor1',
          'invoke',
          'northgrid',
          'Anomaly:ConfirmAnomaly',
          [subscriptionId, forged.tag, forged.sealed],
        );
        expect(viaCli.code).not.toBe(0);
        expect(viaCli.output).toMatch(confirmRefusal);
        if (!listRefusal) continue;
        const reads = await peerChaincode(
          outsider,
          'distributor1',
          'query',
          'northgrid',
          'Anomaly:ListConfirmedAnomalies',
          [subscriptionId],
        );
        expect(reads.code).not.toBe(0);
        expect(reads.output).toMatch(listRefusal);
      }
      // The household itself, through a raw gateway connection with its own certificate.
      const keystore = new Keystore(join(work, 'household'));
      const files = keystore.identity('Distributor1HouseholdsMSP', household);
      if (!files) throw new Error('household identity not enrolled');
      const own = openGateway(profile('households1'), { files });
      try {
        expect(
          await rejection(
            own.gateway
              .getNetwork('northgrid')
              .getContract(CHAINCODE, 'Anomaly')
              .submitTransaction('ConfirmAnomaly', subscriptionId, forged.tag, forged.sealed),
          ),
        ).toMatch(/FORBIDDEN: only an operator of Distributor1MSP confirms anomalies/);
      } finally {
        own.close();
      }
      expect(await channelHeight(auditorGateway.gateway, 'northgrid')).toBe(height);
      expect(await meterctlJson<Listed[]>([...distributor, 'anomalies', 'list', subscriptionId])).toEqual(
        before,
      );
    } finally {
      auditorGateway.close();
    }
  });

  it('subscription end and key rotation: the subscription ends, history shows every state, the key is new', async () => {
    const ended = await meterctlJson<SubscriptionRecord>([
      ...home,
      'subscription',
      'end',
      subscriptionId,
      '--reason',
      'moving',
    ]);
    expect(ended.status).toBe('ENDED');
    const rotated = await meterctlJson<{ keyId: string; previousKeyId: string }>([
      ...home,
      'keys',
      'rotate',
      'home',
    ]);
    expect(rotated.previousKeyId).toBe(ended.keyId);
    expect(rotated.keyId).not.toBe(ended.keyId);
    const history = await meterctlJson<{ record: SubscriptionRecord }[]>([
      ...home,
      'subscription',
      'history',
      subscriptionId,
    ]);
    expect(history.map((h) => h.record.status)).toEqual(['REQUESTED', 'APPROVED', 'ACTIVE', 'ENDED']);
    // The household still reads its old readings with the retired key.
    const rows = await meterctlJson<{ payload?: { energyWh: number } }[]>([
      ...home,
      'readings',
      'list',
      subscriptionId,
      '--from',
      start,
      '--to',
      end,
    ]);
    expect(rows.map((r) => r.payload?.energyWh)).toEqual(energies);
  });
});
