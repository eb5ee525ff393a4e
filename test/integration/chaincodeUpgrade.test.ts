import type { PingRecord } from '@smartmeter/domain';
import { openGateway } from '../../client/src/gateway';
import { CHAINCODE, profile, testNetwork } from '../support/network';

const utf8 = new TextDecoder();

function committedSequences(deployOutput: string): Record<string, number> {
  const sequences: Record<string, number> = {};
  for (const match of deployOutput.matchAll(/committed smartmeter sequence (\d+) on (\w+)/g)) {
    sequences[match[2]] = Number(match[1]);
  }
  return sequences;
}

describe('./test-network.sh deployCC on a running network', () => {
  it('when deployCC runs again then both channels move to the next sequence and earlier data stays readable', async () => {
    const connection = openGateway(profile('distributor1'));
    try {
      const contract = connection.gateway.getNetwork('northgrid').getContract(CHAINCODE, 'System');
      const before = JSON.parse(utf8.decode(await contract.submitTransaction('Ping', 'before upgrade'))) as {
        pingId: string;
      };

      const first = committedSequences(await testNetwork('deployCC'));
      const second = committedSequences(await testNetwork('deployCC'));

      expect(Object.keys(second).sort()).toEqual(['northgrid', 'southgrid']);
      expect(second.northgrid).toBe(first.northgrid + 1);
      expect(second.southgrid).toBe(first.southgrid + 1);

      // The upgraded definition serves the state written under the previous one, and accepts new writes.
      const read = JSON.parse(
        utf8.decode(await contract.evaluateTransaction('GetPing', before.pingId)),
      ) as PingRecord;
      expect(read).toMatchObject({ pingId: before.pingId, message: 'before upgrade' });
      await expect(contract.submitTransaction('Ping', 'after upgrade')).resolves.toBeDefined();
    } finally {
      connection.close();
    }
  });
});
