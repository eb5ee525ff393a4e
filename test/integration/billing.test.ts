import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BillRecord } from '@smartmeter/domain';
import { billDifferences, fetchBillEvidence, verifyEvidence } from '../../client/src/billVerify';
import { BillingClient } from '../../client/src/contracts/BillingClient';
import { MeasurementClient } from '../../client/src/contracts/MeasurementClient';
import { PricingClient } from '../../client/src/contracts/PricingClient';
import { SubscriptionClient } from '../../client/src/contracts/SubscriptionClient';
import { decodeJson, evaluateJson, Gateways, isoSeconds as iso, submitJson } from '../support/chaincode';
import {
  AUTHORITY,
  CHANNEL,
  D1,
  INTERVAL,
  onboardHousehold,
  readingFor,
  type OnboardedHousehold,
  HOUSEHOLDS,
} from '../support/household';
import { CHAINCODE, networkHome, repoDir } from '../support/network';
import { chaincodeChannel } from '../../client/src/contracts/invoke';

/** Issue 4 on the real network: a time-of-use tariff, a day of readings, a bill both peers compute. */
const execFileAsync = promisify(execFile);
const ENDORSEMENT_POLICY_FAILURE = 10;

const gateways = new Gateways();
const gateway = (org: string, identity?: string) => gateways.gateway(org, identity);
const contract = (org: string, name: string, identity?: string) =>
  gateways.contract(org, CHANNEL, name, identity);
afterAll(() => {
  gateways.closeAll();
});

