import type { Page, ReadingRecord, SubscriptionRecord, BillRecord } from '@smartmeter/domain';
import { gatewayAs, type UserMsp } from '../../support/attacker';
import { evaluateJson, Gateways, isoSeconds, rejection } from '../../support/chaincode';
import {
  CHANNEL,
  HOUSEHOLDS,
  INTERVAL,
  issueBill,
  onboardHousehold,
  submitReadings,
  type OnboardedHousehold,
} from '../../support/household';
import { CHAINCODE } from '../../support/network';

/**
 * Issue 12, finding 2: the peer starts a paged range at the bookmark without checking that it lies in the
 * query's range, so GetReadings(own subscription, bookmark="\u0000bill\u0000") returned another household's
 * bill. Every paged call now refuses a bookmark outside its own key range. The attacks come from a plain
 * fabric-gateway client with the attacker's own certificate.
 */
const gateways = new Gateways();
const start = Math.floor(Date.now() / 1000 / 86_400) * 86_400 - 86_400;
let attacker: OnboardedHousehold;
let victim: OnboardedHousehold;
let victimBill: BillRecord;
afterAll(() => {
  gateways.closeAll();
});

beforeAll(async () => {
  attacker = await onboardHousehold(gateways, 'pga', start);
  victim = await onboardHousehold(gateways, 'pgv', start);
  for (const household of [attacker, victim])
    await submitReadings(gateways, household, start, 8, (n) => 300 + n);
  victimBill = await issueBill(gateways, victim, start, start + 8 * INTERVAL);
});

const attackerUser = (): UserMsp => ({
  org: HOUSEHOLDS,
  mspId: 'Distributor1HouseholdsMSP',
  name: attacker.subscriber,
});

describe('crafted bookmarks', () => {
  it.each([
    '\u0000bill\u0000',
    '\u0000subscription\u0000',
    '\u0000accessRequest\u0000',
    '\u0000sessionKey\u0000',
    'reading/',
    'zzzz',
  ])(
    'when a household pages its own readings from bookmark %j then it is INVALID_ARGUMENT and it learns nothing',
    async (bookmark) => {
      const connection = gateways.track(gatewayAs(attackerUser()));
      const measurement = connection.gateway.getNetwork(CHANNEL).getContract(CHAINCODE, 'Measurement');
      const refusal = await rejection(
        measurement.evaluateTransaction(
          'GetReadings',
          attacker.subscriptionId,
          isoSeconds(start),
          isoSeconds(start + 86_400),
          '10',
          bookmark,
        ),
      );
      expect(refusal).toMatch(/INVALID_ARGUMENT: bookmark does not belong to this query/);
      expect(refusal).not.toContain(victim.subscriptionId);
      expect(refusal).not.toContain(victimBill.billId);
    },
  );

  it('when the household pages with the bookmark its own query handed back then it gets its own readings only', async () => {
    const connection = gateways.track(gatewayAs(attackerUser()));
    const measurement = connection.gateway.getNetwork(CHANNEL).getContract(CHAINCODE, 'Measurement');
    const page = (bookmark: string) =>
      evaluateJson<Page<ReadingRecord>>(
        measurement,
        'GetReadings',
        attacker.subscriptionId,
        isoSeconds(start),
        isoSeconds(start + 86_400),
        '5',
        bookmark,
      );
    const first = await page('');
    const second = await page(first.bookmark);
    expect([...first.records, ...second.records].map((r) => r.subscriptionId)).toEqual(
      Array(8).fill(attacker.subscriptionId),
    );
    expect(second.bookmark).toBe('');
  });

  it.each([
    ['ListSubscriptions', 'Subscription', (b: string) => ['', '10', b]],
    ['ListSubscriptions', 'Subscription', (b: string) => ['ACTIVE', '10', b]],
    ['ListBills', 'Billing', (b: string) => ['10', b]],
    ['ListAccessRequests', 'PersonalData', (b: string) => ['10', b]],
  ])(
    'when an operator pages %s from a bookmark of another record type then it is INVALID_ARGUMENT',
    async (fn, contractName, args) => {
      const contract = gateways.contract('distributor1', CHANNEL, contractName);
      for (const bookmark of [
        '\u0000orgKey\u0000',
        '\u0000sessionKey\u0000',
        'reading/',
        '\u0000tariff\u0000',
      ]) {
        expect(await rejection(contract.evaluateTransaction(fn, ...args(bookmark)))).toMatch(
          /INVALID_ARGUMENT: bookmark does not belong to this query/,
        );
      }
      // Its own first page still works.
      const page = await evaluateJson<Page<SubscriptionRecord | BillRecord>>(contract, fn, ...args(''));
      expect(Array.isArray(page.records)).toBe(true);
    },
  );
});
