import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeFailure, ExitCode, ServiceUnreachable, UsageError } from '../src/errors';
import { CidTooLargeError, cidOfBytes, MAX_LOCAL_CID_BYTES } from '../src/cid';
import { IpfsClient, IpfsError, isValidCid, resolveIpfsApiUrl } from '../src/ipfs';
import { loadProfile, ProfileError } from '../src/profile';

/**
 * Against a real Kubo daemon: the binary network/scripts/install-kubo.sh builds (or finds in its cache), a
 * repository in a temporary folder set up by the same init_ipfs_repo the network's node uses (any free port),
 * started with --offline like the network's node, and stopped after the tests.
 */
const repoDir = resolve(__dirname, '../..');
const scripts = join(repoDir, 'network', 'scripts');

interface Daemon {
  process: ChildProcess;
  folder: string;
  url: string;
}

let daemon: Daemon | undefined;

function kuboBin(): string {
  // Prints the cache folder; builds Kubo first when the cache has none (a minute or two, Go's module
  // cache cold).
  const dir = execFileSync('bash', [join(scripts, 'install-kubo.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 15 * 60_000,
  }).trim();
  return join(dir, 'bin');
}

/** A Kubo daemon on a fresh repository; with passwords, with the network's writer and reader authorizations. */
async function startDaemon(passwords?: { writer: string; reader: string }): Promise<Daemon> {
  const bin = kuboBin();
  const folder = mkdtempSync(join(tmpdir(), 'ipfs-test-'));
  const repo = join(folder, 'repo');
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    IPFS_PATH: repo,
    IPFS_TELEMETRY: 'off',
  };
  execFileSync(
    'bash',
    [
      '-c',
      'set -euo pipefail; source "$1/lib.sh"; source "$1/nodes.sh"; init_ipfs_repo "$2" 127.0.0.1 0 "$3" "$4"',
      'init',
      scripts,
      repo,
      passwords?.writer ?? '',
      passwords?.reader ?? '',
    ],
    { env, stdio: 'ignore' },
  );
  const child = spawn(join(bin, 'ipfs'), ['--repo-dir', repo, 'daemon', '--offline'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const started = { process: child, folder, url: '' };
  const deadline = Date.now() + 20_000;
  // Kubo writes the API address it listens on (port 0: any free one) to <repo>/api, then says it is ready.
  while (!(output.includes('Daemon is ready') && existsSync(join(repo, 'api')))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopDaemon(started);
      throw new Error(`the Kubo daemon did not start:\n${output}`);
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  const address = /^\/ip4\/([\d.]+)\/tcp\/(\d+)$/.exec(readFileSync(join(repo, 'api'), 'utf8').trim());
  if (!address) throw new Error(`unexpected ${repo}/api`);
  started.url = `http://${address[1]}:${address[2]}`;
  return started;
}

async function stopDaemon(running: Daemon): Promise<void> {
  const child = running.process;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(running.folder, { recursive: true, force: true });
}

beforeAll(async () => {
  daemon = await startDaemon();
}, 20 * 60_000);

afterAll(async () => {
  if (daemon) await stopDaemon(daemon);
});

function node(): IpfsClient {
  if (!daemon) throw new Error('no Kubo daemon');
  return new IpfsClient(daemon.url);
}

/** Bytes nobody has added before. */
function fresh(size = 64): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

async function kuboFailure(call: Promise<unknown>): Promise<IpfsError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof IpfsError)) throw new Error(`expected an IpfsError, got ${String(err)}`);
  return err;
}

