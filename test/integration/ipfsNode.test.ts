import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeFailure, ExitCode, ServiceUnreachable } from '../../client/src/errors';
import { IpfsClient } from '../../client/src/ipfs';
import {
  portListening,
  processAlive,
  profile,
  recordedPid,
  repoDir,
  testNetwork,
  topologyNodes,
} from '../support/network';

/**
 * The network's IPFS node (network.conf, kind ipfs): Kubo, offline and private, whose RPC API every
 * application org's profile names. With IPFS_API_URL set, `up` starts no node of its own and the profiles
 * name that URL; the tests of the local node are then skipped.
 */
const external = process.env.IPFS_API_URL;
const localIt = external ? it.skip : it;

/** The orgs that get a profile: all but the orderers' (network.conf, the same file the scripts read). */
function applicationOrgs(): string[] {
  const conf = process.env.NETWORK_CONF ?? join(repoDir, 'network', 'network.conf');
  return readFileSync(conf, 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[0] === 'org' && fields[3] !== 'orderer')
    .map((fields) => fields[1]);
}

function ipfsNode(): { name: string; host: string; port: number } {
  const node = topologyNodes().find((entry) => (entry.kind as string) === 'ipfs');
  if (!node?.port) throw new Error('network.conf has no node of kind ipfs with a port');
  return { name: node.name, host: node.host, port: node.port };
}

