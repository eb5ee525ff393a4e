import { pairingProof, encryptReading } from '@smartmeter/crypto';
import type { AccessRequestRecord, BillRecord, SubscriptionRecord, WalletRecord } from '@smartmeter/domain';
import { startPortal } from '@smartmeter/portal';
import type {
  AccessLogRow,
  BillVerificationView,
  CompletenessView,
  ConsumptionView,
  GroupCount,
  LedgerEvent,
  LoadPoint,
  MissingReadingsRow,
  RegionLoad,
  SessionInfo,
  TariffView,
} from '@smartmeter/portal';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultFactory } from '../../client/src/commands/factory';
import type { RunningPortal, ServeOptions } from '../../client/src/commands/serve';
import { Keystore } from '../../client/src/keystore';
import { CHAINCODE, Gateways, isoSeconds, submitJson } from '../support/chaincode';
import { enrollMeter } from '../support/household';
import { meterctlJson } from '../support/meterctl';
import { ServeProcess, type ServeLaunch } from '../support/portal';
import { networkHome, repoDir } from '../support/network';
import { AggregationClient } from '../../client/src/contracts/AggregationClient';
import { BillingClient } from '../../client/src/contracts/BillingClient';
import { chaincodeChannel } from '../../client/src/contracts/invoke';

/**
 * Issue 20: the portal's API on the real network. Three servers, as meterctl serve starts them (a household's
 * on its own keystore, Distributor1's and the authority's inside their organizations), answer every route
 * with what the ledger holds; each refuses what its identity may not do, also when the request is crafted.
 */
const DAY = 86_400;
const INTERVAL = 1800;
const run = `${Date.now().toString(36).slice(-6)}${Math.floor(Math.random() * 1e4)}`;
const work = mkdtempSync(join(tmpdir(), 'portal-api-'));
const profiles = join(networkHome, 'profiles');
const monthStart = Math.floor(Date.now() / 1000 / DAY) * DAY - 31 * DAY;
const monthEnd = monthStart + 30 * DAY;
const halfMonth = monthStart + 15 * DAY;
const region = `north/pt${run}`;
const hh = `phh-${run}`;
const hhOther = `phh2-${run}`;
const meter = `pmtr-${run}`;
const meterOther = `pmtr2-${run}`;
const meterThird = `pmtr3-${run}`;
const tariffId = `ptou-${run}`;

const keystores = {
  d1: join(work, 'distributor1'),
  authority: join(work, 'authority'),
  household: join(work, 'household'),
  other: join(work, 'other'),
};
const d1 = ['-p', join(profiles, 'distributor1.json'), '-k', keystores.d1];
const authority = ['-p', join(profiles, 'authority.json'), '-c', 'northgrid', '-k', keystores.authority];
const households = (keystore: string, identity: string) => [
  '-p',
  join(profiles, 'households1.json'),
  '-k',
  keystore,
  '-i',
  identity,
];
const gateways = new Gateways();
const iso = isoSeconds;
/** What the household's meter measured in period n of the month (Wh). */
const energyOf = (n: number) => 120 + ((n * 37) % 400);
const READINGS = (30 * DAY) / INTERVAL;

let subscriptionId = '';
let otherSubscriptionId = '';
let rejectedId = '';
let apiBill: BillRecord;
let requestId = '';

const SERVE: ServeOptions = {
  host: '127.0.0.1',
  port: 0,
  reportDb: { name: `portal_${run}` },
  pollSeconds: 2,
};
const portals: RunningPortal[] = [];
let household: Api;
let other: Api;
let distributor: Api;
let authorityApi: Api;

/** A portal's API as a script calls it: the launch's access token as a bearer token. */
interface Api {
  portal: RunningPortal;
  get<T>(path: string): Promise<{ status: number; body: T }>;
  post<T>(path: string, body: unknown): Promise<{ status: number; body: T }>;
}

interface Refusal {
  error: { code: string; message: string; peer?: string; fields?: string[] };
}

