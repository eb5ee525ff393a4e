import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoDir, topologyHosts, topologyNodes, type HostEntry } from './network';
import { join } from 'node:path';

/** Helpers for the multi-host tests: hosts are network namespaces made by network/scripts/hosts.sh. */
const execFileAsync = promisify(execFile);

/** The hosts of the running topology that are network namespaces; the multi-host tests need them. */
export function namespacedHosts(): HostEntry[] {
  const hosts = topologyHosts().filter((host) => host.netns !== null);
  if (hosts.length === 0) {
    throw new Error(
      'NETWORK_CONF declares no host with a network namespace: run these tests through network/scripts/multihost-tests.sh',
    );
  }
  return hosts;
}

export function hostNamed(name: string): HostEntry {
  const host = topologyHosts().find((entry) => entry.name === name);
  if (!host) throw new Error(`NETWORK_CONF declares no host ${name}`);
  return host;
}

/** The host (by name) that a node of network.conf runs on. */
export function hostOfNode(node: string): HostEntry {
  const entry = topologyNodes().find((candidate) => candidate.name === node);
  if (!entry) throw new Error(`NETWORK_CONF has no node ${node}`);
  return hostNamed(entry.hostName);
}

/** The network namespace a process is in (`ip netns identify`), or '' when it is in none that has a name. */
export async function netnsOf(pid: number): Promise<string> {
  const { stdout } = await execFileAsync('ip', ['netns', 'identify', String(pid)]);
  return stdout.trim();
}

/** `./test-network.sh hosts <args>` against the running topology (NETWORK_CONF). */
export async function hostsCommand(...args: string[]): Promise<string> {
  const { stdout, stderr } = await execFileAsync(join(repoDir, 'test-network.sh'), ['hosts', ...args], {
    cwd: repoDir,
    env: process.env,
  });
  return stdout + stderr;
}
