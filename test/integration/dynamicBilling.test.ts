import { billReportSha256, packBillReport, sealBillReport } from '@smartmeter/crypto';
import {
  buildBillReportDocument,
  computeAggregateBill,
  policyPrice,
  roundHalfUp,
  type BillRecord,
  type BillReportDocument,
  type PricePolicyDefinition,
  type PriceSignalRecord,
  type SubscriptionRecord,
  type WalletRecord,
} from '@smartmeter/domain';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderAggregateBillReport } from '../../client/src/aggregateBillReport';
import { fetchAggregateEvidence } from '../../client/src/aggregateBilling';
import { AggregationClient } from '../../client/src/contracts/AggregationClient';
import { BillingClient, type AggregateBillClaim } from '../../client/src/contracts/BillingClient';
import { chaincodeChannel } from '../../client/src/contracts/invoke';
import { PricingClient } from '../../client/src/contracts/PricingClient';
import { PrepaidClient, type AggregateSettlementClaim } from '../../client/src/contracts/PrepaidClient';
import type { SettleRow } from '../../client/src/prepaidSettlement';
import { SubscriptionClient } from '../../client/src/contracts/SubscriptionClient';
import { IpfsClient } from '../../client/src/ipfs';
import { Keystore, writeSecretFile } from '../../client/src/keystore';
import { buildPairBundle } from '../../client/src/pairBundle';
import { HouseholdSource } from '../../meter-sim/src/sources/household';
import { CHAINCODE, Gateways, isoSeconds as iso, rejection } from '../support/chaincode';
import { CHANNEL, D1, HOUSEHOLDS, enrollMeter, enrollSubscriber } from '../support/household';
import { meterctl, meterctlJson } from '../support/meterctl';
import { MeterSimProcess } from '../support/meterSim';
import { eventually, networkHome, profile } from '../support/network';

/**
 * Issue 17 on the real network: six households in `aggregate` mode, one region, yesterday's 96 rounds sent by
 * meter-sim over MQTT to the aggregator `up` started; the authority's price policy prices every round on chain
 * from its load; the distributor bills each household from its shares and pins its sealed report on the real
 * Kubo node; each household fetches, checks and opens its report and verifies its bill with its own key.
 */
const PERIOD = 900;
const DAY = 86_400;
const HOUSEHOLD_COUNT = 6;
/** This household's bill is recorded by a dishonest distributor in its own test. */
const DISHONEST = 4;
/** The last household's meter stops two periods early: those periods are missing on its bill. */
const FAULTY_PERIODS = 94;

const run = `${Date.now().toString(36).slice(-5)}${randomBytes(2).toString('hex')}`;
const REGION = `north/dyn${run}`;
const dayStart = Math.floor(Date.now() / 1000 / DAY) * DAY - DAY;
const day = iso(dayStart).slice(0, 10);
const periodStart = (k: number) => dayStart + k * PERIOD;

const gateways = new Gateways();
const work = mkdtempSync(join(tmpdir(), 'dynamic-billing-it-'));
const distributorKeystore = join(work, 'distributor1');
const profilePath = (org: string) => join(networkHome, 'profiles', `${org}.json`);
const d1 = ['-p', profilePath('distributor1'), '--keystore', distributorKeystore];
const authority = ['-p', profilePath('authority'), '-c', CHANNEL];
const brokerCa = join(networkHome, 'orgs', 'distributor1', 'msp', 'cacerts', 'ca.pem');
const ipfsUrl = profile('distributor1').ipfsApiUrl as string;
const running: MeterSimProcess[] = [];

