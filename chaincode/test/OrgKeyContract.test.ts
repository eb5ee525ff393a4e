import { newOrgKeyPair, publicKeyFingerprint } from '@smartmeter/crypto';
import { generateKeyPairSync } from 'node:crypto';
import type { OrgKeyRecord } from '@smartmeter/domain';
import { contracts, D1, id, parse, World } from './support/fixtures';
import type { FakeIdentity } from './support/memoryContext';

const publish = (world: World, who: FakeIdentity, pem: string) =>
  world.run(who, (ctx) => contracts.orgKey.PublishOrgKey(ctx, pem));

describe('OrgKey contract', () => {
  it('when an operator publishes keys then versions count up, the newest is current and history keeps all', async () => {
    const world = new World();
    const first = newOrgKeyPair().publicKeyPem;
    const second = newOrgKeyPair().publicKeyPem;
    const v1 = parse<OrgKeyRecord>(await publish(world, id.d1Operator, first));
    const v2 = parse<OrgKeyRecord>(await publish(world, id.d1Operator, second));

    expect(v1).toMatchObject({ mspId: D1, version: 1, publicKeyPem: first, publishedByRole: 'operator' });
    expect(v2).toMatchObject({ version: 2, fingerprint: publicKeyFingerprint(second) });
    const current = await world.run(id.d2Operator, (ctx) => contracts.orgKey.GetOrgKey(ctx, D1));
    expect(parse<OrgKeyRecord>(current).version).toBe(2);
    const history = parse<OrgKeyRecord[]>(
      await world.run(id.auditor, (ctx) => contracts.orgKey.GetOrgKeyHistory(ctx, D1)),
    );
    expect(history.map((key) => key.version)).toEqual([1, 2]);
    expect(world.ledger.events.map((event) => event.payload)).toEqual([
      '{"mspId":"Distributor1MSP","version":1}',
      '{"mspId":"Distributor1MSP","version":2}',
    ]);
  });

  it.each([
    ['an org admin', id.d1Admin, 'admin'],
    ['an auditor', id.auditor, 'auditor'],
  ])('when %s publishes then the key is recorded with that role', async (_label, who, role) => {
    const world = new World();
    const record = parse<OrgKeyRecord>(await publish(world, who, newOrgKeyPair().publicKeyPem));
    expect(record.publishedByRole).toBe(role);
    expect(record.mspId).toBe(who.mspId);
  });

  it.each([
    ['a subscriber', id.subscriber()],
    ['a meter', id.meter()],
    ['an identity without role', id.noRole],
  ])('when %s publishes then it is FORBIDDEN and nothing is written', async (_label, who) => {
    const world = new World();
    await expect(publish(world, who, newOrgKeyPair().publicKeyPem)).rejects.toThrow(/^FORBIDDEN: publishing/);
    expect(world.ledger.state.size).toBe(0);
  });

  it.each([
    ['text that is not PEM', 'hello', /one PEM block "-----BEGIN PUBLIC KEY-----"/],
    [
      'a P-256 private key (its public key could be derived, the ledger would hold the private key)',
      newOrgKeyPair().privateKeyPem,
      /one PEM block "-----BEGIN PUBLIC KEY-----"/,
    ],
    [
      'an RSA key',
      generateKeyPairSync('rsa', { modulusLength: 1024 })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString(),
      /P-256/,
    ],
    ['an empty string', '', /at most 1024 characters/],
  ])('when the key is %s then it is INVALID_ARGUMENT', async (_label, pem, message) => {
    const world = new World();
    await expect(publish(world, id.d1Operator, pem)).rejects.toThrow(/^INVALID_ARGUMENT/);
    await expect(publish(world, id.d1Operator, pem)).rejects.toThrow(message);
    expect(world.ledger.state.size).toBe(0);
  });

  it('when the current key is published again then it is ALREADY_EXISTS', async () => {
    const world = new World();
    const pem = newOrgKeyPair().publicKeyPem;
    await publish(world, id.d1Operator, pem);
    await expect(publish(world, id.d1Admin, pem)).rejects.toThrow(
      /^ALREADY_EXISTS: this key is already version 1/,
    );
  });

  it('when an organization has no key then GetOrgKey is NOT_FOUND', async () => {
    const world = new World();
    await expect(world.run(id.auditor, (ctx) => contracts.orgKey.GetOrgKey(ctx, D1))).rejects.toThrow(
      /^NOT_FOUND: Distributor1MSP has not published/,
    );
  });
});
