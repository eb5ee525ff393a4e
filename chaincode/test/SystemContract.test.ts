import { SystemContract } from '../src/contracts/SystemContract';
import { MemoryLedger } from './support/memoryContext';

const distributor = { mspId: 'Distributor1MSP', attributes: { role: 'operator' } };

describe('System contract', () => {
  it('when Ping is called then it stores a sorted-key record keyed by the tx id and emits PingRecorded', async () => {
    const ledger = new MemoryLedger();
    const ctx = ledger.context(distributor, new Date('2026-03-01T12:30:00.250Z'));

    const returned = await new SystemContract().Ping(ctx, 'hello grid');

    const txId = ctx.stub.getTxID();
    const stored = ledger.read(`\u0000ping\u0000${txId}\u0000`);
    expect(stored).toBe(
      `{"docType":"ping","message":"hello grid","pingId":"${txId}","recordedAt":"2026-03-01T12:30:00.250Z","submitterMspId":"Distributor1MSP"}`,
    );
    expect(returned).toBe(stored);
    expect(ledger.events).toEqual([{ name: 'PingRecorded', payload: `{"pingId":"${txId}"}` }]);
  });

  it.each([
    ['an empty message', ''],
    ['a blank message', '   '],
    ['a message over 256 characters', 'x'.repeat(257)],
    ['a message with control characters', 'bad\u0007bell'],
  ])(
    'when Ping gets %s then it is rejected with INVALID_ARGUMENT and nothing is written',
    async (_label, message) => {
      const ledger = new MemoryLedger();
      await expect(new SystemContract().Ping(ledger.context(distributor), message)).rejects.toThrow(
        /^INVALID_ARGUMENT: message must/,
      );
      expect(ledger.state.size).toBe(0);
      expect(ledger.events).toHaveLength(0);
    },
  );

  it('when GetPing is asked for a stored ping then it returns the stored bytes', async () => {
    const ledger = new MemoryLedger();
    const contract = new SystemContract();
    const written = await contract.Ping(ledger.context(distributor), 'read me back');
    const pingId = (JSON.parse(written) as { pingId: string }).pingId;

    await expect(contract.GetPing(ledger.context({ mspId: 'AuthorityMSP' }), pingId)).resolves.toBe(written);
  });

  it('when GetPing is asked for an unknown id then it fails with NOT_FOUND', async () => {
    const ledger = new MemoryLedger();
    await expect(new SystemContract().GetPing(ledger.context(distributor), 'a'.repeat(64))).rejects.toThrow(
      /^NOT_FOUND: no ping with id a{64}$/,
    );
  });

  it('when GetPing gets something that is not a tx id then it fails with INVALID_ARGUMENT', async () => {
    const ledger = new MemoryLedger();
    await expect(new SystemContract().GetPing(ledger.context(distributor), '../etc')).rejects.toThrow(
      /^INVALID_ARGUMENT: pingId must be a transaction id/,
    );
  });

  it('when Version is evaluated then it reports the chaincode name and version', async () => {
    const ledger = new MemoryLedger();
    await expect(new SystemContract().Version(ledger.context(distributor))).resolves.toBe(
      '{"name":"smartmeter","version":"0.1.0"}',
    );
  });
});
