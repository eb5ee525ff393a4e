import type { AccessRequestRecord, PersonalDataDelivery, SubscriptionRecord } from '@smartmeter/domain';
import { openPersonalData, openSealed, sealedSize, PERSONAL_DATA_PADDED_BYTES } from '@smartmeter/crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keystore } from '../../../client/src/keystore';
import { evaluateJson, Gateways } from '../../support/chaincode';
import { CHANNEL } from '../../support/household';
import { meterctl, meterctlJson } from '../../support/meterctl';
import { networkHome } from '../../support/network';

/**
 * Issue 12, finding 8: personal data granted to the authority reached the distributor's peer (its transient
 * store), sealed with the session key the distributor holds, and outlived the purge in LevelDB files. Now it is
 * sealed for a key the authority made for that request alone, and the authority's client destroys that key once
 * the peers have purged the data: a copy left on any disk opens for no one.
 */
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const work = mkdtempSync(join(tmpdir(), 'remnants-'));
const profiles = join(networkHome, 'profiles');
const distributor = ['-p', join(profiles, 'distributor1.json'), '-k', join(work, 'distributor1')];
const authority = ['-p', join(profiles, 'authority.json'), '-c', CHANNEL, '-k', join(work, 'authority')];
const marker = `Remnant Household ${run}`;
const home = ['-p', join(profiles, 'households1.json'), '-k', join(work, 'household'), '-i', `rem-hh-${run}`];
const gateways = new Gateways();
afterAll(() => {
  gateways.closeAll();
});

let subscriptionId = '';
let requestId = '';
let sealed = Buffer.alloc(0);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

/**
 * Every copy of the sealed delivery in the peers' data folders, cut out of the file it was found in: as raw
 * bytes, and as the base64 text the delivery record (JSON) carries it in.
 */
function copiesOnDisk(): { peer: string; file: string; copy: Buffer }[] {
  const size = sealedSize(PERSONAL_DATA_PADDED_BYTES);
  const base64 = sealed.toString('base64');
  const forms = [
    { probeAt: 300, probe: sealed.subarray(300, 332), length: size, decode: (b: Buffer) => b },
    {
      probeAt: 400,
      probe: Buffer.from(base64.slice(400, 464)),
      length: base64.length,
      decode: (b: Buffer) => Buffer.from(b.toString('latin1'), 'base64'),
    },
  ];
  const copies: { peer: string; file: string; copy: Buffer }[] = [];
  for (const peer of readdirSync(join(networkHome, 'data')).filter((name) => name.startsWith('peer'))) {
    for (const file of filesUnder(join(networkHome, 'data', peer))) {
      if (statSync(file).size > 256 * 1024 * 1024) continue;
      const bytes = readFileSync(file);
      for (const form of forms) {
        for (let at = bytes.indexOf(form.probe); at >= 0; at = bytes.indexOf(form.probe, at + 1)) {
          const from = at - form.probeAt;
          if (from >= 0)
            copies.push({ peer, file, copy: form.decode(bytes.subarray(from, from + form.length)) });
        }
      }
    }
  }
  return copies;
}

function peerFilesContain(text: string): string[] {
  const needle = Buffer.from(text);
  return readdirSync(join(networkHome, 'data'))
    .filter((name) => name.startsWith('peer'))
    .flatMap((peer) => filesUnder(join(networkHome, 'data', peer)))
    .filter((file) => readFileSync(file).includes(needle));
}

/** Who could open a copy: the request key while it exists, and every other key the parties hold. */
function opensWith(copy: Buffer, subscription: SubscriptionRecord): string[] {
  const openers: string[] = [];
  const tryOpen = (name: string, open: () => Buffer) => {
    try {
      if (open().toString().includes(marker)) openers.push(name);
    } catch {
      // does not open
    }
  };
  const requestKeyPath = new Keystore(join(work, 'authority')).requestKeyPath(CHANNEL, requestId);
  if (existsSync(requestKeyPath))
    tryOpen('request key', () => openSealed(copy, readFileSync(requestKeyPath, 'utf8'), requestId));
  const householdKey = new Keystore(join(work, 'household')).sessionKeyById(subscription.keyId);
  if (householdKey) tryOpen('session key', () => openPersonalData(copy, householdKey, subscriptionId));
  for (const [party, dir] of [
    ['distributor1', join(work, 'distributor1')],
    ['authority', join(work, 'authority')],
  ]) {
    const orgKeys = join(dir, 'org-keys', CHANNEL);
    if (!existsSync(orgKeys)) continue;
    for (const file of filesUnder(orgKeys)) {
      tryOpen(`${party} org key`, () => openSealed(copy, readFileSync(file, 'utf8'), requestId));
    }
  }
  return openers;
}

