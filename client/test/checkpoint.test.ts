import type { Network } from '@hyperledger/fabric-gateway';
import { chainCheckpointPath } from '../src/reporting/sync';

/** A network whose qscc answers GetBlockByNumber(channel, 0) with this genesis block. */
function networkWithGenesis(genesis: string): Network {
  const calls: string[][] = [];
  return {
    getName: () => 'northgrid',
    getContract: (name: string) => ({
      evaluateTransaction: async (fn: string, ...args: string[]) => {
        calls.push([name, fn, ...args]);
        if (name !== 'qscc' || fn !== 'GetBlockByNumber' || args.join() !== 'northgrid,0') {
          throw new Error(`unexpected call ${calls.at(-1)?.join(' ')}`);
        }
        return Buffer.from(genesis);
      },
    }),
  } as unknown as Network;
}

describe('report sync checkpoints', () => {
  it('when the network is created again then its checkpoint is another file, so no block is skipped', async () => {
    const path = '/keystore/report-sync/smartmeter_reports.northgrid.json';
    const first = await chainCheckpointPath(networkWithGenesis('genesis of the first network'), path);
    const again = await chainCheckpointPath(networkWithGenesis('genesis of the first network'), path);
    const second = await chainCheckpointPath(networkWithGenesis('genesis of a new network'), path);

    expect(first).toMatch(/^\/keystore\/report-sync\/smartmeter_reports\.northgrid\.[0-9a-f]{16}\.json$/);
    expect(again).toBe(first);
    expect(second).not.toBe(first);
  });
});
