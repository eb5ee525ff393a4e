import { common } from '@hyperledger/fabric-protos';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerCli, type UserMsp } from './attacker';
import {
  eventually,
  networkHome,
  ordererChannelInfo,
  processAlive,
  recordedPid,
  testNetwork,
  topologyNodes,
  type NodeEntry,
} from './network';

/**
 * The fault campaign's instruments (issue 21): killing nodes the hard way, finding the BFT leader, reading the
 * meters' outboxes from their files, and comparing every node's copy of a channel.
 */

/** SIGKILL to a node's recorded process, as a crash or a power cut would; resolves once it is gone. */
export async function killNode(name: string): Promise<void> {
  const pid = recordedPid(name);
  if (pid === null || !processAlive(pid)) throw new Error(`${name} is not running (pid ${String(pid)})`);
  process.kill(pid, 'SIGKILL');
  await eventually(
    () => Promise.resolve(processAlive(pid)),
    (alive) => !alive,
    10_000,
    `${name} (pid ${pid}) to die`,
  );
}

/** Starts a node again with its existing state (./test-network.sh start waits until it is ready). */
export async function restartNode(name: string): Promise<void> {
  await testNetwork('start', name);
}

export const orderers = (): NodeEntry[] => topologyNodes().filter((node) => node.kind === 'orderer');

/** One gauge of a node's Prometheus metrics (its operations endpoint), for one channel; null if absent. */
async function channelGauge(node: NodeEntry, metric: string, channel: string): Promise<number | null> {
  const text = await new Promise<string>((resolve, reject) => {
    const request = get(
      { host: node.host, port: node.opsPort ?? 0, path: '/metrics', timeout: 5000 },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => {
          resolve(body);
        });
      },
    );
    request.on('error', reject);
    request.on('timeout', () => request.destroy(new Error(`${node.name}: /metrics timed out`)));
  });
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(`channel="${channel}"`));
  return line === undefined ? null : Number(line.trim().split(/\s+/).at(-1));
}

/**
 * The orderer SmartBFT currently follows as leader on the channel: the consenter id most running orderers report
 * (consensus_BFT_leader_id, as of the latest committed block; consenter n is orderer n in configtx.yaml's
 * ConsenterMapping).
 */
export async function bftLeader(channel: string): Promise<NodeEntry> {
  const all = orderers();
  const votes = new Map<number, number>();
  for (const orderer of all) {
    const pid = recordedPid(orderer.name);
    if (pid === null || !processAlive(pid)) continue;
    const id = await channelGauge(orderer, 'consensus_BFT_leader_id', channel).catch(() => null);
    if (id !== null) votes.set(id, (votes.get(id) ?? 0) + 1);
  }
  const ranked = [...votes.entries()].sort((a, b) => b[1] - a[1]);
  const leader = ranked.length > 0 ? all.at(ranked[0][0] - 1) : undefined;
  if (!leader)
    throw new Error(`no orderer reports a SmartBFT leader for ${channel}: ${JSON.stringify(ranked)}`);
  return leader;
}

/**
 * The SmartBFT leader each running orderer reports for the channel (null: not running, or no leader reported
 * yet). An orderer restarted after a fault reports the others' leader once it has rejoined the current view.
 */
export async function bftLeaderIds(channel: string): Promise<Record<string, number | null>> {
  const ids: Record<string, number | null> = {};
  for (const orderer of orderers()) {
    const pid = recordedPid(orderer.name);
    ids[orderer.name] =
      pid === null || !processAlive(pid)
        ? null
        : await channelGauge(orderer, 'consensus_BFT_leader_id', channel).catch(() => null);
  }
  return ids;
}

export interface ChainHead {
  node: string;
  height: number;
  /** Hex of the header fields of the block at height - 1, which chain every earlier block by hash. */
  number: number;
  previousHash: string;
  dataHash: string;
}

function headOf(node: string, height: number, blockBytes: Uint8Array): ChainHead {
  const header = common.Block.deserializeBinary(blockBytes).getHeader();
  if (!header) throw new Error(`${node}: block without header`);
  return {
    node,
    height,
    number: header.getNumber(),
    previousHash: Buffer.from(header.getPreviousHash_asU8()).toString('hex'),
    dataHash: Buffer.from(header.getDataHash_asU8()).toString('hex'),
  };
}

const admin = (org: string, mspId: string): UserMsp => ({ org, mspId, name: 'admin' });

