import type { Gateway, Network } from '@hyperledger/fabric-gateway';
import { keyIdOf, newOrgKeyPair, newSessionKey, wrapSessionKey } from '@smartmeter/crypto';
import type { SubscriptionRecord } from '@smartmeter/domain';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrgKeyClient } from '../src/contracts/OrgKeyClient';
import { UsageError } from '../src/errors';
import { checkGrant, InvalidGrantError } from '../src/grants';
import { fileMode, Keystore } from '../src/keystore';

function keystoreWithOrgKey(): { keystore: Keystore; publicKeyPem: string } {
  const keystore = new Keystore(mkdtempSync(join(tmpdir(), 'grants-')));
  const pending = keystore.newPendingOrgKey('northgrid', 'Distributor1MSP');
  keystore.commitOrgKey(pending.pendingPath, 'northgrid', 'Distributor1MSP', 3);
  return { keystore, publicKeyPem: pending.pair.publicKeyPem };
}

function subscriptionWith(keyId: string, wrapped: Buffer, publicKeyPem: string): SubscriptionRecord {
  return {
    subscriptionId: 'sub_0123456789abcdef01234567',
    channel: 'northgrid',
    keyId,
    keyGrants: [
      { mspId: 'Distributor1MSP', orgKeyVersion: 3, wrappedKey: wrapSessionKey(wrapped, publicKeyPem) },
    ],
  } as unknown as SubscriptionRecord;
}

describe('grant checks before approval', () => {
  it('when the grant holds the key the request names then the check passes', () => {
    const { keystore, publicKeyPem } = keystoreWithOrgKey();
    const key = newSessionKey();
    expect(
      checkGrant(subscriptionWith(keyIdOf(key), key, publicKeyPem), 'Distributor1MSP', keystore),
    ).toEqual({
      subscriptionId: 'sub_0123456789abcdef01234567',
      mspId: 'Distributor1MSP',
      orgKeyVersion: 3,
      keyId: keyIdOf(key),
    });
  });

  it('when the grant wraps other bytes than the named key then it is INVALID_GRANT', () => {
    const { keystore, publicKeyPem } = keystoreWithOrgKey();
    const check = () =>
      checkGrant(
        subscriptionWith(keyIdOf(newSessionKey()), newSessionKey(), publicKeyPem),
        'Distributor1MSP',
        keystore,
      );
    expect(check).toThrow(InvalidGrantError);
    expect(check).toThrow(
      /^INVALID_GRANT: the key granted to Distributor1MSP on sub_0123456789abcdef01234567 is [0-9a-f]{32}, not/,
    );
  });

  it('when the grant is wrapped for another key then it is INVALID_GRANT, and with no grant too', () => {
    const { keystore } = keystoreWithOrgKey();
    const key = newSessionKey();
    expect(() =>
      checkGrant(
        subscriptionWith(keyIdOf(key), key, newOrgKeyPair().publicKeyPem),
        'Distributor1MSP',
        keystore,
      ),
    ).toThrow(/^INVALID_GRANT: the session key of sub_\w+ is not wrapped for Distributor1MSP's key v3/);
    expect(() =>
      checkGrant(subscriptionWith(keyIdOf(key), key, newOrgKeyPair().publicKeyPem), 'AuthorityMSP', keystore),
    ).toThrow(/^INVALID_GRANT: sub_\w+ has no key grant for AuthorityMSP/);
  });
});

describe('publishing an organization key', () => {
  it('when the key handed to the adapter is a private key then nothing is sent and the error says why', async () => {
    const sent: string[] = [];
    const recordSent = (fn: string) => ({ endorse: async () => void sent.push(fn) });
    const network = {
      getName: () => 'northgrid',
      getContract: () => ({ newProposal: recordSent, submitTransaction: recordSent }),
    } as unknown as Network;
    const channel = { gateway: {} as Gateway, network, chaincodeName: 'smartmeter' };
    await expect(new OrgKeyClient(channel).publish(newOrgKeyPair().privateKeyPem)).rejects.toThrow(
      UsageError,
    );
    await expect(new OrgKeyClient(channel).publish(newOrgKeyPair().privateKeyPem)).rejects.toThrow(
      /refusing to publish this key: an encryption public key must be one PEM block/,
    );
    expect(sent).toEqual([]);
  });
});

describe('personal-data request keys', () => {
  it('when a request key is committed, read and shredded then it is 0600 while it lives and gone afterwards', () => {
    const keystore = new Keystore(mkdtempSync(join(tmpdir(), 'request-keys-')));
    const pending = keystore.newPendingRequestKey('northgrid');
    const path = keystore.commitRequestKey(pending.pendingPath, 'northgrid', 'par_0123456789abcdef01234567');
    expect(fileMode(path)).toBe(0o600);
    expect(keystore.requestPrivateKey('northgrid', 'par_0123456789abcdef01234567')).toBe(
      readFileSync(path, 'utf8'),
    );
    expect(keystore.shredRequestKey('northgrid', 'par_0123456789abcdef01234567')).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(keystore.shredRequestKey('northgrid', 'par_0123456789abcdef01234567')).toBe(false);
    expect(() => keystore.requestPrivateKey('northgrid', 'par_0123456789abcdef01234567')).toThrow(
      /its data was purged and the key destroyed/,
    );
  });
});