const tariff = {
  tariffId: `dyn${run}`,
  effectiveFrom: iso(dayStart),
  currency: 'GBP',
  utcOffsetMinutes: 0,
  standingChargeMicroPerDay: 45_000_000,
  taxBasisPoints: 500,
  pricing: { kind: 'dynamic', basePriceMicroPerKwh: 24_000_000 },
  feedbackThresholdWhPerDay: 9_000,
};
const policy: PricePolicyDefinition = {
  regionCode: REGION,
  effectiveFrom: iso(dayStart),
  bands: [
    { fromW: 0, toW: 3_000, basePriceMicroPerKwh: 15_000_000, slopeMicroPerKwhPerKw: 0 },
    { fromW: 3_000, toW: null, basePriceMicroPerKwh: 18_000_000, slopeMicroPerKwhPerKw: 2_000_000 },
  ],
  floorMicroPerKwh: 15_000_000,
  capMicroPerKwh: 60_000_000,
};

interface Household {
  name: string;
  meterId: string;
  keystore: string;
  subscriptionId: string;
  sessionKey: Buffer;
  billId?: string;
}
const households: Household[] = [];
const asHousehold = (h: Household) => ['-p', profilePath(HOUSEHOLDS), '-i', h.name, '--keystore', h.keystore];

function generated(meterId: string, k: number): number {
  return new HouseholdSource({ seed: meterId, utility: 'electricity', utcOffsetMinutes: 0 }).measure(
    periodStart(k),
    PERIOD,
  ).quantity;
}

const channelOf = (org: string, identity?: string) =>
  chaincodeChannel(gateways.gateway(org, identity), CHANNEL, CHAINCODE);

async function onboard(): Promise<void> {
  await meterctlJson([...d1, 'keys', 'publish', '--rotate']);
  const tariffFile = join(work, 'tariff.json');
  writeFileSync(tariffFile, JSON.stringify(tariff));
  await meterctlJson([...d1, 'tariff', 'publish', tariffFile]);
  for (let i = 0; i < HOUSEHOLD_COUNT; i++) {
    const household = {
      name: `dyn${run}-hh${i}`,
      meterId: `dyn${run}-m${i}`,
      keystore: join(work, `hh${i}`),
    };
    await enrollSubscriber(household.name);
    await enrollMeter(household.meterId);
    await meterctlJson([...asHousehold(household as Household), 'keys', 'new', 'home']);
    const requested = await meterctlJson<SubscriptionRecord>([
      ...asHousehold(household as Household),
      'subscription',
      'request',
      '--meter',
      household.meterId,
      '--key',
      'home',
      '--privacy-mode',
      'aggregate',
    ]);
    await meterctlJson([
      ...d1,
      'subscription',
      'approve',
      requested.subscriptionId,
      '--tariff',
      tariff.tariffId,
      '--region',
      REGION,
      '--interval',
      String(PERIOD),
      '--start',
      iso(dayStart),
    ]);
    households.push({
      ...household,
      subscriptionId: requested.subscriptionId,
      sessionKey: new Keystore(household.keystore).sessionKeyBytes('home'),
    });
  }
}

function writeBundles(dir: string, list: Household[]): void {
  const households1 = profile(HOUSEHOLDS);
  for (const household of list) {
    const bundle = buildPairBundle({
      profile: households1,
      channel: CHANNEL,
      subscriptionId: household.subscriptionId,
      meterId: household.meterId,
      meterIdentity: households1.identities[household.meterId],
      sessionKey: household.sessionKey,
      privacyMode: 'aggregate',
    });
    writeSecretFile(join(dir, `${household.meterId}.json`), JSON.stringify(bundle));
  }
}

function meterSim(bundleDir: string, stateDir: string, until: number): MeterSimProcess {
  const child = new MeterSimProcess([
    ...['--bundle-dir', bundleDir, '--state-dir', stateDir, '--from', iso(dayStart), '--until', iso(until)],
    ...['--speed', '1000000', '--mqtt-url', 'mqtts://127.0.0.1:8883', '--mqtt-ca', brokerCa],
  ]);
  running.push(child);
  return child;
}

const billsOf = (h: Household) =>
  new BillingClient(channelOf('distributor1')).forSubscription(h.subscriptionId);

