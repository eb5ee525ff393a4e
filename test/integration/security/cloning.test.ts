import type {
  AccessRequestRecord,
  Page,
  ReadingRecord,
  SubscriptionRecord,
  BillRecord,
} from '@smartmeter/domain';
import { newOrgKeyPair, PERSONAL_DATA_PADDED_BYTES, sealForRecipient } from '@smartmeter/crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enrollIdentity, registerIdentity } from '../../../client/src/identities';
import { Keystore } from '../../../client/src/keystore';
import { identityFiles } from '../../../client/src/profile';
import {
  certificateOf,
  channelHeight,
  gatewayAs,
  validTransactionsBy,
  type UserMsp,
} from '../../support/attacker';
import { evaluateJson, Gateways, isoSeconds, rejection, submitJson } from '../../support/chaincode';
import {
  AUTHORITY,
  CHANNEL,
  D1,
  enrollMeter,
  enrollSubscriber,
  HOUSEHOLDS,
  INTERVAL,
  issueBill,
  onboardHousehold,
  readingFor,
  submitReadings,
  type OnboardedHousehold,
} from '../../support/household';
import { meterctlJson } from '../../support/meterctl';
import { CHAINCODE, networkHome, profile } from '../../support/network';
import { openGateway, type GatewayConnection } from '../../../client/src/gateway';

/**
 * Issue 12, finding 7: a second certificate that the distributor's CA issued with household A's subscriberId
 * read A's bill and granted the distributor's own personal-data request: consent forged. A subscription is now
 * bound to the key of the certificate that requested it (and its meter to the key that paired); every household
 * action needs that key, and only that key can move the binding (RebindKey).
 */
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const HH_MSP = 'Distributor1HouseholdsMSP';
const gateways = new Gateways();
const start = Math.floor(Date.now() / 1000 / 86_400) * 86_400 - 86_400;
let household: OnboardedHousehold;
let bill: BillRecord;
let request: AccessRequestRecord;
const clone: UserMsp = { org: HOUSEHOLDS, mspId: HH_MSP, name: `clone-${run}` };
const meterClone: UserMsp = { org: HOUSEHOLDS, mspId: HH_MSP, name: `mclone-${run}` };
let distributorCaClone: GatewayConnection;
let distributorCaCloneCert = '';
afterAll(() => {
  gateways.closeAll();
});

beforeAll(async () => {
  household = await onboardHousehold(gateways, 'cln', start);
  await submitReadings(gateways, household, start, 6, (n) => 500 + n);
  bill = await issueBill(gateways, household, start, start + 6 * INTERVAL);
  // The distributor's own pending request for the household's personal data.
  request = await submitJson<AccessRequestRecord>(
    gateways.contract('distributor1', CHANNEL, 'PersonalData'),
    'RequestPersonalData',
    household.subscriptionId,
    'debt collection',
    newOrgKeyPair().publicKeyPem,
  );
  // What the distributor can do with the CAs it runs: the households CA issues a clone of the household and of
  // its meter (same ids, other keys) ...
  await enrollSubscriber(clone.name, household.subscriber);
  await enrollMeter(meterClone.name, household.meter);
  // ... and its own CA writes role=subscriber into a certificate of its own MSP.
  const d1 = profile('distributor1');
  const name = `d1clone-${run}`;
  const secret = await registerIdentity(
    { mspId: D1, ca: d1.ca, registrar: 'registrar' },
    identityFiles(d1, 'registrar'),
    {
      name,
      role: 'subscriber',
      subscriberId: household.subscriber,
    },
  );
  const keystore = new Keystore(mkdtempSync(join(tmpdir(), 'clone-')));
  const files = await enrollIdentity(d1, keystore, name, secret);
  distributorCaClone = gateways.track(openGateway(d1, { files }));
  distributorCaCloneCert = readFileSync(files.certPath, 'utf8');
});

const sealedForRequest = () =>
  sealForRecipient(
    Buffer.from('{"name":"forged"}'),
    request.requestPublicKeyPem,
    request.requestId,
    PERSONAL_DATA_PADDED_BYTES,
  );

async function state() {
  const operator = (name: string) => gateways.contract('distributor1', CHANNEL, name);
  return {
    subscription: await evaluateJson<SubscriptionRecord>(
      operator('Subscription'),
      'GetSubscription',
      household.subscriptionId,
    ),
    bill: await evaluateJson<BillRecord>(operator('Billing'), 'GetBill', bill.billId),
    request: await evaluateJson<AccessRequestRecord>(
      operator('PersonalData'),
      'GetAccessRequest',
      request.requestId,
    ),
  };
}

