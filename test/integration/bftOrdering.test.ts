import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openGateway, type GatewayConnection } from '../../client/src/gateway';
import {
  CHAINCODE,
  eventually,
  networkHome,
  ordererChannelInfo,
  portListening,
  processAlive,
  profile,
  recordedPid,
  testNetwork,
  topologyNodes,
  type NodeEntry,
} from '../support/network';

const utf8 = new TextDecoder();
const orderers = topologyNodes().filter((node) => node.kind === 'orderer');
// Consenter 1 is SmartBFT's first leader; the last consenter is a follower. Both failures must be survived.
const leader = orderers[0];
const follower = orderers[orderers.length - 1];
const channels = [
  { channel: 'northgrid', writer: 'distributor1' },
  { channel: 'southgrid', writer: 'distributor2' },
];

const connections: GatewayConnection[] = [];

async function submitAndConfirm(org: string, channel: string, message: string): Promise<void> {
  const connection = openGateway(profile(org));
  connections.push(connection);
  const contract = connection.gateway.getNetwork(channel).getContract(CHAINCODE, 'System');
  const submitted = await (await contract.newProposal('Ping', { arguments: [message] }).endorse()).submit();
  const status = await submitted.getStatus();
  expect(status).toMatchObject({ successful: true, code: 0 });
  const record = JSON.parse(utf8.decode(submitted.getResult())) as { message: string };
  expect(record.message).toBe(message);
}

async function heights(nodes: NodeEntry[], channel: string): Promise<number[]> {
  return Promise.all(nodes.map(async (node) => (await ordererChannelInfo(node, channel)).height));
}

// `./test-network.sh up --raft` runs one etcdraft orderer: there is no BFT service to test then.
const orderingMode = existsSync(join(networkHome, 'ordering-mode'))
  ? readFileSync(join(networkHome, 'ordering-mode'), 'utf8').trim()
  : 'bft';
const describeBft = orderingMode === 'bft' ? describe : describe.skip;

describeBft('BFT ordering with one faulty orderer', () => {
  // Each fault test starts from a whole cluster: every orderer running and at the same height on both
  // channels. Killing one while another is still catching up would leave no quorum (3 of 4).
  async function wholeCluster(): Promise<void> {
    for (const orderer of orderers) {
      const pid = recordedPid(orderer.name);
      if (pid === null || !processAlive(pid)) await testNetwork('start', orderer.name);
    }
    for (const { channel } of channels) {
      await eventually(
        () => heights(orderers, channel),
        (hs) => hs.every((h) => h === hs[0]),
        90_000,
        `all orderers of ${channel} to reach the same height`,
      );
    }
  }

  beforeEach(wholeCluster);
  afterAll(async () => {
    for (const connection of connections) connection.close();
    await wholeCluster(); // leave the network whole for the tests that follow
  });

  it('every orderer is an active consenter of both channels', async () => {
    for (const { channel } of channels) {
      for (const orderer of orderers) {
        await expect(ordererChannelInfo(orderer, channel)).resolves.toMatchObject({
          status: 'active',
          consensusRelation: 'consenter',
        });
      }
    }
  });

  it.each([
    ['a follower', follower],
    ['consenter 1, the leader of a fresh network (a view change elects another)', leader],
  ])(
    'when %s is stopped then submissions still commit, and after restart it catches up',
    async (_label, victim) => {
      const survivors = orderers.filter((node) => node.name !== victim.name);
      const pid = recordedPid(victim.name);
      expect(pid).not.toBeNull();
      expect(processAlive(pid as number)).toBe(true);

      await testNetwork('stop', victim.name);
      expect(processAlive(pid as number)).toBe(false);
      expect(victim.port).not.toBeNull();
      await expect(portListening(victim.host, victim.port as number)).resolves.toBe(false);

      for (const { channel, writer } of channels) {
        const before = Math.max(...(await heights(survivors, channel)));
        await submitAndConfirm(writer, channel, `committed while ${victim.name} is down`);
        await submitAndConfirm('authority', channel, `second write while ${victim.name} is down`);
        const after = await eventually(
          () => heights(survivors, channel),
          (hs) => hs.every((h) => h >= before + 1),
          30_000,
          `the surviving orderers of ${channel} to grow past height ${before}`,
        );
        expect(Math.min(...after)).toBeGreaterThan(before);
      }

      await testNetwork('start', victim.name);
      const restartedPid = recordedPid(victim.name);
      expect(restartedPid).not.toBe(pid);
      expect(processAlive(restartedPid as number)).toBe(true);

      for (const { channel } of channels) {
        const target = Math.max(...(await heights(survivors, channel)));
        const caughtUp = await eventually(
          () => ordererChannelInfo(victim, channel),
          (info) => info.height === target,
          90_000,
          `${victim.name} to catch up to height ${target} on ${channel}`,
        );
        expect(caughtUp).toMatchObject({ status: 'active', consensusRelation: 'consenter', height: target });
      }

      // The restarted orderer takes part in ordering again: a new block reaches every orderer.
      await submitAndConfirm('distributor1', 'northgrid', `after ${victim.name} came back`);
      const target = Math.max(...(await heights(survivors, 'northgrid')));
      await eventually(
        () => heights(orderers, 'northgrid'),
        (hs) => hs.every((h) => h === target),
        // A restarted former leader learns of new blocks only after it rejoins the current view, which SmartBFT
        // detects through missed heartbeats (up to a minute with the default options).
        120_000,
        'all four orderers to reach the same height',
      );
    },
  );
});