describe('the IPFS client against a Kubo node', () => {
  it('when bytes are added then they get a CIDv1 base32 raw-leaf CID, are pinned, and cat returns them', async () => {
    const bytes = fresh();

    const added = await node().add(bytes);

    expect(added.cid).toMatch(/^bafkrei[a-z2-7]{52}$/);
    expect(added.bytes).toBe(64);
    expect(isValidCid(added.cid)).toBe(true);
    expect(await node().isPinned(added.cid)).toBe(true);
    expect(await node().cat(added.cid, 64)).toEqual(Buffer.from(bytes));
  });

  it('when content spans several blocks then its CID is a "bafy" DAG root, pinned, and it round-trips', async () => {
    const bytes = fresh(600 * 1024);

    const added = await node().add(bytes);

    expect(added.cid).toMatch(/^bafy/);
    expect(await node().isPinned(added.cid)).toBe(true);
    expect((await node().cat(added.cid, bytes.byteLength)).equals(Buffer.from(bytes))).toBe(true);
    expect(await node().cidOf(bytes)).toBe(added.cid);
  });

  it('when only the CID of bytes is asked for then it equals what add stores them under, and nothing is stored', async () => {
    const stored = fresh();
    const onlyHashed = fresh();

    const cid = await node().cidOf(stored);
    expect(cid).toBe((await node().add(stored)).cid);

    const hashedCid = await node().cidOf(onlyHashed);
    expect(isValidCid(hashedCid)).toBe(true);
    expect(await node().isPinned(hashedCid)).toBe(false);
    expect((await kuboFailure(node().cat(hashedCid, 1024))).code).toBe('IPFS_NOT_FOUND');
  });

  it('when a CID the node does not hold is read then it is IPFS_NOT_FOUND at once, not a search', async () => {
    const unknown = await node().cidOf(fresh());
    const started = Date.now();

    const err = await kuboFailure(node().cat(unknown, 1024));

    expect(Date.now() - started).toBeLessThan(3000);
    expect(err.code).toBe('IPFS_NOT_FOUND');
    expect(err.message).toMatch(new RegExp(`^IPFS_NOT_FOUND: cat ${unknown}: .*not found`));
  });

  it('when the content is larger than maxBytes then cat refuses it with IPFS_TOO_LARGE, and exactly maxBytes is fine', async () => {
    const bytes = fresh(1000);
    const { cid } = await node().add(bytes);

    const err = await kuboFailure(node().cat(cid, 999));

    expect(err.code).toBe('IPFS_TOO_LARGE');
    expect(err.message).toBe(`IPFS_TOO_LARGE: ${cid} is larger than 999 bytes`);
    expect(await node().cat(cid, 1000)).toEqual(Buffer.from(bytes));
  });

  it('when the CID is not one then the node refuses it with IPFS_REFUSED', async () => {
    const err = await kuboFailure(node().cat('not-a-cid', 1024));

    expect(err.code).toBe('IPFS_REFUSED');
    expect(err.message).toContain('not-a-cid');
    await expect(node().isPinned('not-a-cid')).rejects.toBeInstanceOf(IpfsError);
  });

  it('when the node is asked who it is then it answers as Kubo 0.43.1 with no libp2p addresses (offline)', async () => {
    const id = await node().id();

    expect(id.peerId).toMatch(/^12D3KooW/);
    expect(id.agentVersion).toMatch(/^kubo\/0\.43\.1/);
    expect(id.addresses).toEqual([]);
  });

  it('when the repository is set up as the network sets it up then it has no bootstrap peers, no gateway, a loopback API', async () => {
    const response = await fetch(`${node().apiUrl}/api/v0/config/show`, { method: 'POST' });
    const config = (await response.json()) as {
      Bootstrap: string[];
      Addresses: { API: string; Gateway: string[]; Swarm: string[] };
      Discovery: { MDNS: { Enabled: boolean } };
      AutoConf: { Enabled: boolean };
      Routing: { Type: string };
    };

    expect(config.Bootstrap).toEqual([]);
    expect(config.Addresses.Gateway).toEqual([]);
    expect(config.Addresses.Swarm).toEqual([]);
    expect(config.Addresses.API).toBe('/ip4/127.0.0.1/tcp/0');
    expect(config.Discovery.MDNS.Enabled).toBe(false);
    expect(config.AutoConf.Enabled).toBe(false);
    expect(config.Routing.Type).toBe('none');
  });
});

// --- without Kubo: stand-ins and closed ports -------------------------------------------------------------

