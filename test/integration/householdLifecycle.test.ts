import {
  decryptReading,
  encryptReading,
  keyIdOf,
  newOrgKeyPair,
  newSessionKey,
  openSealed,
  pairingProof,
  PERSONAL_DATA_PADDED_BYTES,
  sealForRecipient,
  unwrapSessionKey,
  type OrgKeyPair,
  type ReadingSlot,
} from '@smartmeter/crypto';
import { randomBytes } from 'node:crypto';
import type {
  AccessRequestRecord,
  OrgKeyRecord,
  Page,
  PersonalDataDelivery,
  ReadingRecord,
  SubscriptionRecord,
} from '@smartmeter/domain';
import { openGateway } from '../../client/src/gateway';
import { buildSubscriptionRequest } from '../../client/src/subscriptionRequest';
import { decodeJson, evaluateJson, Gateways, isoSeconds, rejection, submitJson } from '../support/chaincode';
import { CHAINCODE, profile, testNetwork } from '../support/network';

/**
 * The household story of issue 3 on the real network: CA-issued identities whose role, subscriberId and
 * meterId attributes come from their certificates, both endorsing peers, BFT ordering and a private data
 * collection.
 */
const CHANNEL = 'northgrid';
const D1 = 'Distributor1MSP';
const AUTHORITY = 'AuthorityMSP';
/** Households and meters: Distributor1's households MSP, through Distributor1's peer. */
const HOUSEHOLDS = 'households1';
const INTERVAL = 1800;
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const PERSONAL = JSON.stringify({ name: `Household ${run}`, address: '7 Meter Row, Northtown' });

const gateways = new Gateways();
const gateway = (org: string, identity?: string) => gateways.gateway(org, identity);
const contract = (org: string, name: string, identity?: string) =>
  gateways.contract(org, CHANNEL, name, identity);
afterAll(() => {
  gateways.closeAll();
});

