/**
 * What the network's processes cost while a round runs, read from /proc (Linux): CPU time of every node that
 * ./test-network.sh started (and its child processes), and the size of a peer's block files and state database.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { networkHome, recordedPid, topologyNodes } from '../../test/support/network';

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

export interface CpuSnapshot {
  atMs: number;
  /** CPU seconds per node name (the node's process and its descendants), plus "load generator" (this process). */
  seconds: Record<string, number>;
}

/** utime + stime of every live process, and its parent, from /proc/<pid>/stat. */
function processTable(): Map<number, { parent: number; seconds: number }> {
  const table = new Map<number, { parent: number; seconds: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const parent = Number(fields[1]);
      const ticks = Number(fields[11]) + Number(fields[12]);
      table.set(Number(entry), { parent, seconds: ticks / TICKS_PER_SECOND });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return table;
}

function treeSeconds(table: Map<number, { parent: number; seconds: number }>, root: number): number {
  let total = 0;
  for (const [pid, entry] of table) {
    for (let at = pid, hops = 0; at > 1 && hops < 16; at = table.get(at)?.parent ?? 0, hops += 1) {
      if (at === root) {
        total += entry.seconds;
        break;
      }
    }
  }
  return total;
}

export function cpuSnapshot(): CpuSnapshot {
  const table = processTable();
  const seconds: Record<string, number> = {};
  for (const node of topologyNodes()) {
    const pid = recordedPid(node.name);
    if (pid !== null && table.has(pid)) seconds[node.name] = treeSeconds(table, pid);
  }
  const own = process.cpuUsage();
  seconds['load generator'] = (own.user + own.system) / 1e6;
  return { atMs: Date.now(), seconds };
}

/** Each process's share of one core between two snapshots (0.73 = 73 % of a core). */
export function cpuShares(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const wall = (after.atMs - before.atMs) / 1000;
  const shares: Record<string, number> = {};
  for (const [name, seconds] of Object.entries(after.seconds)) {
    const start = before.seconds[name] ?? 0;
    shares[name] = wall > 0 ? Math.max(0, seconds - start) / wall : 0;
  }
  return shares;
}

function directoryBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(path) : fileBytes(path);
  }
  return total;
}

/** A file's size; 0 when it went away meanwhile (goleveldb compacts while we count). */
function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/** Where a peer keeps its ledgers (core.yaml peer.fileSystemPath as nodes.sh sets it). */
function ledgersDataOf(peer: string): string {
  const dir = join(networkHome, 'data', peer, 'production', 'ledgersData');
  if (!existsSync(dir)) throw new Error(`no ledger folder ${dir}: is the network up?`);
  return dir;
}

export interface DiskSnapshot {
  /** The channel's block files on the peer. */
  blockBytes: number;
  /** The peer's state database (goleveldb; all channels). */
  stateBytes: number;
}

export function diskSnapshot(peer: string, channel: string): DiskSnapshot {
  const ledgers = ledgersDataOf(peer);
  return {
    blockBytes: directoryBytes(join(ledgers, 'chains', 'chains', channel)),
    stateBytes: directoryBytes(join(ledgers, 'stateLeveldb')),
  };
}
