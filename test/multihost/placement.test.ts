import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { netnsOf, namespacedHosts } from '../support/hosts';
import { networkHome, portListening, recordedPid, topologyNodes, type NodeEntry } from '../support/network';

/**
 * Issue 21, part 4: every organization on a host of its own (a network namespace), as NETWORK_CONF places it.
 * Run by network/scripts/multihost-tests.sh against a network started on the generated multi-host topology.
 */
const hosts = namespacedHosts();
const nodes = topologyNodes().filter((node) => recordedPid(node.name) !== null);
const listening = nodes.filter((node) => node.port !== null);

/** The certificate a node presents on its TLS port (ALPN h2: gRPC servers refuse connections without it). */
function servedCertificate(node: NodeEntry): Promise<X509Certificate> {
  return new Promise((done, fail) => {
    const socket = connectTls({
      host: node.host,
      port: node.port ?? 0,
      servername: node.name,
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
      timeout: 5000,
    });
    socket.once('secureConnect', () => {
      const raw = socket.getPeerX509Certificate();
      socket.destroy();
      if (raw) done(raw);
      else fail(new Error(`${node.name} presented no certificate`));
    });
    socket.once('error', fail);
    socket.once('timeout', () => socket.destroy(new Error(`${node.name}: TLS handshake timed out`)));
  });
}

/** The certificate file a TLS node was enrolled with (network/scripts/crypto.sh). */
function enrolledCertificate(node: NodeEntry): X509Certificate {
  const file =
    node.kind === 'ca'
      ? join(networkHome, 'data', node.name, 'ca-cert.pem')
      : join(networkHome, 'orgs', node.org, 'nodes', node.name, 'tls', 'cert.pem');
  return new X509Certificate(readFileSync(file));
}

describe('each organization on its own host', () => {
  it('when the topology is generated then it has one host per operating organization, each a namespace of its own', () => {
    expect(hosts.map((host) => host.name)).toEqual([
      'host-orderers',
      'host-distributor1',
      'host-distributor2',
      'host-authority',
    ]);
    expect(new Set(hosts.map((host) => host.netns)).size).toBe(hosts.length);
    expect(hosts.map((host) => host.address)).toEqual([
      '10.77.0.11',
      '10.77.0.12',
      '10.77.0.13',
      '10.77.0.14',
    ]);
    expect(nodes.length).toBe(21);
  });

  it("when the nodes run then each process is in its host's network namespace", async () => {
    const placed = await Promise.all(
      nodes.map(async (node) => [node.name, await netnsOf(recordedPid(node.name) as number)]),
    );
    expect(Object.fromEntries(placed)).toEqual(
      Object.fromEntries(nodes.map((node) => [node.name, node.netns])),
    );
  });

  it("when a node listens then it is on its host's address, and peers and orderers are not on this machine's loopback", async () => {
    for (const node of listening) {
      expect([node.name, await portListening(node.host, node.port as number)]).toEqual([node.name, true]);
      if (node.opsPort !== null) {
        expect([node.name, await portListening(node.host, node.opsPort)]).toEqual([node.name, true]);
      }
    }
    for (const node of nodes.filter((entry) => entry.kind === 'peer' || entry.kind === 'orderer')) {
      expect([node.name, await portListening('127.0.0.1', node.port as number)]).toEqual([node.name, false]);
    }
  });

  it("when a peer, orderer or CA is asked for its TLS certificate then it names the node, its host's name and its address", async () => {
    const served = listening.filter((node) => ['peer', 'orderer', 'ca'].includes(node.kind));
    expect(served.length).toBe(13);
    for (const node of served) {
      const names = (await servedCertificate(node)).subjectAltName ?? '';
      for (const expected of [`DNS:${node.name}`, `DNS:${node.hostName}`, `IP Address:${node.host}`]) {
        expect([node.name, names]).toEqual([node.name, expect.stringContaining(expected)]);
      }
    }
    for (const node of listening.filter((entry) => ['ccaas', 'broker'].includes(entry.kind))) {
      const names = enrolledCertificate(node).subjectAltName ?? '';
      expect([node.name, names]).toEqual([node.name, expect.stringContaining(`DNS:${node.hostName}`)]);
      expect([node.name, names]).toEqual([node.name, expect.stringContaining(`IP Address:${node.host}`)]);
    }
  });
});