async function serve(globals: {
  profile: string;
  identity?: string;
  keystore: string;
  channel?: string;
}): Promise<Api> {
  const portal = await startPortal(defaultFactory.deps(globals), SERVE);
  portals.push(portal);
  const token = new URL(portal.loginUrl).hash.slice('#token='.length);
  const call = async <T>(path: string, method: 'GET' | 'POST', body?: unknown) => {
    const json: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    const response = await fetch(new URL(path, portal.url), {
      method,
      headers: { authorization: `Bearer ${token}`, ...json },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  };
  return {
    portal,
    get: (path) => call(path, 'GET'),
    post: (path, body) => call(path, 'POST', body),
  };
}

/** The distributor registers a household; the household enrolls itself into its own keystore. */
async function registerHousehold(name: string, keystore: string): Promise<void> {
  const { secret } = await meterctlJson<{ secret: string }>([
    ...d1,
    'identity',
    'register',
    name,
    '--role',
    'subscriber',
    '--subscriber-id',
    name,
  ]);
  await meterctlJson([
    ...households(keystore, name).slice(0, 4),
    'identity',
    'enroll',
    name,
    '--secret',
    secret,
  ]);
}

async function requestSubscription(keystore: string, identity: string, meterId: string, key: string) {
  await meterctlJson([...households(keystore, identity), 'keys', 'new', key]);
  return meterctlJson<SubscriptionRecord>([
    ...households(keystore, identity),
    'subscription',
    'request',
    '--meter',
    meterId,
    '--key',
    key,
  ]);
}

beforeAll(async () => {
  await meterctlJson([...d1, 'keys', 'publish', '--rotate']);
  await meterctlJson([...authority, 'keys', 'publish', '--rotate']);
  await meterctlJson([
    ...d1,
    'tariff',
    'publish',
    join(repoDir, 'examples', 'tariffs', 'time-of-use.json'),
    '--id',
    tariffId,
    '--effective-from',
    iso(monthStart),
  ]);
  const signals = join(work, 'signals.json');
  writeFileSync(signals, JSON.stringify([{ periodStart: iso(monthStart), priceMicroPerKwh: 250000 }]));
  await meterctlJson([...authority, 'price-signal', 'publish', '--region', region, '--file', signals]);

  await registerHousehold(hh, keystores.household);
  await registerHousehold(hhOther, keystores.other);
  subscriptionId = (await requestSubscription(keystores.household, hh, meter, 'home')).subscriptionId;
  otherSubscriptionId = (await requestSubscription(keystores.other, hhOther, meterOther, 'flat'))
    .subscriptionId;
  rejectedId = (await requestSubscription(keystores.other, hhOther, meterThird, 'garage')).subscriptionId;
  await meterctlJson([
    ...d1,
    'subscription',
    'approve',
    subscriptionId,
    '--tariff',
    tariffId,
    '--region',
    region,
    '--interval',
    String(INTERVAL),
    '--start',
    iso(monthStart),
  ]);

  // The household's meter pairs with the session key the household made, and reports the month.
  await enrollMeter(meter);
  const sessionKey = new Keystore(keystores.household).sessionKeyBytes('home');
  await submitJson(
    gateways.contract('households1', 'northgrid', 'Subscription', meter),
    'ConfirmPairing',
    subscriptionId,
    pairingProof(sessionKey, meter),
  );
  const measurement = gateways.contract('households1', 'northgrid', 'Measurement', meter);
  for (let first = 0; first < READINGS; first += 96) {
    const batch = [];
    for (let n = first; n < Math.min(READINGS, first + 96); n++) {
      const slot = {
        channel: 'northgrid',
        subscriptionId,
        sequence: n + 1,
        periodStart: iso(monthStart + n * INTERVAL),
      };
      const payload = {
        energyWh: energyOf(n),
        utility: 'electricity' as const,
        unit: 'Wh',
        quality: 'measured' as const,
      };
      batch.push({
        subscriptionId,
        sequence: slot.sequence,
        periodStart: slot.periodStart,
        ...encryptReading(payload, sessionKey, slot),
      });
    }
    await submitJson(measurement, 'SubmitReadings', JSON.stringify(batch));
  }

  household = await serve({
    profile: join(profiles, 'households1.json'),
    identity: hh,
    keystore: keystores.household,
  });
  other = await serve({
    profile: join(profiles, 'households1.json'),
    identity: hhOther,
    keystore: keystores.other,
  });
  distributor = await serve({ profile: join(profiles, 'distributor1.json'), keystore: keystores.d1 });
}, 600_000);

afterAll(async () => {
  for (const portal of portals) await portal.close();
  gateways.closeAll();
  delete process.env.REPORT_MIN_HOUSEHOLDS;
});

const monthSum = Array.from({ length: READINGS }, (_, n) => energyOf(n)).reduce((a, b) => a + b, 0);
const ledgerBill = (billId: string) =>
  new BillingClient(chaincodeChannel(gateways.gateway('distributor1'), 'northgrid', CHAINCODE)).get(billId);

describe('the household portal', () => {
  it("says who it acts for, and lists only the household's own subscriptions", async () => {
    // A bearer token has no session: the page's session call needs the cookie that signing in gives.
    expect((await household.get<Refusal>('/api/session')).body.error.code).toBe('UNAUTHENTICATED');
    const token = new URL(household.portal.loginUrl).hash.slice('#token='.length);
    const signedIn = await household.post<SessionInfo>('/api/login', { token });
    expect(signedIn.body).toMatchObject({
      party: 'household',
      identity: hh,
      mspId: 'Distributor1HouseholdsMSP',
      channel: 'northgrid',
    });
    const mine = await household.get<SubscriptionRecord[]>('/api/subscriptions');
    expect(mine.status).toBe(200);
    expect(mine.body.map((s) => s.subscriptionId)).toEqual([subscriptionId]);
    expect(household.portal.party).toBe('household');
    const one = await household.get<SubscriptionRecord>(`/api/subscriptions/${subscriptionId}`);
    expect(one.body).toMatchObject({ subscriptionId, status: 'ACTIVE', meterId: meter });
  });

  it('shows the month decrypted in its own process: per day, the total equal to what the meter measured', async () => {
    const view = await household.get<ConsumptionView>(
      `/api/subscriptions/${subscriptionId}/consumption?from=${iso(monthStart)}&to=${iso(monthEnd)}&bucket=day`,
    );
    expect(view.status).toBe(200);
    expect(view.body.total).toEqual({ quantity: monthSum, readings: READINGS });
    expect(view.body.buckets).toHaveLength(30);
    expect(view.body.buckets[0]).toEqual({
      start: iso(monthStart),
      quantity: Array.from({ length: 48 }, (_, n) => energyOf(n)).reduce((a, b) => a + b, 0),
      readings: 48,
    });
    expect(view.body.unit).toBe('Wh');
    expect(view.body.undecryptable).toBe(0);
    expect(view.body.cost?.energyWh).toBe(monthSum);
  });

  it("has the tariff in force and the region's price signals; completeness is full", async () => {
    const tariff = await household.get<TariffView>(
      `/api/subscriptions/${subscriptionId}/tariff?from=${iso(monthStart)}&to=${iso(monthEnd)}`,
    );
    expect(tariff.body.tariff).toMatchObject({ tariffId, version: 1, distributorMspId: 'Distributor1MSP' });
    expect(tariff.body.signals.map((s) => [s.periodStart, s.priceMicroPerKwh])).toEqual([
      [iso(monthStart), 250000],
    ]);
    const complete = await distributor.get<CompletenessView>(
      `/api/subscriptions/${subscriptionId}/completeness?from=${iso(monthStart)}&to=${iso(monthEnd)}`,
    );
    expect(complete.body).toMatchObject({ expected: READINGS, present: READINGS, missing: [], invalid: 0 });
  });

  it("cannot read another household's subscription or readings, even with a crafted request", async () => {
    const crafted = await other.get<Refusal>(`/api/subscriptions/${subscriptionId}`);
    expect(crafted.status).toBe(403);
    expect(crafted.body.error.code).toBe('FORBIDDEN');
    expect(crafted.body.error.peer).toMatch(/\(.+MSP\)$/);
    const readings = await other.get<Refusal>(`/api/subscriptions/${subscriptionId}/consumption`);
    expect(readings.status).toBe(403);
    expect(readings.body.error.code).toBe('FORBIDDEN');
    // A household's server offers no distributor routes at all.
    const approve = await other.post<Refusal>(`/api/subscriptions/${rejectedId}/approve`, {
      tariffId,
      regionCode: region,
      intervalSeconds: INTERVAL,
    });
    expect(approve.status).toBe(403);
    expect(approve.body.error.code).toBe('NOT_FOR_PARTY');
    const still = await distributor.get<SubscriptionRecord>(`/api/subscriptions/${rejectedId}`);
    expect(still.body.status).toBe('REQUESTED');
  });
});

describe('the distributor portal', () => {
  it('lists requests, checks the key grant, approves one and rejects another', async () => {
    const requested = await distributor.get<SubscriptionRecord[]>('/api/subscriptions?status=REQUESTED');
    expect(requested.body.map((s) => s.subscriptionId)).toEqual(
      expect.arrayContaining([otherSubscriptionId, rejectedId]),
    );
    expect(requested.body.every((s) => s.status === 'REQUESTED')).toBe(true);
    const grant = await distributor.get<{ ok: boolean; keyId: string; mspId: string }>(
      `/api/subscriptions/${otherSubscriptionId}/grant-check`,
    );
    expect(grant.body).toMatchObject({ ok: true, mspId: 'Distributor1MSP' });
    const approved = await distributor.post<SubscriptionRecord>(
      `/api/subscriptions/${otherSubscriptionId}/approve`,
      {
        tariffId,
        regionCode: region,
        intervalSeconds: INTERVAL,
        startDate: iso(monthStart),
      },
    );
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('APPROVED');
    expect(approved.body.approval).toMatchObject({ tariffId, regionCode: region, intervalSeconds: INTERVAL });
    const rejected = await distributor.post<SubscriptionRecord>(`/api/subscriptions/${rejectedId}/reject`, {
      reason: 'no such meter at this address',
    });
    expect(rejected.body).toMatchObject({
      status: 'REJECTED',
      rejection: { reason: 'no such meter at this address' },
    });
  });

  it('refuses bad input by field, and a second approval, and the ledger keeps what it had', async () => {
    const bad = await distributor.post<Refusal>(`/api/subscriptions/${rejectedId}/approve`, {
      tariffId,
      regionCode: region,
      intervalSeconds: 'half an hour',
      extra: 1,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION');
    expect(bad.body.error.fields).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^body\/intervalSeconds: /),
        expect.stringMatching(/^body: must NOT have additional properties/),
      ]),
    );
    const again = await distributor.post<Refusal>(`/api/subscriptions/${rejectedId}/approve`, {
      tariffId,
      regionCode: region,
      intervalSeconds: INTERVAL,
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');
    const unchanged = await distributor.get<SubscriptionRecord>(`/api/subscriptions/${rejectedId}`);
    expect(unchanged.body.status).toBe('REJECTED');
  });

  it('issues the bill of half the month; its total is what the household sees as the cost of that half', async () => {
    const issued = await distributor.post<BillRecord>('/api/bills', {
      subscriptionId,
      from: iso(monthStart),
      to: iso(halfMonth),
    });
    expect(issued.status).toBe(200);
    apiBill = issued.body;
    expect(apiBill.energyWh).toBe(
      Array.from({ length: 720 }, (_, n) => energyOf(n)).reduce((a, b) => a + b, 0),
    );
    const cost = await household.get<ConsumptionView>(
      `/api/subscriptions/${subscriptionId}/consumption?from=${iso(monthStart)}&to=${iso(halfMonth)}`,
    );
    expect(cost.body.cost).toMatchObject({ totalMinor: apiBill.totalMinor, currency: apiBill.currency });
    const listed = await household.get<BillRecord[]>(`/api/bills?subscription=${subscriptionId}`);
    expect(listed.body.map((b) => b.billId)).toEqual([apiBill.billId]);
  });
});

describe('a bill from issue to payment', () => {
  it('the household sees it verified against the ledger, and its report', async () => {
    const verified = await household.get<BillVerificationView>(`/api/bills/${apiBill.billId}/verification`);
    expect(verified.body).toMatchObject({ billId: apiBill.billId, ok: true, differences: [] });
    const report = await fetch(new URL(`/api/bills/${apiBill.billId}/report`, household.portal.url), {
      headers: { authorization: `Bearer ${new URL(household.portal.loginUrl).hash.slice(7)}` },
    });
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toMatch(/^text\/html/);
    expect(report.headers.get('content-security-policy')).toMatch(/sandbox/);
    expect(await report.text()).toContain(apiBill.billId);
  });

  it('another household cannot dispute it; the household does, and the distributor hears of it live', async () => {
    const crafted = await other.post<Refusal>(`/api/bills/${apiBill.billId}/dispute`, { reason: 'not mine' });
    expect(crafted.status).toBe(403);
    expect(crafted.body.error.code).toBe('FORBIDDEN');
    expect((await ledgerBill(apiBill.billId)).status).toBe('ISSUED');

    const events = await openEvents(distributor);
    const disputed = await household.post<BillRecord>(`/api/bills/${apiBill.billId}/dispute`, {
      reason: 'the meter was away for a week',
    });
    expect(disputed.body).toMatchObject({
      status: 'DISPUTED',
      dispute: { reason: 'the meter was away for a week' },
    });
    const event = await events.next((e) => e.name === 'BillDisputed');
    expect(event).toMatchObject({ name: 'BillDisputed', billId: apiBill.billId });
    expect(Number(event.blockNumber)).toBeGreaterThan(0);
    events.close();
  });

  it('the distributor resolves the dispute and records the payment; a repeat is refused and changes nothing', async () => {
    const resolved = await distributor.post<BillRecord>(`/api/bills/${apiBill.billId}/resolve`, {
      outcome: 'REJECTED',
      note: 'the readings are complete',
    });
    expect(resolved.body).toMatchObject({ status: 'RESOLVED', resolution: { outcome: 'REJECTED' } });
    const paid = await distributor.post<BillRecord>(`/api/bills/${apiBill.billId}/payments`, {
      amountMinor: apiBill.totalMinor,
      reference: `PAY-${run}`,
    });
    expect(paid.body).toMatchObject({ status: 'PAID', payment: { amountMinor: apiBill.totalMinor } });
    const again = await distributor.post<Refusal>(`/api/bills/${apiBill.billId}/resolve`, {
      outcome: 'UPHELD',
      note: 'changed my mind',
    });
    expect(again.status).toBe(409);
    expect((await ledgerBill(apiBill.billId)).status).toBe('PAID');
  });
});

describe('personal data, prepaid and the grid', () => {
  it('the household sees who asks for its personal data and why, and grants it sealed', async () => {
    const request = await meterctlJson<AccessRequestRecord>([
      ...authority,
      'personal-data',
      'request',
      subscriptionId,
      '--reason',
      'tariff audit 2026/203',
    ]);
    requestId = request.requestId;
    const listed = await household.get<AccessRequestRecord[]>('/api/personal-data');
    expect(listed.body).toEqual([
      expect.objectContaining({
        requestId,
        requesterMspId: 'AuthorityMSP',
        reason: 'tariff audit 2026/203',
        status: 'PENDING',
      }),
    ]);
    const crafted = await other.post<Refusal>(`/api/personal-data/${requestId}/deny`, { reason: 'no' });
    expect(crafted.status).toBe(403);
    const granted = await household.post<AccessRequestRecord>(`/api/personal-data/${requestId}/grant`, {
      data: JSON.stringify({ name: 'Portal Household', address: '3 Web Lane' }),
    });
    expect(granted.body.status).toBe('GRANTED');
    const fetched = await meterctlJson<{ data: string }>([...authority, 'personal-data', 'fetch', requestId]);
    expect(JSON.parse(fetched.data)).toEqual({ name: 'Portal Household', address: '3 Web Lane' });
  });

  it('a wallet: not prepaid is NOT_FOUND; emergency credit once, a top-up by the operator', async () => {
    const none = await household.get<Refusal>(`/api/subscriptions/${subscriptionId}/wallet`);
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('NOT_FOUND');
    await meterctlJson([...d1, 'wallet', 'open', otherSubscriptionId, '--emergency-credit', '5.00']);
    const credit = await other.post<WalletRecord>(
      `/api/subscriptions/${otherSubscriptionId}/wallet/emergency-credit`,
      {},
    );
    expect(credit.status).toBe(200);
    expect(credit.body.emergencyCreditTakenAt).toBeDefined();
    const twice = await other.post<Refusal>(
      `/api/subscriptions/${otherSubscriptionId}/wallet/emergency-credit`,
      {},
    );
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('CONFLICT');
    const topUp = await distributor.post<WalletRecord>(
      `/api/subscriptions/${otherSubscriptionId}/wallet/top-up`,
      {
        amountMinor: 2000,
        reference: `TOP-${run}`,
      },
    );
    expect(topUp.body.balanceMinor).toBe(2000);
    const shown = await other.get<{ wallet: WalletRecord }>(
      `/api/subscriptions/${otherSubscriptionId}/wallet`,
    );
    expect(shown.body.wallet.balanceMinor).toBe(2000);
    const transfer = await other.post<Refusal>(`/api/subscriptions/${otherSubscriptionId}/wallet/transfer`, {
      to: subscriptionId,
      amountMinor: 100,
    });
    // The neighbour's subscription has no wallet: refused, and the balance stays.
    expect(transfer.status).toBe(404);
    expect(
      (await other.get<{ wallet: WalletRecord }>(`/api/subscriptions/${otherSubscriptionId}/wallet`)).body
        .wallet.balanceMinor,
    ).toBe(2000);
  });

  it('the distributor lists its faulty meters (none) and anyone on the channel reads price signals', async () => {
    const faulty = await distributor.get<unknown[]>('/api/faulty-meters');
    expect(faulty.status).toBe(200);
    const onLedger = await new AggregationClient(
      chaincodeChannel(gateways.gateway('distributor1'), 'northgrid', CHAINCODE),
    ).faultyMeters('Distributor1MSP');
    expect(faulty.body).toEqual(JSON.parse(JSON.stringify(onLedger)));
    const prices = await household.get<{ priceMicroPerKwh: number }[]>(
      `/api/price-signals?region=${encodeURIComponent(region)}&from=${iso(monthStart)}&to=${iso(monthEnd)}`,
    );
    expect(prices.body.map((p) => p.priceMicroPerKwh)).toEqual([250000]);
  });
});

describe('the authority portal', () => {
  beforeAll(async () => {
    await meterctlJson([...authority, 'report', 'sync', '--db-name', SERVE.reportDb.name]);
    // One household in the test region: the minimum of households per published sum is lowered for it.
    process.env.REPORT_MIN_HOUSEHOLDS = '1';
    authorityApi = await serve({
      profile: join(profiles, 'authority.json'),
      keystore: keystores.authority,
      channel: 'northgrid',
    });
  });

  it("reports the region's load per day and the grid of regions, equal to the meter's month", async () => {
    const load = await authorityApi.get<LoadPoint[]>(
      `/api/reports/load?region=${encodeURIComponent(region)}&from=${iso(monthStart)}&to=${iso(monthEnd)}&bucketSeconds=86400`,
    );
    expect(load.status).toBe(200);
    expect(load.body).toHaveLength(30);
    expect(load.body.reduce((sum, p) => sum + (p.energyWh ?? 0), 0)).toBe(monthSum);
    const regions = await authorityApi.get<RegionLoad[]>(
      `/api/reports/regions?from=${iso(monthStart)}&to=${iso(monthEnd)}`,
    );
    expect(regions.body.find((r) => r.regionCode === region)).toEqual({
      regionCode: region,
      energyWh: monthSum,
      households: 1,
      suppressed: false,
    });
  });

  it('shows the access log with the reason, subscriptions by status, and missing readings', async () => {
    const log = await authorityApi.get<AccessLogRow[]>('/api/reports/access-log');
    expect(log.body.find((r) => r.requestId === requestId)).toMatchObject({
      reason: 'tariff audit 2026/203',
      status: 'GRANTED',
      requesterMspId: 'AuthorityMSP',
    });
    const byStatus = await authorityApi.get<GroupCount[]>('/api/reports/subscriptions?by=status');
    expect(byStatus.body.find((g) => g.group === 'REJECTED')?.subscriptions).toBeGreaterThanOrEqual(1);
    const missing = await authorityApi.get<MissingReadingsRow[]>('/api/reports/missing-readings');
    expect(missing.body.find((r) => r.subscriptionId === subscriptionId)).toMatchObject({
      received: READINGS,
    });
    const notForHousehold = await household.get<Refusal>('/api/reports/access-log');
    expect(notForHousehold.body.error.code).toBe('NOT_FOR_PARTY');
  });
});

describe('ending', () => {
  it('the household ends its subscription from its portal', async () => {
    const ended = await other.post<SubscriptionRecord>(`/api/subscriptions/${otherSubscriptionId}/end`, {
      reason: 'moving out',
    });
    expect(ended.status).toBe(200);
    expect(ended.body.end?.reason).toBe('moving out');
  });
});

describe('the portal in a real browser (Debian Chromium, driven by playwright-core)', () => {
  const screenshots = join(repoDir, '.test-results', 'screenshots');
  const servers: ServeProcess[] = [];
  let browser: Browser | undefined;
  let billId = '';
  let browserBill: BillRecord;
  const launches: Record<'household' | 'distributor' | 'authority', ServeLaunch> = {} as Record<
    'household' | 'distributor' | 'authority',
    ServeLaunch
  >;
  /** Script errors and CSP violations of every page: a strict CSP breaks pages silently otherwise. */
  const pageProblems: string[] = [];
  /** API calls the pages made that were answered with an error status. */
  const refusedCalls: string[] = [];

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    const bill = await meterctlJson<BillRecord>([
      ...d1,
      'bill',
      'issue',
      subscriptionId,
      '--from',
      iso(halfMonth),
      '--to',
      iso(monthEnd),
    ]);
    billId = bill.billId;
    browserBill = bill;
    await meterctlJson([...authority, 'report', 'sync', '--db-name', SERVE.reportDb.name]);
    const started = {
      household: new ServeProcess(households(keystores.household, hh)),
      distributor: new ServeProcess(d1),
      authority: new ServeProcess(authority, { REPORT_MIN_HOUSEHOLDS: '1' }, [
        '--db-name',
        SERVE.reportDb.name,
      ]),
    };
    servers.push(...Object.values(started));
    launches.household = await started.household.launched;
    launches.distributor = await started.distributor.launched;
    launches.authority = await started.authority.launched;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-default-apps',
        '--no-first-run',
        '--metrics-recording-only',
      ],
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    for (const server of servers) expect(await server.stop()).toBe(0);
  });

  /** A fresh browser profile signed in with the launch's token (the address meterctl serve printed). */
  async function signedIn(launch: ServeLaunch, viewport = { width: 1280, height: 900 }): Promise<Page> {
    // Reduced motion: charts are drawn at once (no animation), so screenshots show the figures.
    const context = await started(browser).newContext({ viewport, reducedMotion: 'reduce' });
    const page = await context.newPage();
    page.on('console', (message) => {
      // A refused call is logged by the browser too: those are checked by path below.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        pageProblems.push(`${launch.party}: ${message.text()}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400)
        refusedCalls.push(`${launch.party} ${response.status()} ${new URL(response.url()).pathname}`);
    });
    page.on('pageerror', (error) => pageProblems.push(`${launch.party}: ${error.message}`));
    await page.goto(launch.loginUrl);
    expect(await textOf(page.getByTestId('whoami'), launch.identity)).toContain(launch.identity);
    return page;
  }

  it('meterctl serve printed where it listens, and the page without the token asks for it', async () => {
    expect(launches.household).toMatchObject({ party: 'household', identity: hh, channel: 'northgrid' });
    expect(launches.household.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await (await started(browser).newContext()).newPage();
    await page.goto(launches.household.url);
    await page.getByTestId('login-needed').waitFor({ state: 'visible' });
    await page.context().close();
  });

  it("the household signs in with the token and sees its month as a chart whose total equals the ledger's", async () => {
    const page = await signedIn(launches.household);
    // The token left the address bar, and nothing is kept in the browser's storage (the cookie is HttpOnly).
    expect(page.url()).not.toContain('token');
    expect(await page.evaluate('[localStorage.length, sessionStorage.length, document.cookie]')).toEqual([
      0,
      0,
      '',
    ]);
    await page.goto(new URL('#/consumption', launches.household.url).href);
    await page.getByLabel('From (UTC day)').fill(iso(monthStart).slice(0, 10));
    await page.getByLabel('To (UTC day, included)').fill(iso(monthEnd - DAY).slice(0, 10));
    await page.getByRole('button', { name: 'Show' }).click();
    const ledger = await meterctlJson<{ payload?: { energyWh: number } }[]>([
      ...households(keystores.household, hh),
      'readings',
      'list',
      subscriptionId,
      '--from',
      iso(monthStart),
      '--to',
      iso(monthEnd),
    ]);
    const ledgerTotal = ledger.reduce((sum, r) => sum + (r.payload?.energyWh ?? 0), 0);
    expect(ledgerTotal).toBe(monthSum);
    const chart = page.getByTestId('consumption-chart');
    expect(await attributeOf(chart, 'data-points', '30')).toBe('30');
    expect(await attributeOf(chart, 'data-sum-wh', String(ledgerTotal))).toBe(String(ledgerTotal));
    expect(await attributeOf(page.getByTestId('consumption-total'), 'data-wh', String(ledgerTotal))).toBe(
      String(ledgerTotal),
    );
    expect(await textOf(page.getByTestId('consumption-readings'), String(READINGS))).toBe(String(READINGS));
    await page.screenshot({ path: join(screenshots, 'household-consumption.png'), fullPage: true });
    const phone = await signedIn(launches.household, { width: 375, height: 812 });
    await phone.goto(new URL('#/consumption', launches.household.url).href);
    expect(await attributeOf(phone.getByTestId('consumption-chart'), 'data-points', /\d+/)).toMatch(/\d+/);
    // Phone-sized: nothing wider than the screen.
    expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await phone.screenshot({ path: join(screenshots, 'household-consumption-phone.png'), fullPage: true });
    await page.context().close();
    await phone.context().close();
  });

  it('the household opens its bill, sees it verified against the ledger, and disputes it', async () => {
    const page = await signedIn(launches.household);
    await page.goto(new URL(`#/bills/${billId}`, launches.household.url).href);
    expect(await textOf(page.getByTestId('bill-verified'), 'Verified against the ledger')).toBe(
      'Verified against the ledger',
    );
    expect(await textOf(page.getByTestId('bill-status'), 'ISSUED')).toBe('ISSUED');
    // The figures a household reads are the ledger's bill.
    const total = moneyText(browserBill.totalMinor, browserBill.currency);
    expect(await textOf(page.getByTestId('bill-total'), total)).toBe(total);
    const energy = `${(browserBill.energyWh / 1000).toFixed(3)} kWh`;
    expect(await textOf(page.getByTestId('bill-energy'), energy)).toBe(energy);
    await page.screenshot({ path: join(screenshots, 'household-bill-verified.png'), fullPage: true });
    // Its cost so far for the bill's period, computed in its own server, is the bill's total.
    await page.goto(new URL('#/consumption', launches.household.url).href);
    await page.getByLabel('From (UTC day)').fill(iso(halfMonth).slice(0, 10));
    await page.getByLabel('To (UTC day, included)').fill(iso(monthEnd - DAY).slice(0, 10));
    await page.getByRole('button', { name: 'Show' }).click();
    expect(await textOf(page.getByTestId('cost-so-far'), `${total} for ${energy}`)).toContain(
      `${total} for ${energy}`,
    );
    await page.goto(new URL(`#/bills/${billId}`, launches.household.url).href);
    await page.getByTestId('dispute-reason').waitFor({ state: 'visible' });
    await page.getByTestId('dispute-reason').fill('we were on holiday for the second week');
    await page.getByTestId('dispute-submit').click();
    expect(await textOf(page.getByTestId('bill-status'), 'DISPUTED')).toBe('DISPUTED');
    expect((await ledgerBill(billId)).dispute?.reason).toBe('we were on holiday for the second week');
    await page.context().close();
  });

  it('the distributor sees the dispute and resolves it', async () => {
    const page = await signedIn(launches.distributor);
    await page.goto(new URL('#/bills', launches.distributor.url).href);
    const row = page.locator(`[data-testid="bill-row"][data-bill-id="${billId}"]`);
    expect(await textOf(row.getByTestId('bill-row-status'), 'DISPUTED')).toBe('DISPUTED');
    await row.getByTestId('resolve-outcome').selectOption('UPHELD');
    await row.getByTestId('resolve-note').fill('a credit note follows');
    await page.screenshot({ path: join(screenshots, 'distributor-dispute.png'), fullPage: true });
    await row.getByTestId('resolve-submit').click();
    expect(await textOf(row.getByTestId('bill-row-status'), 'RESOLVED')).toBe('RESOLVED');
    expect((await ledgerBill(billId)).resolution).toMatchObject({
      outcome: 'UPHELD',
      note: 'a credit note follows',
    });
    await page.context().close();
  });

  it('the authority sees the regional load, the grid of regions and the personal-data access log', async () => {
    const page = await signedIn(launches.authority);
    await page.goto(new URL('#/load', launches.authority.url).href);
    await page.getByTestId('load-region').fill(region);
    await page.getByTestId('load-from').fill(iso(monthStart).slice(0, 10));
    await page.getByTestId('load-to').fill(iso(monthEnd - DAY).slice(0, 10));
    await page.getByTestId('load-bucket').selectOption('86400');
    await page.getByTestId('load-submit').click();
    const chart = page.getByTestId('region-load-chart');
    expect(await attributeOf(chart, 'data-points', '30')).toBe('30');
    expect(await attributeOf(chart, 'data-sum-wh', String(monthSum))).toBe(String(monthSum));
    await page.locator(`[data-testid="region-tile"][data-region="${region}"]`).waitFor({ state: 'visible' });
    await page.screenshot({ path: join(screenshots, 'authority-load.png'), fullPage: true });
    await page.goto(new URL('#/access-log', launches.authority.url).href);
    const entry = page.locator(`[data-testid="access-log-row"][data-request-id="${requestId}"]`);
    expect(await textOf(entry, 'tariff audit 2026/203')).toContain('tariff audit 2026/203');
    expect(await textOf(entry, 'GRANTED')).toContain('GRANTED');
    await page.screenshot({ path: join(screenshots, 'authority-access-log.png'), fullPage: true });
    await page.context().close();
  });

  it("a web page of another local server, in the household's signed-in browser, can neither act nor read", async () => {
    const signedInPage = await signedIn(launches.household);
    // The attacker's page opens in the same browser profile, beside the household's own tab.
    const page = await signedInPage.context().newPage();
    // Another server on 127.0.0.1: the same site (ports do not separate sites), so the session cookie goes along.
    const evil = createServer((_request, response) => {
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>prize draw</title>');
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
    await page.goto(evilUrl);
    const target = new URL(`/api/subscriptions/${subscriptionId}/end`, launches.household.url).href;
    const attempts = await page.evaluate<string[]>(`(async () => {
      const outcomes = [];
      const tries = [
        { mode: 'no-cors', credentials: 'include', method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"reason":"x"}' },
        { mode: 'cors', credentials: 'include', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"x"}' },
      ];
      for (const init of tries) {
        try { const r = await fetch(${JSON.stringify(target)}, init); outcomes.push(r.type + ' ' + r.status); }
        catch (e) { outcomes.push('blocked'); }
      }
      try { await (await fetch(${JSON.stringify(new URL('/api/bills', launches.household.url).href)}, { credentials: 'include' })).json(); outcomes.push('read'); }
      catch (e) { outcomes.push('unreadable'); }
      return outcomes;
    })()`);
    // The simple POST reaches the server, which refuses it (no CSRF token, another origin), and its answer is
    // withheld from the page (Cross-Origin-Resource-Policy); the preflighted POST and the read are stopped by CORS.
    expect(attempts).toEqual(['blocked', 'blocked', 'unreadable']);
    // A form posted across origins (a navigation: neither CORS nor CORP stop it) is refused by the server.
    await page.evaluate(`(() => {
      const f = document.createElement('form'); f.method = 'POST'; f.action = ${JSON.stringify(target)};
      const i = document.createElement('input'); i.name = 'reason'; i.value = 'x'; f.appendChild(i);
      const b = document.createElement('button'); b.id = 'go'; f.appendChild(b); document.body.appendChild(f);
    })()`);
    await Promise.all([page.waitForURL(target), page.click('#go')]);
    expect(JSON.parse((await page.textContent('body')) ?? '')).toMatchObject({ error: { code: 'CSRF' } });
    const still = await meterctlJson<SubscriptionRecord>([
      ...households(keystores.household, hh),
      'subscription',
      'show',
      subscriptionId,
    ]);
    expect(still.status).toBe('ACTIVE');
    expect(still.end).toBeUndefined();
    evil.close();
    await page.context().close();
  });

  it('no page hit a Content-Security-Policy violation or a script error, and no call was refused but the wallet probe', () => {
    expect(pageProblems).toEqual([]);
    // The household's pages ask whether the subscription is prepaid: NOT_FOUND says it is not.
    expect(
      refusedCalls.filter(
        (call) => !/^household 404 \/api\/subscriptions\/sub_[0-9a-f]{24}\/wallet$/.test(call),
      ),
    ).toEqual([]);
  });
});

/** Money as a household in the UK reads it (the pages format with en-GB): "£66.48". */
function moneyText(minor: number, currency: string): string {
  return new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(minor / 100);
}

/** The browser beforeAll launched (a failed launch fails every test with this, not a TypeError). */
function started(browser: Browser | undefined): Browser {
  if (!browser) throw new Error('Chromium did not start: see the first failure');
  return browser;
}

/** Reads until the value is accepted or 15 s have passed; the last value read goes to the test's expect. */
async function settled<T>(read: () => Promise<T>, accept: (value: T) => boolean): Promise<T | undefined> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read().catch(() => undefined);
    if ((value !== undefined && accept(value)) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A page's attribute once it has the value (pages render after their API calls answer). */
function attributeOf(
  locator: Locator,
  name: string,
  expected: string | RegExp,
): Promise<string | null | undefined> {
  return settled(
    () => locator.getAttribute(name, { timeout: 1000 }),
    (value) => value !== null && exactly(expected).test(value),
  );
}

function textOf(locator: Locator, expected: string): Promise<string | null | undefined> {
  return settled(
    () => locator.textContent({ timeout: 1000 }),
    (value) => value !== null && value.includes(expected),
  );
}

function exactly(expected: string | RegExp): RegExp {
  return typeof expected === 'string'
    ? new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
    : expected;
}

/** A distributor page's event stream, read until an event matches. */
async function openEvents(api: Api) {
  const controller = new AbortController();
  const response = await fetch(new URL('/api/events', api.portal.url), {
    headers: { authorization: `Bearer ${new URL(api.portal.loginUrl).hash.slice(7)}` },
    signal: controller.signal,
  });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let buffer = '';
  return {
    async next(match: (event: LedgerEvent) => boolean): Promise<LedgerEvent> {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the event stream ended');
        buffer += Buffer.from(value).toString('utf8');
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^event: ledger\ndata: (.*)$/m.exec(block)?.[1];
          if (data && match(JSON.parse(data) as LedgerEvent)) return JSON.parse(data) as LedgerEvent;
        }
      }
    },
    close: () => {
      controller.abort();
    },
  };
}