describe('personal data on the peers disks', () => {
  beforeAll(async () => {
    await meterctlJson([...distributor, 'keys', 'publish', '--rotate']);
    await meterctlJson([...authority, 'keys', 'publish', '--rotate']);
    const hh = `rem-hh-${run}`;
    const { secret } = await meterctlJson<{ secret: string }>([
      ...distributor,
      'identity',
      'register',
      hh,
      '--role',
      'subscriber',
      '--subscriber-id',
      hh,
    ]);
    await meterctlJson([...home.slice(0, 4), 'identity', 'enroll', hh, '--secret', secret]);
    await meterctlJson([...home, 'keys', 'new', 'home']);
    subscriptionId = (
      await meterctlJson<SubscriptionRecord>([
        ...home,
        'subscription',
        'request',
        '--meter',
        `rem-m-${run}`,
        '--key',
        'home',
      ])
    ).subscriptionId;
    requestId = (
      await meterctlJson<AccessRequestRecord>([
        ...authority,
        'personal-data',
        'request',
        subscriptionId,
        '--reason',
        'disk audit',
      ])
    ).requestId;
    const data = join(work, 'personal.json');
    writeFileSync(data, JSON.stringify({ name: marker, address: '9 Purge Lane' }));
    await meterctlJson([...home, 'personal-data', 'grant', requestId, '--data-file', data, '--key', 'home']);
    const delivery = await evaluateJson<PersonalDataDelivery>(
      gateways.contract('authority', CHANNEL, 'PersonalData'),
      'FetchPersonalData',
      requestId,
    );
    sealed = Buffer.from(delivery.sealedPersonalData, 'base64');
  });

  const subscription = () =>
    evaluateJson<SubscriptionRecord>(
      gateways.contract('authority', CHANNEL, 'Subscription'),
      'GetSubscription',
      subscriptionId,
    );

  it('when the grant has been delivered then no peer holds the plaintext, and only the request key opens any copy', async () => {
    expect(peerFilesContain(marker)).toEqual([]);
    const copies = copiesOnDisk();
    // The scan finds what is there (the authority's peer keeps the delivery), and a whole copy opens with the
    // request key: the check below would see a copy that opens.
    const record = await subscription();
    const openers = copies.map(({ peer, file, copy }) => ({ peer, file, openers: opensWith(copy, record) }));
    expect(openers.some((c) => c.peer === 'peer0.authority' && c.openers.includes('request key'))).toBe(true);
    // No key but the request's opens any copy (a copy split by a LevelDB log block opens for no one at all).
    for (const copy of openers) {
      expect({ ...copy, openers: copy.openers.filter((o) => o !== 'request key') }).toEqual({
        ...copy,
        openers: [],
      });
    }
    process.stdout.write(
      `remnant scan after the grant: ${copies.length} sealed copies on ${new Set(copies.map((c) => c.peer)).size} peers, ` +
        `${openers.filter((c) => c.openers.length > 0).length} open with the request key only\n`,
    );
  });

  it('when the block-to-live has passed then fetch destroys the request key, and no copy left anywhere opens', async () => {
    const ping = gateways.contract('authority', CHANNEL, 'System');
    let fetched = { code: 0, stdout: '', stderr: '' };
    for (let block = 0; block < 40 && fetched.code === 0; block += 1) {
      await ping.submitTransaction('Ping', `remnant-${block}`);
      if (block >= 18) fetched = await meterctl([...authority, 'personal-data', 'fetch', requestId]);
    }
    expect(fetched.code).toBe(1);
    expect(fetched.stderr).toMatch(/destroyed the key of par_\w+: its data was purged/);
    expect(existsSync(new Keystore(join(work, 'authority')).requestKeyPath(CHANNEL, requestId))).toBe(false);
    expect(peerFilesContain(marker)).toEqual([]);
    const record = await subscription();
    const copies = copiesOnDisk();
    for (const { peer, file, copy } of copies) {
      expect({ peer, file, openers: opensWith(copy, record) }).toEqual({ peer, file, openers: [] });
    }
    process.stdout.write(
      `remnant scan after the purge: ${copies.length} sealed copies left on disk, none opens\n`,
    );
  });
});
