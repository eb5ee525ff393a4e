import type { OrgKeyRecord, SubscriptionRecord } from '@smartmeter/domain';
import {
  keyIdOf,
  newOrgKeyPair,
  newSessionKey,
  pairingCommitment,
  pairingProof,
  wrapSessionKey,
} from '@smartmeter/crypto';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayAs, type UserMsp } from '../../support/attacker';
import { evaluateJson, Gateways, rejection, submitJson } from '../../support/chaincode';
import { AUTHORITY, CHANNEL, D1, enrollMeter, enrollSubscriber, HOUSEHOLDS } from '../../support/household';
import { meterctl, meterctlJson } from '../../support/meterctl';
import { CHAINCODE, networkHome } from '../../support/network';

/**
 * Issue 12, findings 4 and 5: a private key published as an organization key (the ledger would hold it), and a
 * subscription request whose key grant wraps random bytes (approved, the household could never be billed).
 */
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const gateways = new Gateways();
const work = mkdtempSync(join(tmpdir(), 'keys-'));
const profiles = join(networkHome, 'profiles');
const distributor = ['-p', join(profiles, 'distributor1.json'), '-k', join(work, 'distributor1')];
const authority = ['-p', join(profiles, 'authority.json'), '-c', CHANNEL, '-k', join(work, 'authority')];
afterAll(() => {
  gateways.closeAll();
});

const history = (mspId: string) =>
  evaluateJson<OrgKeyRecord[]>(gateways.contract('authority', CHANNEL, 'OrgKey'), 'GetOrgKeyHistory', mspId);

describe('organization keys', () => {
  it('when an operator publishes a PKCS#8 private key through a plain gateway then it is INVALID_ARGUMENT and no version is added', async () => {
    const before = await history(D1);
    const operator: UserMsp = { org: 'distributor1', mspId: D1, name: 'operator' };
    const connection = gateways.track(gatewayAs(operator));
    const orgKey = connection.gateway.getNetwork(CHANNEL).getContract(CHAINCODE, 'OrgKey');
    const { privateKeyPem } = newOrgKeyPair();
    expect(await rejection(orgKey.submitTransaction('PublishOrgKey', privateKeyPem))).toMatch(
      /INVALID_ARGUMENT: publicKeyPem: an encryption public key must be one PEM block "-----BEGIN PUBLIC KEY-----"/,
    );
    const after = await history(D1);
    expect(after).toEqual(before);
    expect(JSON.stringify(after)).not.toContain('PRIVATE KEY');
  });
});

describe('key grants are checked before approval', () => {
  const household = `kg-hh-${run}`;
  let goodId = '';
  let badDistributorGrantId = '';
  let badAuthorityGrantId = '';

  beforeAll(async () => {
    await meterctlJson([...distributor, 'keys', 'publish', '--rotate']);
    await meterctlJson([...authority, 'keys', 'publish', '--rotate']);
    await enrollSubscriber(household);
    const current = async (mspId: string) =>
      evaluateJson<OrgKeyRecord>(gateways.contract('authority', CHANNEL, 'OrgKey'), 'GetOrgKey', mspId);
    const keys: Record<string, OrgKeyRecord> = {
      [D1]: await current(D1),
      [AUTHORITY]: await current(AUTHORITY),
    };
    const user: UserMsp = { org: HOUSEHOLDS, mspId: 'Distributor1HouseholdsMSP', name: household };
    const subscriptions = gateways
      .track(gatewayAs(user))
      .gateway.getNetwork(CHANNEL)
      .getContract(CHAINCODE, 'Subscription');
    // A request built by hand, as an attacker (or a broken client) could: each grant wraps what we choose.
    const request = async (meterId: string, wrapped: Record<string, Buffer>) => {
      const sessionKey = wrapped.real;
      await enrollMeter(meterId);
      const record = await submitJson<SubscriptionRecord>(
        subscriptions,
        'RequestSubscription',
        JSON.stringify({
          distributorMspId: D1,
          meterId,
          requestedPlan: 'standard',
          keyId: keyIdOf(sessionKey),
          pairingCommitment: pairingCommitment(pairingProof(sessionKey, meterId)),
          keyGrants: [D1, AUTHORITY].map((mspId) => ({
            mspId,
            orgKeyVersion: keys[mspId].version,
            wrappedKey: wrapSessionKey(wrapped[mspId], keys[mspId].publicKeyPem),
          })),
        }),
      );
      return record.subscriptionId;
    };
    const real = newSessionKey();
    goodId = await request(`kg-m1-${run}`, { real, [D1]: real, [AUTHORITY]: real });
    const real2 = newSessionKey();
    badDistributorGrantId = await request(`kg-m2-${run}`, {
      real: real2,
      [D1]: randomBytes(32),
      [AUTHORITY]: real2,
    });
    const real3 = newSessionKey();
    badAuthorityGrantId = await request(`kg-m3-${run}`, {
      real: real3,
      [D1]: real3,
      [AUTHORITY]: randomBytes(32),
    });
  });

  const approve = (id: string) =>
    meterctl([
      ...distributor,
      'subscription',
      'approve',
      id,
      '--tariff',
      'tou-2026',
      '--region',
      'north/keys',
      '--interval',
      '1800',
    ]);
  const status = async (id: string) =>
    (
      await evaluateJson<SubscriptionRecord>(
        gateways.contract('distributor1', CHANNEL, 'Subscription'),
        'GetSubscription',
        id,
      )
    ).status;

  it("when the distributor's grant wraps random bytes then approve refuses (INVALID_GRANT, exit 1) and nothing is written", async () => {
    const refused = await approve(badDistributorGrantId);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `^meterctl: INVALID_GRANT: the key granted to Distributor1MSP on ${badDistributorGrantId} is [0-9a-f]{32}, not the subscription's key [0-9a-f]{32}: reject the request\\n$`,
      ),
    );
    expect(await status(badDistributorGrantId)).toBe('REQUESTED');
  });

  it("when the authority's grant is bad then check-grant says so, and says OK for a good one", async () => {
    const bad = await meterctl([...authority, 'subscription', 'check-grant', badAuthorityGrantId]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^meterctl: INVALID_GRANT: the key granted to AuthorityMSP on sub_\w+ is [0-9a-f]{32}, not the subscription's key/,
    );
    const good = await meterctl([...authority, 'subscription', 'check-grant', goodId]);
    expect(good).toMatchObject({ code: 0 });
    expect(good.stdout).toMatch(
      new RegExp(
        `^OK: the key granted to AuthorityMSP \\(org key v\\d+\\) is [0-9a-f]{32}, the key of ${goodId}\\n$`,
      ),
    );
  });

  it('when the grants are good then approve goes through', async () => {
    const approved = await approve(goodId);
    expect(approved.code).toBe(0);
    expect(await status(goodId)).toBe('APPROVED');
  });
});