/** A peer's head of the channel, through Fabric's own peer CLI as the org's admin (getinfo, then the top block). */
export async function peerHead(org: string, mspId: string, channel: string): Promise<ChainHead> {
  const info = await peerCli(admin(org, mspId), org, ['channel', 'getinfo', '-c', channel]);
  const match = /Blockchain info: (\{.*\})/.exec(info.output);
  if (info.code !== 0 || !match) throw new Error(`peer channel getinfo on ${org}'s peer: ${info.output}`);
  const { height } = JSON.parse(match[1]) as { height: number };
  return { ...(await fetchedHead(org, mspId, channel, height, [])), node: `peer0.${org}` };
}

/** An orderer's head of the channel: its height from the admin API, its top block through deliver. */
export async function ordererHead(
  orderer: NodeEntry,
  channel: string,
  asOrg: string,
  asMsp: string,
): Promise<ChainHead> {
  const { height } = await ordererChannelInfo(orderer, channel);
  const ordererCa = join(networkHome, 'orgs', orderer.org, 'msp', 'cacerts', 'ca.pem');
  const flags = ['-o', `${orderer.host}:${String(orderer.port)}`, '--tls', '--cafile', ordererCa];
  return { ...(await fetchedHead(asOrg, asMsp, channel, height, flags)), node: orderer.name };
}

async function fetchedHead(
  org: string,
  mspId: string,
  channel: string,
  height: number,
  ordererFlags: string[],
): Promise<ChainHead> {
  const dir = mkdtempSync(join(tmpdir(), 'chain-head-'));
  try {
    const file = join(dir, 'block.pb');
    const fetched = await peerCli(admin(org, mspId), org, [
      'channel',
      'fetch',
      String(height - 1),
      file,
      '-c',
      channel,
      ...ordererFlags,
    ]);
    if (fetched.code !== 0)
      throw new Error(`peer channel fetch ${height - 1} of ${channel}: ${fetched.output}`);
    return headOf(org, height, readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface OutboxState {
  offset: number;
  partial: string;
  pending: Set<string>;
}

/**
 * Reads the meters' outboxes (meter-sim's <state-dir>/<subscription>/outbox.jsonl, or shares.jsonl) from disk as
 * they grow, without touching the meters: how many readings wait in each, and which readings ever waited. A file
 * that shrank was compacted and is read again from its start.
 */
export class OutboxWatcher {
  private readonly files = new Map<string, OutboxState>();

  constructor(
    private readonly stateDir: string,
    private readonly fileName = 'outbox.jsonl',
  ) {}

  /** Pending readings per subscription, now. */
  sample(): Map<string, Set<string>> {
    const result = new Map<string, Set<string>>();
    if (!existsSync(this.stateDir)) return result;
    for (const entry of readdirSync(this.stateDir)) {
      const path = join(this.stateDir, entry, this.fileName);
      if (!existsSync(path)) continue;
      result.set(entry, new Set(this.read(path).pending));
    }
    return result;
  }

  private read(path: string): OutboxState {
    let state = this.files.get(path);
    const size = statSync(path).size;
    if (!state || size < state.offset) {
      state = { offset: 0, partial: '', pending: new Set() };
      this.files.set(path, state);
    }
    if (size === state.offset) return state;
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(size - state.offset);
      readSync(fd, buffer, 0, buffer.length, state.offset);
      state.offset = size;
      const lines = (state.partial + buffer.toString('utf8')).split('\n');
      state.partial = lines.pop() ?? '';
      for (const line of lines.filter((l) => l !== '')) applyOutboxLine(state.pending, line);
    } finally {
      closeSync(fd);
    }
    return state;
  }
}

/**
 * One outbox line applied to the set of what waits: period starts of readings (meter-sim/src/outbox.ts), or
 * pseudonyms of shares (shareOutbox.ts).
 */
function applyOutboxLine(pending: Set<string>, line: string): void {
  const entry = JSON.parse(line) as {
    kind: string;
    reading?: { submission: { periodStart: string } };
    periodStarts?: string[];
    periodStart?: string;
    shares?: { share: { prid: string } }[];
    prids?: string[];
  };
  if (entry.kind === 'reading' && entry.reading) pending.add(entry.reading.submission.periodStart);
  else if (entry.kind === 'shares') entry.shares?.forEach((s) => pending.add(s.share.prid));
  else if (entry.kind === 'committed') entry.periodStarts?.forEach((p) => pending.delete(p));
  else if (entry.prids) entry.prids.forEach((p) => pending.delete(p));
  else if (entry.kind === 'dropped' && entry.periodStart !== undefined) pending.delete(entry.periodStart);
}