describe('billing on northgrid', () => {
  const start = Math.floor(Date.now() / 1000 / 86_400) * 86_400 - 86_400; // yesterday 00:00 UTC
  const periods = 40;
  let household: OnboardedHousehold;
  let subscriptionId = '';
  let subscriber = '';
  let sessionKey: Buffer = Buffer.alloc(0);
  let billId = '';
  let lastBlock = 0n;

  beforeAll(async () => {
    household = await onboardHousehold(gateways, 'bill', start);
    ({ subscriptionId, subscriber, sessionKey } = household);
    const readings = Array.from({ length: periods }, (_, n) => readingFor(household, start, n, 150 + 7 * n));
    await submitJson(
      contract(HOUSEHOLDS, 'Measurement', household.meter),
      'SubmitReadings',
      JSON.stringify(readings),
    );
  });

  it('a bill endorsed by the distributor alone is invalidated at commit: the authority must agree', async () => {
    const proposal = contract('distributor1', 'Billing').newProposal('IssueBill', {
      arguments: [subscriptionId, iso(start), iso(start + 48 * INTERVAL)],
      transientData: { sessionKey },
      endorsingOrganizations: [D1],
    });
    const status = await (await (await proposal.endorse()).submit()).getStatus();
    expect(status.successful).toBe(false);
    expect(status.code).toBe(ENDORSEMENT_POLICY_FAILURE);
    const bills = await evaluateJson<BillRecord[]>(
      contract('distributor1', 'Billing'),
      'ListSubscriptionBills',
      subscriptionId,
    );
    expect(bills).toEqual([]);
  });

  it('the distributor issues the bill with the session key in transient data; both peers compute it', async () => {
    const bill = decodeJson<BillRecord>(
      await contract('distributor1', 'Billing').submit('IssueBill', {
        arguments: [subscriptionId, iso(start), iso(start + 48 * INTERVAL)],
        transientData: { sessionKey },
        endorsingOrganizations: [D1, AUTHORITY],
      }),
    );
    expect(bill).toMatchObject({
      status: 'ISSUED',
      readingCount: periods,
      expectedReadings: 48,
      currency: 'GBP',
    });
    expect(bill.missingPeriods).toHaveLength(8);
    expect(bill.lineItems.map((line) => line.label).sort()).toEqual(['off-peak', 'peak']);
    const expectedEnergy = Array.from({ length: periods }, (_, n) => 150 + 7 * n).reduce((a, b) => a + b, 0);
    expect(bill.energyWh).toBe(expectedEnergy);
    billId = bill.billId;
  });

  it('the household verifies the bill with its own key: OK; a tampered local copy shows the differing line', async () => {
    const channel = chaincodeChannel(gateway(HOUSEHOLDS, subscriber), CHANNEL, CHAINCODE);
    const evidence = await fetchBillEvidence(
      {
        billing: new BillingClient(channel),
        subscriptions: new SubscriptionClient(channel),
        measurements: new MeasurementClient(channel),
        pricing: new PricingClient(channel),
      },
      CHANNEL,
      billId,
    );
    expect(verifyEvidence(evidence, sessionKey)).toMatchObject({ ok: true, differences: [] });

    const tampered = structuredClone(evidence);
    tampered.bill.lineItems[0].amountMinor += 1;
    const verification = verifyEvidence(tampered, sessionKey);
    expect(verification.ok).toBe(false);
    expect(verification.differences).toEqual([
      `lineItems[0].amountMinor: bill ${evidence.bill.lineItems[0].amountMinor + 1}, recomputed ${evidence.bill.lineItems[0].amountMinor}`,
    ]);
    // The same check through the command line a household uses.
    const keyFile = join(mkdtempSync(join(tmpdir(), 'key-')), 'session.key');
    writeFileSync(keyFile, sessionKey.toString('hex'), { mode: 0o600 });
    const cli = await execFileAsync('node', [
      join(repoDir, 'client', 'dist', 'cli.js'),
      '--profile',
      join(networkHome, 'profiles', `${HOUSEHOLDS}.json`),
      '--identity',
      subscriber,
      'bill',
      'verify',
      billId,
      '--session-key-file',
      keyFile,
    ]);
    expect(cli.stdout).toBe(`OK: bill ${billId} matches the ledger\n`);
    expect(billDifferences(evidence.bill, { ...verification.recomputed, totalMinor: 0 })).toEqual([
      `totalMinor: bill ${evidence.bill.totalMinor}, recomputed 0`,
    ]);
  });

  it('the household disputes, the operator resolves, the payment is recorded', async () => {
    await submitJson(
      contract(HOUSEHOLDS, 'Billing', subscriber),
      'DisputeBill',
      billId,
      'peak line looks high',
    );
    await submitJson(
      contract('distributor1', 'Billing'),
      'ResolveDispute',
      billId,
      'REJECTED',
      'readings confirmed',
    );
    const bill = JSON.parse(
      new TextDecoder().decode(await contract('authority', 'Billing').evaluateTransaction('GetBill', billId)),
    ) as BillRecord;
    const network = gateway('distributor1').getNetwork(CHANNEL);
    const commit = await (
      await network
        .getContract(CHAINCODE, 'Billing')
        .newProposal('RecordPayment', {
          arguments: [billId, String(bill.totalMinor), `PAY-${household.tariffId}`],
        })
        .endorse()
    ).submit();
    const status = await commit.getStatus();
    expect(status.successful).toBe(true);
    lastBlock = status.blockNumber;
    const paid = JSON.parse(
      new TextDecoder().decode(
        await contract(HOUSEHOLDS, 'Billing', subscriber).evaluateTransaction('GetBill', billId),
      ),
    ) as BillRecord;
    expect(paid).toMatchObject({
      status: 'PAID',
      resolution: { outcome: 'REJECTED' },
      payment: { amountMinor: bill.totalMinor },
    });
  });

  it('the session key appears in no block of northgrid', async () => {
    const forms = [
      sessionKey,
      Buffer.from(sessionKey.toString('hex')),
      Buffer.from(sessionKey.toString('base64')),
    ];
    const blocks = await gateway('authority').getNetwork(CHANNEL).getBlockEvents({ startBlock: 0n });
    let scanned = 0;
    let sawBill = false;
    try {
      for await (const block of blocks) {
        const bytes = Buffer.from(block.serializeBinary());
        for (const form of forms) expect(bytes.includes(form)).toBe(false);
        sawBill ||= bytes.includes(Buffer.from(billId));
        scanned += 1;
        if (block.getHeader()?.getNumber() === Number(lastBlock)) break;
      }
    } finally {
      blocks.close();
    }
    expect(scanned).toBe(Number(lastBlock) + 1);
    expect(sawBill).toBe(true);
  });
});
