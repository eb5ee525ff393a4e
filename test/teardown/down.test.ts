import { existsSync } from 'node:fs';
import {
  networkHome,
  portListening,
  processAlive,
  recordedPid,
  testNetwork,
  topologyNodes,
} from '../support/network';

// Runs last: it stops the network that the integration tests used.
describe('./test-network.sh down', () => {
  it('when the network is taken down then none of its processes run and none of its ports listen', async () => {
    const nodes = topologyNodes();
    const pids = nodes.map((node) => recordedPid(node.name)).filter((pid): pid is number => pid !== null);
    expect(pids.length).toBeGreaterThan(0);
    expect(pids.some(processAlive)).toBe(true);

    await testNetwork('down');

    expect(pids.filter(processAlive)).toEqual([]);
    const ports = nodes.flatMap((node) =>
      [node.port, node.opsPort, node.extraPort]
        .filter((port): port is number => port !== null)
        .map((port) => ({ node: node.name, host: node.host, port })),
    );
    const stillListening = [];
    for (const entry of ports) {
      if (await portListening(entry.host, entry.port)) stillListening.push(entry);
    }
    expect(stillListening).toEqual([]);
    expect(existsSync(networkHome)).toBe(false);
  });

  it('when down runs again on a stopped network then it succeeds and changes nothing', async () => {
    await expect(testNetwork('down')).resolves.toContain('network is down');
    expect(existsSync(networkHome)).toBe(false);
  });
});