/** The lines of "the transient fields this endorser got" the chaincode servers log (chaincode/src/baseContract.ts). */
function transientAudit(org: string): { txId: string; fcn: string; transientFields: string[] }[] {
  return readFileSync(join(networkHome, 'logs', `cc.${org}.log`), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{"audit":"transient"'))
    .map((line) => JSON.parse(line) as { txId: string; fcn: string; transientFields: string[] });
}

/** The bill the distributor would record for a household's day, computed here from the ledger's shares. */
async function genuineClaimWithEvidence(household: Household) {
  const subscription = await new SubscriptionClient(channelOf('distributor1')).get(household.subscriptionId);
  const clients = {
    aggregation: new AggregationClient(channelOf('distributor1')),
    pricing: new PricingClient(channelOf('distributor1')),
  };
  const evidence = await fetchAggregateEvidence(
    clients,
    subscription,
    household.sessionKey,
    iso(dayStart),
    iso(dayStart + DAY),
  );
  const bill = computeAggregateBill(household.sessionKey, evidence);
  const claim: AggregateBillClaim = {
    subscriptionId: household.subscriptionId,
    periodFrom: iso(dayStart),
    periodTo: iso(dayStart + DAY),
    computation: bill.ledger,
    aggregate: {
      sharesDigest: bill.ledger.readingsDigest,
      report: { cid: `bafkrei${'a'.repeat(52)}`, sha256: '0'.repeat(64), bytes: 262_144 },
    },
  };
  return { claim, bill, evidence };
}

async function genuineClaim(household: Household): Promise<AggregateBillClaim> {
  return (await genuineClaimWithEvidence(household)).claim;
}

/** An HTTP proxy in front of Kubo that returns other bytes for `cat`: an IPFS node (or path) that lies. */
function lyingIpfs(replace: (bytes: Buffer) => Buffer): Promise<{ url: string; server: Server }> {
  const upstream = new URL(ipfsUrl);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (c: Buffer) => body.push(c));
          answer.on('end', () => {
            const bytes = Buffer.concat(body);
            const out =
              req.url?.startsWith('/api/v0/cat') && answer.statusCode === 200 ? replace(bytes) : bytes;
            res.writeHead(answer.statusCode ?? 500, { 'content-type': answer.headers['content-type'] ?? '' });
            res.end(out);
          });
        },
      );
      forward.end(Buffer.concat(chunks));
    });
  });
  // The household calls the proxy with its own (reader) credentials, which the proxy passes on to Kubo.
  const reader = new URL(profile(HOUSEHOLDS).ipfsApiUrl as string);
  const credentials = reader.username ? `${reader.username}:${reader.password}@` : '';
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      resolve({ url: `http://${credentials}127.0.0.1:${address.port}`, server });
    }),
  );
}

