import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as connectTcp } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { loadProfile, type ConnectionProfile } from '../../client/src/profile';

/** Helpers for tests that run against the network started by ./test-network.sh. */

/** The repository root: the nearest folder above that holds test-network.sh (tests and compiled benchmarks). */
function findRepoDir(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'test-network.sh'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no test-network.sh above ${start}`);
  }
}

export const repoDir = findRepoDir(resolve(__dirname));
export const networkHome = process.env.NETWORK_HOME ?? join(repoDir, '.network');
const networkConf = process.env.NETWORK_CONF ?? join(repoDir, 'network', 'network.conf');

/** The chaincode's name, from network/network.conf as the scripts read it. */
export const CHAINCODE =
  readFileSync(networkConf, 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[0] === 'chaincode')?.[1] ?? 'no chaincode line in network.conf';

export interface NodeEntry {
  name: string;
  kind: 'ca' | 'orderer' | 'peer' | 'ccaas' | 'reportdb' | 'broker' | 'aggregator';
  org: string;
  /** Where the node listens and is reached: the declared host's address, or the host column as written. */
  host: string;
  /** The host column as written: a declared host's name, or the same as `host`. */
  hostName: string;
  /** The network namespace the node runs in (the multi-host demo), or null on the machine itself. */
  netns: string | null;
  /** Null for a node that listens on nothing (an aggregator). */
  port: number | null;
  opsPort: number | null;
  /** Null when the column is '-' or holds no port (an aggregator's region prefix). */
  extraPort: number | null;
}

function portColumn(field: string): number | null {
  return /^\d+$/.test(field) ? Number(field) : null;
}

/** The fields after the type of every line of one type ('node', 'host', ...), with '' for missing ones. */
function confLines(type: string): string[][] {
  return readFileSync(networkConf, 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[0] === type)
    .map((fields) => Array.from({ length: 8 }, (_, i) => fields[i + 1] ?? ''));
}

export interface HostEntry {
  name: string;
  address: string;
  netns: string | null;
}

/** The `host` lines of network.conf: hosts that nodes' host columns may name. */
export function topologyHosts(): HostEntry[] {
  return confLines('host').map(([name, address, netns]) => ({ name, address, netns: netns || null }));
}

/**
 * The nodes listed in network/network.conf, the same file the scripts read, resolved as network/scripts/lib.sh
 * does: a host column that names a declared host means that host's address (and namespace).
 */
export function topologyNodes(): NodeEntry[] {
  const hosts = new Map(topologyHosts().map((host) => [host.name, host]));
  return confLines('node').map(([name, kind, org, hostName, port, ops, extra]) => {
    const host = hosts.get(hostName);
    return {
      name,
      kind: kind as NodeEntry['kind'],
      org,
      host: host?.address ?? hostName,
      hostName,
      netns: host?.netns ?? null,
      port: portColumn(port),
      opsPort: portColumn(ops),
      extraPort: portColumn(extra),
    };
  });
}

/** Where a node of network.conf is reached, `address:port`, resolved like topologyNodes(). */
export function nodeEndpoint(name: string): string {
  const node = topologyNodes().find((entry) => entry.name === name);
  if (node?.port == null) throw new Error(`network.conf has no node ${name} with a port`);
  return `${node.host}:${String(node.port)}`;
}

export function profile(org: string): ConnectionProfile {
  const path = join(networkHome, 'profiles', `${org}.json`);
  if (!existsSync(path)) {
    throw new Error(`${path} does not exist: start the network with ./test-network.sh up before these tests`);
  }
  return loadProfile(path);
}

export function recordedPid(node: string): number | null {
  const file = join(networkHome, 'pids', `${node}.pid`);
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : null;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function portListening(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connectTcp({ host, port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}

const execFileAsync = promisify(execFile);

/** Runs ./test-network.sh with arguments; rejects with its output when it fails. */
export async function testNetwork(...args: string[]): Promise<string> {
  const { stdout, stderr } = await execFileAsync(join(repoDir, 'test-network.sh'), args, {
    cwd: repoDir,
    env: process.env,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout + stderr;
}

export interface OrdererChannelInfo {
  name: string;
  status: string;
  consensusRelation: string;
  height: number;
}

/** The channel as one orderer's channel participation API reports it (mutual TLS as the orderer org admin). */
export function ordererChannelInfo(orderer: NodeEntry, channel: string): Promise<OrdererChannelInfo> {
  const tlsDir = join(networkHome, 'orgs', orderer.org, 'users', 'admin', 'tls');
  return new Promise((done, fail) => {
    const req = request(
      {
        host: orderer.host,
        port: orderer.extraPort ?? undefined,
        path: `/participation/v1/channels/${channel}`,
        method: 'GET',
        ca: readFileSync(join(tlsDir, 'ca.pem')),
        cert: readFileSync(join(tlsDir, 'cert.pem')),
        key: readFileSync(join(tlsDir, 'key.pem')),
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => {
          if (res.statusCode !== 200) {
            fail(new Error(`${orderer.name}: HTTP ${res.statusCode}: ${body}`));
            return;
          }
          done(JSON.parse(body) as OrdererChannelInfo);
        });
      },
    );
    req.on('error', fail);
    req.on('timeout', () => req.destroy(new Error(`${orderer.name}: admin API timed out`)));
    req.end();
  });
}

export async function eventually<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (accept(last)) return last;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(
    `${what} did not happen within ${timeoutMs} ms; last value ${JSON.stringify(last)}; last error ${String(lastError)}`,
  );
}
