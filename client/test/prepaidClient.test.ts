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

/**
 * A channel whose Prepaid contract records each proposal and evaluation and answers with one wallet; the first
 * commits get the given codes (a lost race), the later ones are valid.
 */
function fakeChannel(commitCodes: number[] = []) {
  const proposals: { fn: string; options: ProposalOptions }[] = [];
  const evaluations: string[][] = [];
  const transaction = {
    getTransactionId: () => 'tx-1',
    getResult: () => utf8.encode(WALLET),
    submit: async () => {
      const code = commitCodes.shift() ?? StatusCode.VALID;
      return {
        getStatus: async () => ({
          blockNumber: 1n,
          code,
          successful: code === StatusCode.VALID,
          transactionId: 'tx-1',
        }),
      };
    },
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

  it.each([
    ['MVCC_READ_CONFLICT', StatusCode.MVCC_READ_CONFLICT],
    ['PHANTOM_READ_CONFLICT', StatusCode.PHANTOM_READ_CONFLICT],
  ])(
    'when a settlement loses a race at commit (%s) then it is endorsed anew and succeeds',
    async (_l, code) => {
      const { channel, proposals } = fakeChannel([code, code]);

      const wallet = await new PrepaidClient(channel).settle(
        'sub_000000000000000000000001',
        '2026-11-15T10:00:00Z',
        new Uint8Array(32),
        ['Distributor1MSP', 'AuthorityMSP'],
      );

      expect(wallet.balanceMinor).toBe(1417);
      expect(proposals.map((p) => p.fn)).toEqual(['Settle', 'Settle', 'Settle']);
    },
  );

  it('when it keeps losing then it stops after 4 attempts with the commit error; other invalid codes are not retried', async () => {
    const losing = fakeChannel(Array<number>(4).fill(StatusCode.PHANTOM_READ_CONFLICT));
    await expect(
      new PrepaidClient(losing.channel).topUp('sub_000000000000000000000001', 100, 'PAY-1'),
    ).rejects.toMatchObject({ code: StatusCode.PHANTOM_READ_CONFLICT });
    expect(losing.proposals).toHaveLength(4);

    const refused = fakeChannel([StatusCode.ENDORSEMENT_POLICY_FAILURE]);
    await expect(
      new PrepaidClient(refused.channel).topUp('sub_000000000000000000000001', 100, 'PAY-1'),
    ).rejects.toMatchObject({ code: StatusCode.ENDORSEMENT_POLICY_FAILURE });
    expect(refused.proposals).toHaveLength(1);
  });
});