describe('dynamic prices and bills from pseudonymous shares, reports on IPFS (northgrid)', () => {
  beforeAll(async () => {
    await onboard();
  }, 400_000);

  afterAll(() => {
    for (const child of running) child.kill('SIGKILL');
    gateways.closeAll();
  });

  it('a bad price policy, or one from a distributor, is refused and nothing is stored', async () => {
    const gap = { ...policy, bands: [policy.bands[0], { ...policy.bands[1], fromW: 3_500 }] };
    const file = join(work, 'gap.json');
    writeFileSync(file, JSON.stringify(gap));
    const refused = await meterctl([...authority, 'price-policy', 'publish', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/bands\[1\]\.fromW: a gap from 3000 W to 3500 W/);
    const pricing = new PricingClient(channelOf('distributor1'));
    expect(await rejection(pricing.publishPolicy(JSON.stringify(policy)))).toMatch(
      /FORBIDDEN: price policies come from the authority's auditor/,
    );
    const negative = { ...policy, floorMicroPerKwh: -1 };
    expect(
      await rejection(new PricingClient(channelOf('authority')).publishPolicy(JSON.stringify(negative))),
    ).toMatch(/INVALID_ARGUMENT: .*floorMicroPerKwh: must be a whole number/);
    expect(await pricing.policyHistory(REGION)).toEqual([]);
  }, 60_000);

  it('the authority publishes the policy; the distributor publishes the filters; a bill before the rounds close is refused', async () => {
    const file = join(work, 'policy.json');
    writeFileSync(file, JSON.stringify(policy));
    const published = await meterctlJson<{ version: number }>([
      ...authority,
      'price-policy',
      'publish',
      file,
    ]);
    expect(published.version).toBe(1);
    await meterctlJson([...d1, 'grid', 'publish-filters', '--region', REGION, '--day', day]);
    const early = await meterctl([
      ...d1,
      'bill',
      'issue',
      households[0].subscriptionId,
      '--from',
      iso(dayStart),
      '--to',
      iso(dayStart + DAY),
    ]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/ROUNDS_NOT_CLOSED: .* 96 are open or FAULT/);
    expect(await billsOf(households[0])).toEqual([]);
    // The chaincode refuses it as well, whatever the client checks: a genuine claim while the rounds are open.
    const claim = await genuineClaim(households[0]);
    expect(await rejection(new BillingClient(channelOf('distributor1')).recordAggregate(claim))).toMatch(
      /CONFLICT: the rounds of .* are not all final for this bill \(from the 1st of its month\): 96 of them/,
    );
    expect(await billsOf(households[0])).toEqual([]);
  }, 120_000);

  it('meter-sim sends the day; every closed round is priced on chain by the policy from its load', async () => {
    writeBundles(join(work, 'bundles'), households.slice(0, HOUSEHOLD_COUNT - 1));
    writeBundles(join(work, 'faulty'), households.slice(HOUSEHOLD_COUNT - 1));
    const healthy = meterSim(join(work, 'bundles'), join(work, 'state'), dayStart + DAY);
    const faulty = meterSim(join(work, 'faulty'), join(work, 'faulty-state'), periodStart(FAULTY_PERIODS));
    expect((await healthy.exited).code).toBe(0);
    expect((await faulty.exited).code).toBe(0);
    const aggregation = new AggregationClient(channelOf('authority'));
    await eventually(
      () => aggregation.rounds(REGION, iso(dayStart), iso(dayStart + DAY)),
      (closed) => closed.length === DAY / PERIOD,
      360_000,
      'all rounds of the day closing',
    );
    await meterctlJson([...d1, 'grid', 'faults', '--region', REGION, '--day', day]);
    const rounds = await aggregation.rounds(REGION, iso(dayStart), iso(dayStart + DAY));
    const signals = await meterctlJson<PriceSignalRecord[]>([
      ...authority,
      'price-signal',
      'show',
      '--region',
      REGION,
      '--from',
      iso(dayStart),
      '--to',
      iso(dayStart + DAY),
    ]);
    expect(signals).toHaveLength(DAY / PERIOD);
    const prices = new Set<number>();
    for (const [k, round] of rounds.entries()) {
      const signal = signals[k];
      expect(signal.periodStart).toBe(round.periodStart);
      expect(signal.source).toBe('policy');
      expect(signal.policy?.loadWh).toBe(round.load);
      expect(signal.priceMicroPerKwh).toBe(policyPrice(policy, BigInt(round.load as string), PERIOD));
      prices.add(signal.priceMicroPerKwh);
    }
    // The regional load moves through the day, so do the prices: many distinct ones.
    expect(prices.size).toBeGreaterThan(10);
  }, 600_000);

  it('prepaid aggregate households: settled from their shares (no session key to any peer), verified by the household with its own key', async () => {
    const [first, second] = households;
    const distributor = new PrepaidClient(channelOf('distributor1'));
    for (const [i, household] of [first, second].entries()) {
      await meterctlJson([...d1, 'wallet', 'open', household.subscriptionId, '--emergency-credit', '5.00']);
      await meterctlJson([
        ...d1,
        ...[
          'wallet',
          'top-up',
          household.subscriptionId,
          '--amount',
          '20.00',
          '--reference',
          `DYN-${run}-${i}`,
        ],
      ]);
    }
    const authorityLogBefore = transientAudit('authority').length;
    // One wallet settled by hand for the first half of the day, then the operator's pass settles the rest.
    const half = await meterctlJson<WalletRecord>([
      ...d1,
      ...['wallet', 'settle', first.subscriptionId, '--to', iso(dayStart + DAY / 2)],
    ]);
    expect(half.settledUntil).toBe(iso(dayStart + DAY / 2));
    const pass = await meterctl([
      ...d1,
      '--json',
      ...['wallet', 'settle', '--all', '--distributor', D1, '--to', iso(dayStart + DAY)],
    ]);
    const rows = JSON.parse(pass.stdout) as SettleRow[];
    const rowOf = (h: Household) => rows.find((r) => r.subscriptionId === h.subscriptionId);
    expect(rowOf(first)).toMatchObject({
      outcome: 'settled',
      periodFrom: iso(dayStart + DAY / 2),
      periodTo: iso(dayStart + DAY),
    });
    expect(rowOf(second)).toMatchObject({
      outcome: 'settled',
      periodFrom: iso(dayStart),
      periodTo: iso(dayStart + DAY),
    });

    // Independently: the day's cost from the ledger's shares and this household's key; the settlements add up to it.
    for (const household of [first, second]) {
      const { bill } = await genuineClaimWithEvidence(household);
      const settlements = await distributor.settlements(household.subscriptionId);
      expect(settlements.every((x) => x.source === 'shares' && x.costFrom === iso(dayStart))).toBe(true);
      expect(settlements.reduce((sum, x) => sum + x.amountMinor, 0)).toBe(bill.ledger.totalMinor);
      expect(settlements.at(-1)?.costMinor).toBe(bill.ledger.totalMinor);
      const shown = await meterctlJson<WalletRecord>([
        ...asHousehold(household),
        'wallet',
        'show',
        household.subscriptionId,
      ]);
      expect(shown.balanceMinor).toBe(2000 - bill.ledger.totalMinor);
      const verified = await meterctl([
        ...asHousehold(household),
        'wallet',
        'verify',
        household.subscriptionId,
      ]);
      expect(verified.code).toBe(0);
      expect(verified.stdout).toContain(`${settlements.length} settlements verified, 0 mismatches`);
    }
    // The endorsers got no transient data for any of these settlements.
    const audited = transientAudit('authority').slice(authorityLogBefore);
    const settled = audited.filter((line) => line.fcn === 'Prepaid:SettleAggregate');
    expect(settled.length).toBeGreaterThanOrEqual(3);
    expect(settled.every((line) => line.transientFields.length === 0)).toBe(true);
    expect(audited.some((line) => line.transientFields.includes('sessionKey'))).toBe(false);
  }, 300_000);

  it('a dishonest distributor’s settlement: a forged claim, the household’s own identity, or a session key sent along are refused and change nothing; an inflated but consistent claim is caught by wallet verify', async () => {
    const household = households[DISHONEST];
    await meterctlJson([...d1, 'wallet', 'open', household.subscriptionId, '--emergency-credit', '0.00']);
    await meterctlJson([
      ...d1,
      ...['wallet', 'top-up', household.subscriptionId, '--amount', '20.00', '--reference', `DYN-${run}-x`],
    ]);
    const distributor = new PrepaidClient(channelOf('distributor1'));
    const before = await distributor.wallet(household.subscriptionId);
    const { bill, evidence } = await genuineClaimWithEvidence(household);
    const honest: AggregateSettlementClaim = { costFrom: iso(dayStart), computation: bill.ledger };
    const to = iso(dayStart + DAY);

    const sloppy = {
      ...honest,
      computation: { ...honest.computation, totalMinor: honest.computation.totalMinor + 1 },
    };
    expect(await rejection(distributor.settleAggregate(household.subscriptionId, to, sloppy))).toMatch(
      /INVALID_ARGUMENT: the settlement claim is refused: .*totalMinor/,
    );
    const wrongStart = { ...honest, costFrom: iso(dayStart + PERIOD) };
    expect(await rejection(distributor.settleAggregate(household.subscriptionId, to, wrongStart))).toMatch(
      new RegExp(`INVALID_ARGUMENT: claim.costFrom must be ${iso(dayStart)}`),
    );
    // The household's own identity, over a raw gateway connection.
    const asItself = new PrepaidClient(channelOf(HOUSEHOLDS, household.name));
    expect(await rejection(asItself.settleAggregate(household.subscriptionId, to, honest))).toMatch(
      /FORBIDDEN: SettleAggregate needs an operator of Distributor1MSP/,
    );
    // The disclosed path with the session key as transient data: refused, the key is not wanted.
    const settleWithKey = distributor.settle(household.subscriptionId, to, household.sessionKey, [
      D1,
      'AuthorityMSP',
    ]);
    expect(await rejection(settleWithKey)).toMatch(
      /CONFLICT: .* is an aggregate subscription: it is settled from its shares/,
    );
    expect(await distributor.wallet(household.subscriptionId)).toEqual(before);
    expect(await distributor.settlements(household.subscriptionId)).toEqual([]);

    // Consistent sums, but 1,000 Wh more in one period than the shares say: the endorsers cannot tell…
    const inflated = computeAggregateBill(household.sessionKey, {
      ...evidence,
      shares: evidence.shares.map((share, i) =>
        i === 0 ? { ...share, value: String(BigInt(share.value) + 1000n) } : share,
      ),
    });
    expect(inflated.ledger.totalMinor).toBeGreaterThan(bill.ledger.totalMinor);
    const debited = await distributor.settleAggregate(household.subscriptionId, to, {
      costFrom: iso(dayStart),
      computation: inflated.ledger,
    });
    expect(debited.balanceMinor).toBe(2000 - inflated.ledger.totalMinor);
    // …the household can: its recomputation from the same shares differs, and it says by how much.
    const verify = await meterctl([...asHousehold(household), 'wallet', 'verify', household.subscriptionId]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^MISMATCH/m);
    expect(verify.stdout).toContain(
      `costMinor: settled ${inflated.ledger.totalMinor}, recomputed ${bill.ledger.totalMinor}`,
    );
    expect(verify.stdout).toContain('1 settlements verified, 1 mismatches');
  }, 180_000);

  it('an IPFS node that is down: bill issue exits 3 and records nothing', async () => {
    const household = households[0];
    const before = await billsOf(household);
    const result = await meterctl([
      ...d1,
      'bill',
      'issue',
      household.subscriptionId,
      '--from',
      iso(dayStart + DAY - 3600),
      '--to',
      iso(dayStart + DAY),
      '--ipfs-url',
      'http://127.0.0.1:9',
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/IPFS/);
    expect(await billsOf(household)).toEqual(before);
  }, 60_000);

  it('the distributor bills each household from its shares; the ledger holds only totals and the report CID and hash', async () => {
    const authorityLogBefore = transientAudit('authority').length;
    for (const household of households.filter((_, i) => i !== DISHONEST)) {
      const bill = await meterctlJson<BillRecord>([
        ...d1,
        'bill',
        'issue',
        household.subscriptionId,
        '--from',
        iso(dayStart),
        '--to',
        iso(dayStart + DAY),
      ]);
      household.billId = bill.billId;
      // The two prepaid households' settlements paid the whole day already.
      if (household === households[0] || household === households[1])
        expect(bill.prepaid).toEqual({
          settlements: household === households[0] ? 2 : 1,
          settledMinor: bill.totalMinor,
          dueMinor: 0,
        });
      else expect(bill.prepaid).toBeUndefined();
      expect(bill.aggregate?.report.cid).toMatch(/^b[a-z2-7]{58,}$/);
      expect(bill.aggregate?.sharesDigest).toBe(bill.readingsDigest);
      expect(bill.lineItems.map((line) => line.label)).toEqual(['dynamic (average)']);
      expect(bill.expectedReadings).toBe(DAY / PERIOD);
      const faulty = household === households[HOUSEHOLD_COUNT - 1];
      expect(bill.readingCount).toBe(faulty ? FAULTY_PERIODS : DAY / PERIOD);
      expect(bill.missingPeriods).toEqual(faulty ? [iso(periodStart(94)), iso(periodStart(95))] : []);
      expect(bill.estimatedReadings).toBe(0);

      // Independently: c_k from the meter's generator, p_k from the on-chain signals, the stated rounding.
      const signals = await new PricingClient(channelOf('authority')).signals(
        REGION,
        iso(dayStart),
        iso(dayStart + DAY),
      );
      let exact = 0n;
      let energy = 0;
      for (let k = 0; k < (faulty ? FAULTY_PERIODS : DAY / PERIOD); k++) {
        const c = generated(household.meterId, k);
        energy += c;
        exact += BigInt(c) * BigInt(signals[k].priceMicroPerKwh);
      }
      // The signal-priced energy is one running total: Σ c_k × p_k, rounded half up to a penny once.
      const energyMinor = roundHalfUp(exact, 1_000_000_000n);
      const standingMinor = roundHalfUp(45_000_000n * BigInt(DAY), 86_400n * 1_000_000n);
      const taxMinor = roundHalfUp(BigInt(energyMinor + standingMinor) * 500n, 10_000n);
      expect(bill.energyWh).toBe(energy);
      expect(bill.lineItems[0].amountMinor).toBe(energyMinor);
      expect(bill.standingCharge.amountMinor).toBe(standingMinor);
      expect(bill.taxMinor).toBe(taxMinor);
      expect(bill.totalMinor).toBe(energyMinor + standingMinor + taxMinor);
    }
    // Both peers were given no transient data for these transactions: the session keys stayed with the distributor.
    const audited = transientAudit('authority').slice(authorityLogBefore);
    const recorded = audited.filter((line) => line.fcn === 'Billing:RecordAggregateBill');
    expect(recorded.length).toBeGreaterThanOrEqual(HOUSEHOLD_COUNT - 1);
    expect(recorded.every((line) => line.transientFields.length === 0)).toBe(true);
    expect(audited.some((line) => line.transientFields.includes('sessionKey'))).toBe(false);
  }, 300_000);

  it('each household fetches its report from Kubo, the hash and CID match, it opens, and bill verify says OK', async () => {
    const kubo = new IpfsClient(ipfsUrl);
    for (const household of households.filter((_, i) => i !== DISHONEST)) {
      const bill = await new BillingClient(channelOf('distributor1')).get(household.billId as string);
      const sealed = await kubo.cat(bill.aggregate?.report.cid as string, 32 * 1024 * 1024);
      expect(createHash('sha256').update(sealed).digest('hex')).toBe(bill.aggregate?.report.sha256);
      expect(await kubo.isPinned(bill.aggregate?.report.cid as string)).toBe(true);

      const html = join(work, `${household.name}.html`);
      const json = join(work, `${household.name}.json`);
      const fetched = await meterctl([
        ...asHousehold(household),
        'bill',
        'fetch',
        household.billId as string,
        '--out',
        html,
        '--json-out',
        json,
      ]);
      expect(fetched.code).toBe(0);
      expect(fetched.stdout).toContain(
        `its SHA-256 and CID match the ledger), total ${(bill.totalMinor / 100).toFixed(2)} GBP`,
      );
      const document = JSON.parse(readFileSync(json, 'utf8')) as BillReportDocument;
      expect(document.bill.totalMinor).toBe(bill.totalMinor);
      expect(document.periods).toHaveLength(DAY / PERIOD);
      expect(document.periods[10].energyWh).toBe(generated(household.meterId, 10));
      expect(document.feedback?.thresholdWhPerDay).toBe(9_000);
      const page = readFileSync(html, 'utf8');
      expect(page).toContain((bill.totalMinor / 100).toFixed(2));
      expect(page).not.toMatch(/<script/i);

      const verified = await meterctl([
        ...asHousehold(household),
        'bill',
        'verify',
        household.billId as string,
      ]);
      expect(verified.stdout).toMatch(/^OK: bill \S+ matches the ledger/);
      expect(verified.stdout).toMatch(/sealed report was fetched from IPFS, its SHA-256 and CID match/);
      expect(verified.code).toBe(0);
    }
  }, 300_000);

  it('a report altered on its way from IPFS is refused, and nothing is written', async () => {
    const household = households[0];
    const flipped = await lyingIpfs((bytes) => {
      const copy = Buffer.from(bytes);
      copy[copy.length - 1] ^= 1;
      return copy;
    });
    try {
      const out = join(work, 'tampered.html');
      const result = await meterctl([
        ...asHousehold(household),
        'bill',
        'fetch',
        household.billId as string,
        '--out',
        out,
        '--ipfs-url',
        flipped.url,
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/REPORT_HASH_MISMATCH/);
      expect(() => readFileSync(out)).toThrow();
      const verify = await meterctl([
        ...asHousehold(household),
        'bill',
        'verify',
        household.billId as string,
        '--ipfs-url',
        flipped.url,
      ]);
      expect(verify.code).toBe(1);
      expect(verify.stdout).toMatch(/MISMATCH[\s\S]*report: REPORT_HASH_MISMATCH/);
    } finally {
      flipped.server.close();
    }
  }, 120_000);

  it('a dishonest distributor: a claim that does not add up is refused; a report that differs from the shares is caught by bill verify', async () => {
    const household = households[DISHONEST];
    const billing = new BillingClient(channelOf('distributor1'));
    const { claim, bill, evidence } = await genuineClaimWithEvidence(household);
    const sloppy = {
      ...claim,
      computation: { ...claim.computation, totalMinor: claim.computation.totalMinor + 1 },
    };
    expect(await rejection(billing.recordAggregate(sloppy))).toMatch(
      /INVALID_ARGUMENT: .*totalMinor: .*not subtotal \+ tax/,
    );
    expect(await billsOf(household)).toEqual([]);

    // Genuine totals, but a report that claims 50 Wh more in period 7 than the shares say.
    const subscription = await new SubscriptionClient(channelOf('distributor1')).get(
      household.subscriptionId,
    );
    const document = buildBillReportDocument(bill, evidence, {
      channel: CHANNEL,
      subscriptionId: household.subscriptionId,
      meterId: household.meterId,
      regionCode: REGION,
      distributorMspId: D1,
      generatedAt: iso(Math.floor(Date.now() / 1000)),
    });
    const genuine = document.periods[7].energyWh as number;
    document.periods[7] = { ...document.periods[7], energyWh: genuine + 50 };
    const sealed = sealBillReport(
      packBillReport({ document, html: renderAggregateBillReport(document) }),
      subscription.householdPublicKeyPem as string,
      {
        channel: CHANNEL,
        subscriptionId: household.subscriptionId,
        periodFrom: iso(dayStart),
        periodTo: iso(dayStart + DAY),
      },
    );
    const stored = await new IpfsClient(ipfsUrl).add(sealed);
    const recorded = await billing.recordAggregate({
      ...claim,
      aggregate: {
        ...claim.aggregate,
        report: { cid: stored.cid, sha256: billReportSha256(sealed), bytes: sealed.length },
      },
    });
    const verify = await meterctl([...asHousehold(household), 'bill', 'verify', recorded.billId]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(
      `report.periods[7].energyWh: report ${genuine + 50}, recomputed ${genuine}`,
    );
    expect(verify.stdout).not.toMatch(/ledger\./);
  }, 180_000);
});