async function standIn(
  handler: (path: string, headers: IncomingHttpHeaders) => { status: number; body: string } | null,
): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    request.resume();
    const answer = handler(request.url ?? '', request.headers);
    if (answer === null) return; // never answers
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(answer.body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function closed(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
}

describe('CIDs computed here, as Kubo computes them', () => {
  it.each([1, 1024, 262_144, 262_145, 600 * 1024, 16 * 1024 * 1024])(
    'when %d bytes are hashed here then the CID is the one the Kubo node gives them',
    async (size) => {
      const bytes = fresh(size);

      const local = cidOfBytes(bytes);

      expect(local).toBe(await node().nodeCidOf(bytes));
      expect(local).toMatch(size <= 262_144 ? /^bafkrei/ : /^bafybei/);
    },
  );

  it('when the bytes need a second level of links then it says so instead of guessing', () => {
    expect(() => cidOfBytes(new Uint8Array(MAX_LOCAL_CID_BYTES + 1))).toThrow(CidTooLargeError);
    expect(cidOfBytes(new Uint8Array(MAX_LOCAL_CID_BYTES))).toMatch(/^bafybei/);
  });
});

describe('a Kubo node with the network’s authorizations (writer: distributors, reader: cat only)', () => {
  let guarded: Daemon | undefined;
  const passwords = { writer: randomBytes(12).toString('hex'), reader: randomBytes(12).toString('hex') };
  const as = (who?: 'writer' | 'reader') => {
    if (!guarded) throw new Error('no Kubo daemon');
    return who ? guarded.url.replace('http://', `http://${who}:${passwords[who]}@`) : guarded.url;
  };

  beforeAll(async () => {
    guarded = await startDaemon(passwords);
  }, 60_000);

  afterAll(async () => {
    if (guarded) await stopDaemon(guarded);
  });

  it('when the writer adds then the reader can cat it, but not add, pin, unpin, collect garbage, read the config or shut the node down', async () => {
    const bytes = fresh(4096);
    const { cid } = await new IpfsClient(as('writer')).add(bytes);
    const reader = new IpfsClient(as('reader'));
    expect(await reader.cat(cid, 4096)).toEqual(Buffer.from(bytes));
    expect((await reader.id()).agentVersion).toMatch(/^kubo\//);

    expect((await kuboFailure(reader.add(fresh()))).code).toBe('IPFS_REFUSED');
    expect((await kuboFailure(reader.isPinned(cid))).code).toBe('IPFS_REFUSED');
    for (const command of ['pin/rm', 'repo/gc', 'config/show', 'shutdown', 'block/rm', 'pin/ls']) {
      const answer = await fetch(`${as()}/api/v0/${command}?arg=${cid}`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`reader:${passwords.reader}`).toString('base64')}` },
      });
      expect({ command, status: answer.status }).toEqual({ command, status: 403 });
    }
    // Nothing changed: still pinned, still served.
    expect(await new IpfsClient(as('writer')).isPinned(cid)).toBe(true);
    expect(await reader.cat(cid, 4096)).toEqual(Buffer.from(bytes));
  });

  it('when a call has no credentials or a wrong password then it is refused', async () => {
    for (const url of [as(), as().replace('http://', `http://reader:${passwords.writer}@`)]) {
      const err = await kuboFailure(new IpfsClient(url).id());
      expect(err.code).toBe('IPFS_REFUSED');
    }
    const anonymous = await fetch(`${as()}/api/v0/id`, { method: 'POST' });
    expect(anonymous.status).toBe(403);
  });
});

describe('the IPFS client when the node is down or is not Kubo', () => {
  it('when nothing listens at the URL then every call is ServiceUnreachable naming the URL, and meterctl exits 3', async () => {
    const { url, server } = await standIn(() => ({ status: 200, body: '{}' }));
    await closed(server);
    const client = new IpfsClient(url);

    const calls = [
      () => client.add(fresh()),
      () => client.nodeCidOf(fresh()),
      () => client.cat('bafkqaaa', 10),
      () => client.isPinned('bafkqaaa'),
      () => client.id(),
    ];
    for (const call of calls) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ServiceUnreachable);
      expect((err as Error).message).toBe(
        `cannot reach the IPFS node at ${url} (ECONNREFUSED); is the network up? ./test-network.sh status; or point --ipfs-url / IPFS_API_URL at a running Kubo node`,
      );
      expect(describeFailure(err).exitCode).toBe(ExitCode.Unreachable);
    }
    // The CID of bytes needs no node: it is computed here.
    const bytes = fresh();
    expect(await client.cidOf(bytes)).toBe(cidOfBytes(bytes));
  });

  it('when the node accepts but does not answer in time then it is ServiceUnreachable too', async () => {
    const { url, server } = await standIn(() => null);
    try {
      await expect(new IpfsClient(url, { timeoutMs: 300 }).id()).rejects.toEqual(
        new ServiceUnreachable(
          `cannot reach the IPFS node at ${url} (no answer within 300 ms); is the network up? ./test-network.sh status; or point --ipfs-url / IPFS_API_URL at a running Kubo node`,
        ),
      );
    } finally {
      await closed(server);
    }
  });

  it('when the URL answers but is not a Kubo RPC API then it is IPFS_REFUSED saying so', async () => {
    const { url, server } = await standIn(() => ({ status: 404, body: '<html>nothing here</html>' }));
    try {
      const err = await kuboFailure(new IpfsClient(url).add(fresh()));

      expect(err.code).toBe('IPFS_REFUSED');
      expect(err.message).toContain(`HTTP 404 from ${url} (is it a Kubo RPC API?)`);
    } finally {
      await closed(server);
    }
  });

  it('when the URL carries credentials then they go in an Authorization header and never into messages', async () => {
    const seen: (string | undefined)[] = [];
    const { url, server } = await standIn((path, headers) => {
      seen.push(headers.authorization);
      return path.startsWith('/api/v0/id')
        ? { status: 200, body: '{"ID":"12D3KooWabc","AgentVersion":"kubo/0.43.1/","Addresses":null}' }
        : { status: 500, body: '{"Message":"boom","Code":0,"Type":"error"}' };
    });
    try {
      const client = new IpfsClient(url.replace('http://', 'http://alice:s%3Acret@'));

      expect(client.apiUrl).toBe(url);
      expect(await client.id()).toEqual({
        peerId: '12D3KooWabc',
        agentVersion: 'kubo/0.43.1/',
        addresses: [],
      });
      const err = await kuboFailure(client.cat('bafkqaaa', 10));
      expect(err.message).toBe(`IPFS_REFUSED: cat bafkqaaa: boom (${url})`);
      expect(seen).toEqual([
        `Basic ${Buffer.from('alice:s:cret').toString('base64')}`,
        `Basic ${Buffer.from('alice:s:cret').toString('base64')}`,
      ]);
    } finally {
      await closed(server);
    }
  });
});