describe.each([
  [
    'a clone from the households CA (same subscriberId, another key)',
    () => gateways.track(gatewayAs(clone)).gateway,
    () => certificateOf(clone),
  ],
  [
    "a role=subscriber certificate from the distributor's own CA",
    () => distributorCaClone.gateway,
    () => distributorCaCloneCert,
  ],
])('%s', (_label, connect, certificate) => {
  it('when it grants, denies, disputes, ends, reads or rebinds then each is FORBIDDEN and nothing changes on the ledger', async () => {
    const before = await state();
    const auditor = gateways.gateway('authority');
    const fromHeight = await channelHeight(auditor, CHANNEL);
    const network = connect().getNetwork(CHANNEL);
    const contract = (name: string) => network.getContract(CHAINCODE, name);
    const attempts: [string, () => Promise<unknown>][] = [
      [
        'grant consent',
        () =>
          contract('PersonalData').submit('GrantPersonalData', {
            arguments: [request.requestId],
            transientData: { personalData: sealedForRequest() },
            endorsingOrganizations: [D1, AUTHORITY],
          }),
      ],
      ['deny', () => contract('PersonalData').submitTransaction('DenyPersonalData', request.requestId, 'no')],
      ['dispute the bill', () => contract('Billing').submitTransaction('DisputeBill', bill.billId, 'forged')],
      [
        'end the subscription',
        () =>
          contract('Subscription').submitTransaction(
            'EndSubscription',
            household.subscriptionId,
            'forged',
            '',
          ),
      ],
      ['read the bill', () => contract('Billing').evaluateTransaction('GetBill', bill.billId)],
      [
        'read the readings',
        () =>
          contract('Measurement').evaluateTransaction(
            'GetReadings',
            household.subscriptionId,
            isoSeconds(start),
            isoSeconds(start + 86_400),
            '10',
            '',
          ),
      ],
      [
        'rebind to itself',
        () =>
          contract('Subscription').submitTransaction(
            'RebindKey',
            household.subscriptionId,
            'subscriber',
            certificate(),
          ),
      ],
    ];
    for (const [what, attempt] of attempts) {
      const refusal = await rejection(attempt());
      expect({ what, refused: /FORBIDDEN/.test(refusal) }).toEqual({ what, refused: true });
    }
    const mine = await evaluateJson<SubscriptionRecord[]>(
      contract('Subscription'),
      'ListMySubscriptions',
    ).catch(() => []);
    expect(mine).toEqual([]);
    expect(await state()).toEqual(before);
    expect(before.request.status).toBe('PENDING');
    expect(await validTransactionsBy(auditor, CHANNEL, fromHeight, certificate())).toEqual([]);
  });
});

describe('meters', () => {
  it('when a clone of the paired meter submits a reading then it is FORBIDDEN and not stored', async () => {
    const auditor = gateways.gateway('authority');
    const fromHeight = await channelHeight(auditor, CHANNEL);
    const measurement = gateways
      .track(gatewayAs(meterClone))
      .gateway.getNetwork(CHANNEL)
      .getContract(CHAINCODE, 'Measurement');
    expect(
      await rejection(
        measurement.submitTransaction('SubmitReading', JSON.stringify(readingFor(household, start, 6, 999))),
      ),
    ).toMatch(
      new RegExp(`FORBIDDEN: meter ${household.meter} of ${HH_MSP} is not the meter of subscription`),
    );
    const readings = await evaluateJson<Page<ReadingRecord>>(
      gateways.contract('distributor1', CHANNEL, 'Measurement'),
      'GetReadings',
      household.subscriptionId,
      isoSeconds(start + 6 * INTERVAL),
      isoSeconds(start + 7 * INTERVAL),
      '10',
      '',
    );
    expect(readings.records).toEqual([]);
    expect(await validTransactionsBy(auditor, CHANNEL, fromHeight, certificateOf(meterClone))).toEqual([]);
  });

  it('when the household rebinds its meter to a replacement with meterctl then only the replacement reports', async () => {
    const replacement = `${household.meter}-new`;
    // The replacement meter is enrolled under its own name with the same meterId.
    await enrollMeter(replacement, household.meter);
    const replacementUser: UserMsp = { org: HOUSEHOLDS, mspId: HH_MSP, name: replacement };
    const certFile = join(
      networkHome,
      'orgs',
      HOUSEHOLDS,
      'users',
      replacement,
      'msp',
      'signcerts',
      'cert.pem',
    );
    const rebound = await meterctlJson<SubscriptionRecord>([
      '-p',
      join(networkHome, 'profiles', 'households1.json'),
      '-i',
      household.subscriber,
      'subscription',
      'rebind',
      household.subscriptionId,
      '--party',
      'meter',
      '--certificate',
      certFile,
    ]);
    expect(rebound.keyRebinds?.map((r) => r.party)).toEqual(['meter']);
    const old = gateways.contract(HOUSEHOLDS, CHANNEL, 'Measurement', household.meter);
    expect(
      await rejection(
        old.submitTransaction('SubmitReading', JSON.stringify(readingFor(household, start, 6, 1))),
      ),
    ).toMatch(/FORBIDDEN/);
    const fresh = gateways
      .track(gatewayAs(replacementUser))
      .gateway.getNetwork(CHANNEL)
      .getContract(CHAINCODE, 'Measurement');
    const stored = await submitJson<ReadingRecord>(
      fresh,
      'SubmitReading',
      JSON.stringify(readingFor(household, start, 6, 606)),
    );
    expect(stored).toMatchObject({ periodStart: isoSeconds(start + 6 * INTERVAL), sequence: 7 });
  });
});