describe('household lifecycle on northgrid', () => {
  const subscriberName = `hh-${run}`;
  const meterName = `mtr-${run}`;
  const otherMeterName = `mtr2-${run}`;
  const sessionKey = newSessionKey();
  const orgKeys: Record<string, OrgKeyPair> = { [D1]: newOrgKeyPair(), [AUTHORITY]: newOrgKeyPair() };
  const orgKeyVersions: Record<string, number> = {};
  const start = Math.floor(Date.now() / 1000 / INTERVAL) * INTERVAL - 12 * INTERVAL;
  const periodStart = (n: number) => isoSeconds(start + n * INTERVAL);
  let subscriptionId = '';
  let lastBlock = 0n;
  let firstCiphertext = '';

  const slot = (n: number): ReadingSlot => ({
    channel: CHANNEL,
    subscriptionId,
    sequence: n + 1,
    periodStart: periodStart(n),
  });
  const readingBody = (n: number, energyWh: number) => ({
    subscriptionId,
    sequence: n + 1,
    periodStart: periodStart(n),
    ...encryptReading(
      { energyWh, utility: 'electricity', unit: 'Wh', quality: 'measured' },
      sessionKey,
      slot(n),
    ),
  });

  beforeAll(async () => {
    await testNetwork(
      'enroll',
      HOUSEHOLDS,
      subscriberName,
      '--attrs',
      `role=subscriber:ecert,subscriberId=${subscriberName}:ecert`,
    );
    await testNetwork(
      'enroll',
      HOUSEHOLDS,
      meterName,
      '--attrs',
      `role=meter:ecert,meterId=${meterName}:ecert`,
    );
    await testNetwork(
      'enroll',
      HOUSEHOLDS,
      otherMeterName,
      '--attrs',
      `role=meter:ecert,meterId=${otherMeterName}:ecert`,
    );
  });

  it('the distributor and the authority publish their encryption keys', async () => {
    const d1 = await submitJson<OrgKeyRecord>(
      contract('distributor1', 'OrgKey'),
      'PublishOrgKey',
      orgKeys[D1].publicKeyPem,
    );
    const authority = await submitJson<OrgKeyRecord>(
      contract('authority', 'OrgKey'),
      'PublishOrgKey',
      orgKeys[AUTHORITY].publicKeyPem,
    );
    expect(d1).toMatchObject({ mspId: D1, publishedByRole: 'operator' });
    expect(authority).toMatchObject({ mspId: AUTHORITY, publishedByRole: 'auditor' });
    orgKeyVersions[D1] = d1.version;
    orgKeyVersions[AUTHORITY] = authority.version;
  });

  it('the household requests a subscription with a wrapped session key and nothing personal', async () => {
    const request = buildSubscriptionRequest({
      distributorMspId: D1,
      meterId: meterName,
      requestedPlan: 'residential-tou',
      sessionKey,
      recipients: [D1, AUTHORITY].map((mspId) => ({
        mspId,
        version: orgKeyVersions[mspId],
        publicKeyPem: orgKeys[mspId].publicKeyPem,
      })),
    });
    const record = await submitJson<SubscriptionRecord>(
      contract(HOUSEHOLDS, 'Subscription', subscriberName),
      'RequestSubscription',
      request,
    );
    expect(record).toMatchObject({
      status: 'REQUESTED',
      subscriberId: subscriberName,
      meterId: meterName,
      channel: CHANNEL,
    });
    subscriptionId = record.subscriptionId;
  });

  it('the operator approves and the meter pairs by proving it holds the session key', async () => {
    const approval = {
      intervalSeconds: INTERVAL,
      tariffId: 'tou-2026',
      regionCode: 'north/d3/c12',
      startDate: periodStart(0),
    };
    const approved = await submitJson<SubscriptionRecord>(
      contract('distributor1', 'Subscription'),
      'ApproveSubscription',
      subscriptionId,
      JSON.stringify(approval),
    );
    expect(approved.status).toBe('APPROVED');

    const wrongMeter = contract(HOUSEHOLDS, 'Subscription', otherMeterName);
    expect(
      await rejection(
        wrongMeter.submitTransaction('ConfirmPairing', subscriptionId, pairingProof(sessionKey, meterName)),
      ),
    ).toMatch(/FORBIDDEN: meter mtr2-/);
    const paired = await submitJson<SubscriptionRecord>(
      contract(HOUSEHOLDS, 'Subscription', meterName),
      'ConfirmPairing',
      subscriptionId,
      pairingProof(sessionKey, meterName),
    );
    expect(paired.status).toBe('ACTIVE');
  });

  it('the meter reports a batch and a single reading; resubmitting is idempotent; another meter is refused', async () => {
    const meter = contract(HOUSEHOLDS, 'Measurement', meterName);
    const batch = await submitJson<{ stored: number }>(
      meter,
      'SubmitReadings',
      JSON.stringify([0, 1, 2, 3].map((n) => readingBody(n, 400 + n))),
    );
    expect(batch).toMatchObject({ submitted: 4, stored: 4 });

    const stored = await evaluateJson<Page<ReadingRecord>>(
      contract('distributor1', 'Measurement'),
      'GetReadings',
      subscriptionId,
      periodStart(0),
      periodStart(1),
      '1',
      '',
    );
    firstCiphertext = stored.records[0].ciphertext;

    const single = readingBody(4, 404);
    const first = await submitJson<ReadingRecord>(meter, 'SubmitReading', JSON.stringify(single));
    const again = await submitJson<ReadingRecord>(meter, 'SubmitReading', JSON.stringify(single));
    expect(again).toEqual(first);

    const otherMeter = contract(HOUSEHOLDS, 'Measurement', otherMeterName);
    expect(
      await rejection(otherMeter.submitTransaction('SubmitReading', JSON.stringify(readingBody(5, 1)))),
    ).toMatch(/FORBIDDEN: meter mtr2-.* is not the meter of subscription/);
    expect(
      await rejection(meter.submitTransaction('SubmitReading', JSON.stringify(readingBody(3, 999)))),
    ).toMatch(/CONFLICT: a different reading is already stored/);
  });

  it('the distributor and the authority each unwrap the session key with their own key and decrypt the readings', async () => {
    for (const [org, mspId] of [
      ['distributor1', D1],
      ['authority', AUTHORITY],
    ]) {
      const subscription = await evaluateJson<SubscriptionRecord>(
        contract(org, 'Subscription'),
        'GetSubscription',
        subscriptionId,
      );
      const grant = subscription.keyGrants.find((g) => g.mspId === mspId);
      const key = unwrapSessionKey(grant?.wrappedKey as never, orgKeys[mspId].privateKeyPem);
      const page = await evaluateJson<Page<ReadingRecord>>(
        contract(org, 'Measurement'),
        'GetReadings',
        subscriptionId,
        periodStart(0),
        periodStart(10),
        '100',
        '',
      );
      expect(page.records.map((r) => decryptReading(r, key, slot(r.sequence - 1)).energyWh)).toEqual([
        400, 401, 402, 403, 404,
      ]);
    }
    const missing = await evaluateJson<{ missing: string[] }>(
      contract('distributor1', 'Measurement'),
      'MissingPeriods',
      subscriptionId,
      periodStart(0),
      periodStart(8),
    );
    expect(missing.missing).toEqual([5, 6, 7].map(periodStart));
  });

  it('the authority asks for personal data, the household grants it, and only the authority opens it', async () => {
    const requestKey = newOrgKeyPair();
    const request = await submitJson<AccessRequestRecord>(
      contract('authority', 'PersonalData'),
      'RequestPersonalData',
      subscriptionId,
      'grid-fraud investigation 2026-117',
      requestKey.publicKeyPem,
    );
    const sealed = sealForRecipient(
      Buffer.from(PERSONAL),
      request.requestPublicKeyPem,
      request.requestId,
      PERSONAL_DATA_PADDED_BYTES,
    );

    // Transient data makes the gateway cautious: name the organizations that may see it.
    const grantContract = contract(HOUSEHOLDS, 'PersonalData', subscriberName);
    const granted = decodeJson<AccessRequestRecord>(
      await grantContract.submit('GrantPersonalData', {
        arguments: [request.requestId],
        transientData: { personalData: sealed },
        endorsingOrganizations: [D1, AUTHORITY],
      }),
    );
    expect(granted).toMatchObject({ status: 'GRANTED', collection: `personalDataFor${AUTHORITY}` });

    const delivery = await evaluateJson<PersonalDataDelivery>(
      contract('authority', 'PersonalData'),
      'FetchPersonalData',
      request.requestId,
    );
    const bytes = Buffer.from(delivery.sealedPersonalData, 'base64');
    expect(openSealed(bytes, requestKey.privateKeyPem, request.requestId).toString('utf8')).toBe(PERSONAL);
    // The distributor, which endorsed the grant and holds the session key, cannot open it.
    expect(() => openSealed(bytes, orgKeys[D1].privateKeyPem, request.requestId)).toThrow(/does not open/);

    expect(
      await rejection(
        contract('distributor1', 'PersonalData').evaluateTransaction('FetchPersonalData', request.requestId),
      ),
    ).toMatch(/FORBIDDEN: only the requesting organization AuthorityMSP/);
  });

  it('the household ends the subscription; the meter is then refused for later periods', async () => {
    const ended = await submitJson<SubscriptionRecord>(
      contract(HOUSEHOLDS, 'Subscription', subscriberName),
      'EndSubscription',
      subscriptionId,
      'moving to the south',
      '',
    );
    expect(ended.status).toBe('ENDED');
    const network = gateway(HOUSEHOLDS, meterName).getNetwork(CHANNEL);
    const late = network.getContract(CHAINCODE, 'Measurement');
    const endSeconds = Date.parse(ended.end?.effectiveAt ?? '') / 1000;
    const n = Math.ceil((endSeconds - start) / INTERVAL);
    expect(
      await rejection(late.submitTransaction('SubmitReading', JSON.stringify(readingBody(n, 1)))),
    ).toMatch(/FORBIDDEN|ended at/);

    const status = await (
      await network
        .getContract(CHAINCODE, 'System')
        .newProposal('Ping', { arguments: ['end'] })
        .endorse()
    ).submit();
    lastBlock = (await status.getStatus()).blockNumber;
  });

  it('a Distributor2 operator cannot read the subscription on northgrid', async () => {
    const outsider = profile('distributor2');
    const connection = openGateway({ ...outsider, peer: profile('authority').peer });
    gateways.track(connection);
    const c = connection.gateway.getNetwork(CHANNEL).getContract(CHAINCODE, 'Subscription');
    expect(await rejection(c.evaluateTransaction('GetSubscription', subscriptionId))).toMatch(
      /access denied|creator org unknown/i,
    );
  });

  it('no block of northgrid holds the session key, the personal data or a plaintext reading', async () => {
    const secrets = [
      sessionKey.toString('hex'),
      sessionKey.toString('base64'),
      PERSONAL,
      'Meter Row',
      // A decrypted reading payload; bills legitimately carry energy totals, so energyWh alone is no sign.
      '"quality":"measured"',
      '"utility":"electricity"',
      orgKeys[D1].privateKeyPem.split('\n')[1],
    ].map((text) => Buffer.from(text, 'utf8'));
    const network = gateway('authority').getNetwork(CHANNEL);
    const blocks = await network.getBlockEvents({ startBlock: 0n });
    // What must be there, to show the scan sees the written keys and values.
    const expectedSomewhere = [subscriptionId, keyIdOf(sessionKey), firstCiphertext].map((text) =>
      Buffer.from(text),
    );
    const found = new Set<number>();
    let scanned = 0;
    try {
      for await (const block of blocks) {
        const bytes = Buffer.from(block.serializeBinary());
        for (const secret of secrets) expect(bytes.includes(secret)).toBe(false);
        expectedSomewhere.forEach((text, index) => bytes.includes(text) && found.add(index));
        // The raw session key bytes must not appear either.
        expect(bytes.includes(sessionKey)).toBe(false);
        scanned += 1;
        if (block.getHeader()?.getNumber() === Number(lastBlock)) break;
      }
    } finally {
      blocks.close();
    }
    expect(scanned).toBe(Number(lastBlock) + 1);
    expect([...found].sort()).toEqual([0, 1, 2]);
  });
});