/** POSTs a Kubo RPC command (Kubo refuses GET) with the URL's credentials, if any, as basic auth. */
async function post(url: string, command: string): Promise<Response> {
  const parsed = new URL(url);
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  const headers: Record<string, string> = parsed.username
    ? { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` }
    : {};
  parsed.username = '';
  parsed.password = '';
  return fetch(`${parsed.origin}/api/v0/${command}`, { method: 'POST', headers });
}

/** A Kubo RPC command's JSON answer. */
async function rpc(url: string, command: string): Promise<unknown> {
  const response = await post(url, command);
  expect(response.status).toBe(200);
  return response.json();
}

/** The URL without its credentials, and whose they are. */
function split(url: string): { node: string; user: string } {
  const parsed = new URL(url);
  return { node: `${parsed.protocol}//${parsed.host}`, user: parsed.username };
}

function isLoopback(multiaddr: string): boolean {
  return /^\/ip4\/127\.\d+\.\d+\.\d+\/tcp\/\d+$/.test(multiaddr) || /^\/ip6\/::1\/tcp\/\d+$/.test(multiaddr);
}

describe('the IPFS node', () => {
  const orgs = applicationOrgs();
  /** Read when a test runs: a network that is not up fails the tests with the reason, not the file. */
  const apiUrl = (org = 'distributor1'): string =>
    profile(org).ipfsApiUrl ?? `no ipfsApiUrl in the ${org} profile`;

  it('when any application org loads its profile then it names the same IPFS node', () => {
    expect(orgs).toEqual(expect.arrayContaining(['distributor1', 'authority', 'households1']));
    const node = ipfsNode();
    const expected = external ?? `http://${node.host}:${node.port}`;

    for (const org of orgs) {
      const url = profile(org).ipfsApiUrl as string;
      if (external) {
        expect({ org, ipfsApiUrl: url }).toEqual({ org, ipfsApiUrl: expected });
        continue;
      }
      // The network's own node: distributors as its writer, everyone else as its reader, in a 0600 profile.
      const user = org.startsWith('distributor') ? 'writer' : 'reader';
      expect({ org, ...split(url) }).toEqual({ org, node: expected, user });
      expect({
        org,
        mode: statSync(join(repoDir, '.network', 'profiles', `${org}.json`)).mode & 0o777,
      }).toEqual({
        org,
        mode: 0o600,
      });
    }
  });

  localIt(
    "when a household uses its profile's credentials for more than reading then the node refuses, and nothing changes",
    async () => {
      const distributor = new IpfsClient(apiUrl());
      const bytes = new Uint8Array(randomBytes(1024));
      const { cid } = await distributor.add(bytes);
      const household = apiUrl('households1');
      const before = ((await rpc(apiUrl(), 'pin/ls?type=recursive')) as { Keys: Record<string, unknown> })
        .Keys;

      for (const command of [
        `add?pin=true`,
        `pin/rm?arg=${cid}`,
        'pin/ls',
        'repo/gc',
        'config/show',
        `block/rm?arg=${cid}`,
        'key/list',
        'shutdown',
      ]) {
        const answer = await post(household, command);
        expect({ command, status: answer.status }).toEqual({ command, status: 403 });
      }
      // Nor without any credentials, nor with the household's password under the writer's name.
      expect((await post(split(household).node, 'id')).status).toBe(403);
      const guessed = household.replace('//reader:', '//writer:');
      expect((await post(guessed, `pin/rm?arg=${cid}`)).status).toBe(403);

      // The node still serves, the pin is still there, and the household still reads what is its to read.
      const after = ((await rpc(apiUrl(), 'pin/ls?type=recursive')) as { Keys: Record<string, unknown> })
        .Keys;
      expect(Object.keys(after)).toEqual(expect.arrayContaining(Object.keys(before)));
      expect(await distributor.isPinned(cid)).toBe(true);
      expect(await new IpfsClient(household).cat(cid, 1024)).toEqual(Buffer.from(bytes));
    },
  );

  it('when asked who it is then it answers, as Kubo', async () => {
    const id = await new IpfsClient(apiUrl()).id();

    expect(id.peerId).not.toBe('');
    expect(id.agentVersion).toMatch(/^kubo\//);
  });

  localIt(
    'when its configuration is read then it has no bootstrap peers and listens on loopback only',
    async () => {
      const config = (await rpc(apiUrl(), 'config/show')) as {
        Bootstrap: string[] | null;
        Addresses: { API: string | string[]; Gateway: string | string[]; Swarm: string[] };
        Discovery: { MDNS: { Enabled: boolean } };
      };
      const id = (await rpc(apiUrl(), 'id')) as { Addresses: string[] | null };

      expect(config.Bootstrap ?? []).toEqual([]);
      expect(config.Discovery.MDNS.Enabled).toBe(false);
      for (const address of [config.Addresses.API, config.Addresses.Gateway].flat()) {
        expect({ address, loopback: isLoopback(address) }).toEqual({ address, loopback: true });
      }
      expect(config.Addresses.Swarm).toEqual([]);
      // Offline: no libp2p host, so no swarm addresses at all.
      expect(id.Addresses ?? []).toEqual([]);
    },
  );

  localIt('when the network status is shown then it lists the ipfs node as serving', async () => {
    const node = ipfsNode();

    const status = await testNetwork('status');

    const line = status.split('\n').find((row) => row.split(/\s+/)[0] === node.name);
    expect(line).toBeDefined();
    expect(line?.split(/\s+/).slice(1, 3)).toEqual(['ipfs', `${node.host}:${node.port}`]);
    expect(line).toMatch(/\byes\s+yes\b.*\bserving$/);
  });

  it('when a distributor stores bytes then they are pinned and a household reads them through its own profile', async () => {
    const bytes = new Uint8Array(randomBytes(2048));

    const added = await new IpfsClient(apiUrl()).add(bytes);

    expect(await new IpfsClient(apiUrl()).isPinned(added.cid)).toBe(true);
    const household = new IpfsClient(apiUrl('households1'));
    expect(await household.cat(added.cid, 2048)).toEqual(Buffer.from(bytes));
  });

  localIt(
    'when the node is stopped then the client says it is unreachable (exit 3), and after a restart the pins are still there',
    async () => {
      const node = ipfsNode();
      const client = new IpfsClient(apiUrl());
      const { cid } = await client.add(new Uint8Array(randomBytes(512)));
      const pid = recordedPid(node.name);
      expect(pid).not.toBeNull();

      await testNetwork('stop', node.name);
      try {
        expect(processAlive(pid as number)).toBe(false);
        await expect(portListening(node.host, node.port)).resolves.toBe(false);
        const err = await client.add(new Uint8Array(randomBytes(16))).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ServiceUnreachable);
        // The node's address, never the credentials in the profile's URL.
        expect((err as Error).message).toContain(
          `cannot reach the IPFS node at ${split(apiUrl()).node} (ECONNREFUSED)`,
        );
        expect((err as Error).message).not.toContain(new URL(apiUrl()).password || 'no password');
        expect(describeFailure(err).exitCode).toBe(ExitCode.Unreachable);
      } finally {
        await testNetwork('start', node.name);
      }

      expect(recordedPid(node.name)).not.toBe(pid);
      expect(await client.isPinned(cid)).toBe(true);
      expect((await client.cat(cid, 512)).byteLength).toBe(512);
    },
  );
});
