import type { ServiceError } from '@grpc/grpc-js';
import { EndorseError, GatewayError } from '@hyperledger/fabric-gateway';
import type { AggregationClient } from '@smartmeter/client/dist/contracts/AggregationClient';
import { LedgerRefusal, NetworkAggregationLedger } from '../src/ledger';

const cause = new Error('grpc') as ServiceError;
const refused = (message: string) =>
  new EndorseError({
    code: 2,
    details: [
      {
        address: 'peer0.distributor1:7051',
        mspId: 'Distributor1MSP',
        message: `chaincode response 500, ${message}`,
      },
    ],
    cause,
    message: '2 UNKNOWN: evaluate call to endorse returned error',
    transactionId: 'tx1',
  });
const unreachable = new GatewayError({
  code: 14,
  details: [],
  cause,
  message: '14 UNAVAILABLE: No connection established',
});

function ledgerFailingWith(err: Error): NetworkAggregationLedger {
  const fail = () => Promise.reject(err);
  const client = {
    filters: fail,
    submitShares: fail,
    closeRound: fail,
    round: fail,
  } as unknown as AggregationClient;
  return new NetworkAggregationLedger(client);
}

describe('the network ledger', () => {
  test('when the ledger has no filters or no such closed round then the answer is undefined', async () => {
    const ledger = ledgerFailingWith(refused('NOT_FOUND: no aggregation filters for north on 2026-01-15'));
    await expect(ledger.filters('north', '2026-01-15')).resolves.toBeUndefined();
    await expect(ledger.round('north', '2026-01-15T10:00:00Z')).resolves.toBeUndefined();
  });

  test('when the chaincode refuses then the refusal carries its code', async () => {
    const ledger = ledgerFailingWith(refused('CONFLICT: round north 2026-01-15T10:00:00Z is already closed'));
    const err: unknown = await ledger.closeRound('north', '2026-01-15T10:00:00Z').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerRefusal);
    expect(err).toEqual(
      expect.objectContaining({
        code: 'CONFLICT',
        text: 'round north 2026-01-15T10:00:00Z is already closed',
      }),
    );
    await expect(
      ledger.submitShares({ regionCode: 'north', periodStart: 'x', shares: [] }),
    ).rejects.toBeInstanceOf(LedgerRefusal);
  });

  test('when the peer cannot be reached then the gateway error is passed on, to be retried', async () => {
    const ledger = ledgerFailingWith(unreachable);
    await expect(ledger.filters('north', '2026-01-15')).rejects.toBe(unreachable);
    await expect(ledger.closeRound('north', '2026-01-15T10:00:00Z')).rejects.toBe(unreachable);
  });
});
