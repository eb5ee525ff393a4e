import {
  StatusCode,
  type Contract,
  type Gateway,
  type Network,
  type ProposalOptions,
} from '@hyperledger/fabric-gateway';
import type { BillComputation } from '@smartmeter/domain';
import { PrepaidClient } from '../src/contracts/PrepaidClient';

const utf8 = new TextEncoder();
const WALLET = '{"docType":"wallet","subscriptionId":"sub_000000000000000000000001","balanceMinor":1417}';

/** A channel whose Prepaid contract records each proposal and evaluation and answers with one wallet. */
function fakeChannel() {
  const proposals: { fn: string; options: ProposalOptions }[] = [];
  const evaluations: string[][] = [];
  const transaction = {
    getTransactionId: () => 'tx-1',
    getResult: () => utf8.encode(WALLET),
    submit: async () => ({
      getStatus: async () => ({
        blockNumber: 1n,
        code: StatusCode.VALID,
        successful: true,
        transactionId: 'tx-1',
      }),
    }),
  };
  const contract = {
    newProposal: (fn: string, options: ProposalOptions) => {
      proposals.push({ fn, options });
      return { endorse: async () => transaction };
    },
    evaluateTransaction: async (...args: string[]) => {
      evaluations.push(args);
      return utf8.encode(`[${WALLET}]`);
    },
  } as unknown as Contract;
  const network = { getName: () => 'northgrid', getContract: () => contract } as unknown as Network;
  const channel = { gateway: {} as Gateway, network, chaincodeName: 'smartmeter' };
  return { channel, proposals, evaluations };
}

describe('PrepaidClient', () => {
  it('when an aggregate settlement is claimed then the claim goes as sorted-key JSON and no transient data', async () => {
    const { channel, proposals } = fakeChannel();
    const computation = { totalMinor: 83, readingCount: 4, energyWh: 3000 } as BillComputation;

    const wallet = await new PrepaidClient(channel).settleAggregate(
      'sub_000000000000000000000001',
      '2026-11-15T10:00:00Z',
      { costFrom: '2026-11-15T08:00:00Z', computation },
    );

    expect(wallet.balanceMinor).toBe(1417);
    expect(proposals).toEqual([
      {
        fn: 'SettleAggregate',
        options: {
          arguments: [
            'sub_000000000000000000000001',
            '2026-11-15T10:00:00Z',
            '{"computation":{"energyWh":3000,"readingCount":4,"totalMinor":83},"costFrom":"2026-11-15T08:00:00Z"}',
          ],
        },
      },
    ]);
  });

  it("when the operator lists a distributor's wallets then it evaluates ListWallets with its MSP id", async () => {
    const { channel, evaluations } = fakeChannel();

    const wallets = await new PrepaidClient(channel).wallets('Distributor1MSP');

    expect(wallets.map((w) => w.balanceMinor)).toEqual([1417]);
    expect(evaluations).toEqual([['ListWallets', 'Distributor1MSP']]);
  });
});
