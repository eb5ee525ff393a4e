import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { networkHome, recordedPid, topologyNodes } from '../../support/network';

/**
 * Every local user can read every process's command line (ps, /proc/<pid>/cmdline). The network's secrets — the
 * CA registrars', every identity's enrollment secret, the IPFS node's RPC passwords — must not be on one.
 */
function enrollmentSecrets(): { where: string; secret: string }[] {
  const orgs = join(networkHome, 'orgs');
  return readdirSync(orgs).flatMap((org) => {
    const dir = join(orgs, org, 'secrets');
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    return names.map((name) => ({
      where: `${org}/${name}`,
      secret: readFileSync(join(dir, name), 'utf8').trim(),
    }));
  });
}

function commandLines(): { pid: string; line: string }[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        return [{ pid, line: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ') }];
      } catch {
        return [];
      }
    });
}

describe('secrets on command lines', () => {
  it('when any local user lists the processes then no enrollment or registrar secret is on a command line', () => {
    const secrets = enrollmentSecrets();
    // The registrar of every CA at least: the check must have something to look for.
    expect(secrets.filter((s) => s.where.endsWith('/registrar')).length).toBeGreaterThanOrEqual(6);
    // The IPFS node's RPC passwords too (its owner's secrets; `up` puts them in Kubo's config, not on a command line).
    const ipfsOwner = topologyNodes().find((node) => (node.kind as string) === 'ipfs')?.org;
    if (ipfsOwner)
      expect(secrets.map((s) => s.where)).toEqual(
        expect.arrayContaining([`${ipfsOwner}/ipfs-writer`, `${ipfsOwner}/ipfs-reader`]),
      );
    const cas = topologyNodes().filter((node) => node.kind === 'ca');
    const caPids = cas.map((node) => String(recordedPid(node.name)));
    const lines = commandLines();
    // The CA servers are running and were looked at.
    expect(lines.filter(({ pid }) => caPids.includes(pid)).map(({ line }) => line)).toHaveLength(cas.length);

    const exposed = lines.flatMap(({ pid, line }) =>
      secrets
        .filter(({ secret }) => secret.length >= 16 && line.includes(secret))
        .map(({ where }) => `${where} in pid ${pid}`),
    );
    expect(exposed).toEqual([]);
  });
});