describe('where the IPFS node is', () => {
  const profile = { ipfsApiUrl: 'http://127.0.0.1:5991' };

  it('when --ipfs-url is given then it wins over IPFS_API_URL and the profile', () => {
    expect(resolveIpfsApiUrl('http://flag:1/', { IPFS_API_URL: 'http://env:2' }, profile)).toBe(
      'http://flag:1',
    );
  });

  it('when only IPFS_API_URL and the profile name one then IPFS_API_URL wins; an empty one counts as unset', () => {
    expect(resolveIpfsApiUrl(undefined, { IPFS_API_URL: 'http://env:2' }, profile)).toBe('http://env:2');
    expect(resolveIpfsApiUrl('', { IPFS_API_URL: '' }, profile)).toBe('http://127.0.0.1:5991');
  });

  it('when none names one then it is a UsageError naming the three ways', () => {
    expect(() => resolveIpfsApiUrl(undefined, {}, {})).toThrow(
      new UsageError(
        'no IPFS node: pass --ipfs-url <url>, set IPFS_API_URL, or use a connection profile with ipfsApiUrl (./test-network.sh up writes it)',
      ),
    );
  });

  it('when the URL is not an http(s) URL then it is a UsageError naming where it came from', () => {
    expect(() => resolveIpfsApiUrl(undefined, { IPFS_API_URL: 'ftp://127.0.0.1:5001' }, {})).toThrow(
      new UsageError(
        "IPFS_API_URL must be an http:// or https:// URL (Kubo's RPC API), not ftp://127.0.0.1:5001",
      ),
    );
    expect(() => resolveIpfsApiUrl('127.0.0.1:5001', {}, profile)).toThrow(
      new UsageError('--ipfs-url is not a URL: "127.0.0.1:5001" (e.g. http://127.0.0.1:5991)'),
    );
    expect(() => resolveIpfsApiUrl(undefined, {}, { ipfsApiUrl: 'http://127.0.0.1:5991/?x=1' })).toThrow(
      new UsageError(
        "the profile's ipfsApiUrl must not have a query or fragment: http://127.0.0.1:5991/?x=1",
      ),
    );
  });

  it("when a profile's ipfsApiUrl is not an http(s) URL then loading the profile names the field", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'profile-')), 'p.json');
    const valid = {
      org: 'households1',
      mspId: 'Distributor1HouseholdsMSP',
      authorityMspId: 'AuthorityMSP',
      chaincodeName: 'smartmeter',
      channels: ['northgrid'],
      peer: { endpoint: '127.0.0.1:7051', hostAlias: 'peer0.distributor1', tlsRootCertPath: '/n/ca.pem' },
      ca: { url: 'https://127.0.0.1:11054', caName: 'ca-households1', tlsCertPath: '/n/ca.pem' },
      defaultIdentity: '',
      identities: {},
      ipfsApiUrl: 'http://127.0.0.1:5991',
    };
    writeFileSync(file, JSON.stringify(valid));
    expect(loadProfile(file).ipfsApiUrl).toBe('http://127.0.0.1:5991');

    writeFileSync(file, JSON.stringify({ ...valid, ipfsApiUrl: 'ftp://127.0.0.1:5991' }));
    expect(() => loadProfile(file)).toThrow(
      new ProfileError(`connection profile ${file} is missing or has invalid: ipfsApiUrl`),
    );
  });
});
