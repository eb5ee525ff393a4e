import { SystemContract } from '../src/contracts/SystemContract';
import { MemoryLedger } from './support/memoryContext';

const distributor = { mspId: 'Distributor1MSP', attributes: { role: 'operator' } };

describe('System contract', () => {
  it('when Ping is called then it stores a sorted-key record keyed by the tx id and emits PingRecorded', async () => {
    const ledger = new MemoryLedger();
    let txId = '';
    const returned = await ledger.invoke(
      distributor,
      (ctx) => {
        txId = ctx.stub.getTxID();
        return new SystemContract().Ping(ctx, 'hello grid');
      },
      { time: new Date('2026-03-01T12:30:00.250Z') },
    );

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
      await expect(
        ledger.invoke(distributor, (ctx) => new SystemContract().Ping(ctx, message)),
      ).rejects.toThrow(/^INVALID_ARGUMENT: message must/);
      expect(ledger.state.size).toBe(0);
      expect(ledger.events).toHaveLength(0);
    },
  );

  it('when GetPing is asked for a stored ping then it returns the stored bytes', async () => {
    const ledger = new MemoryLedger();
    const contract = new SystemContract();
    const written = await ledger.invoke(distributor, (ctx) => contract.Ping(ctx, 'read me back'));
    const pingId = (JSON.parse(written) as { pingId: string }).pingId;

    await expect(
      ledger.invoke({ mspId: 'AuthorityMSP' }, (ctx) => contract.GetPing(ctx, pingId)),
    ).resolves.toBe(written);
  });

  it('when GetPing is asked for an unknown id then it fails with NOT_FOUND', async () => {
    const ledger = new MemoryLedger();
    await expect(
      ledger.invoke(distributor, (ctx) => new SystemContract().GetPing(ctx, 'a'.repeat(64))),
    ).rejects.toThrow(/^NOT_FOUND: ping a{64} does not exist$/);
  });

  it('when GetPing gets something that is not a tx id then it fails with INVALID_ARGUMENT', async () => {
    const ledger = new MemoryLedger();
    await expect(
      ledger.invoke(distributor, (ctx) => new SystemContract().GetPing(ctx, '../etc')),
    ).rejects.toThrow(/^INVALID_ARGUMENT: pingId must be a transaction id/);
  });

  it('when Version is evaluated then it reports the chaincode name and version', async () => {
    const ledger = new MemoryLedger();
    await expect(ledger.invoke(distributor, (ctx) => new SystemContract().Version(ctx))).resolves.toBe(
      '{"name":"smartmeter","version":"0.1.0"}',
    );
  });
});
