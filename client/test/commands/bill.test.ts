import { newOrgKeyPair } from '@smartmeter/crypto';
import type { BillRecord } from '@smartmeter/domain';
import { runBillVerify } from '../../src/commands/bill';
import { CommandExit } from '../../src/commands/context';
import {
  billEvidence,
  householdSubscription,
  orgKeyInKeystore,
  subscriptionRecord,
} from './support/fixtures';
import { TestWorld } from './support/world';

describe('meterctl bill issue', () => {
  it('when the operator issues then the unwrapped session key goes to the distributor and the authority as endorsers', async () => {
    const world = new TestWorld();
    const sessionKey = Buffer.alloc(32, 7);
    const subscription = subscriptionRecord(sessionKey, [
      { mspId: 'Distributor1MSP', publicKeyPem: orgKeyInKeystore(world.keystore, 'Distributor1MSP') },
      { mspId: 'AuthorityMSP', publicKeyPem: newOrgKeyPair().publicKeyPem },
    ]);
    const { bill } = billEvidence(sessionKey, [1000, 2500]);
    const issue = jest.fn(async (): Promise<BillRecord> => bill);
    world.clients = { subscriptions: { get: async () => subscription }, billing: { issue } };

    const result = await world.run('bill', 'issue', 'sub_1', '--from', '2026-11-01', '--to', '2026-11-02');

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'bill bill_1 for sub_1 (Distributor1MSP): ISSUED',
        '  period 2026-11-01T00:00:00Z - 2026-11-02T00:00:00Z, 2 of 48 readings, 3.500 kWh',
        '  flat            3.500 kWh  0.88 GBP',
        '  standing charge 1 days  0.50 GBP',
        '  subtotal 1.38 GBP, tax 0.07 GBP, total 1.45 GBP',
        '  46 periods without a reading (not billed)',
        '',
      ].join('\n'),
    });
    expect(issue).toHaveBeenCalledWith('sub_1', '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', sessionKey, [
      'Distributor1MSP',
      'AuthorityMSP',
    ]);
  });

  it('when the organization has no grant and no own key then it exits 2 and issues nothing', async () => {
    const world = new TestWorld();
    const subscription = subscriptionRecord(Buffer.alloc(32, 1), []);
    world.clients.subscriptions = { get: async () => subscription };

    const result = await world.run('bill', 'issue', 'sub_1', '--from', '2026-11-01', '--to', '2026-11-02');

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `meterctl: no key for sub_1: key ${subscription.keyId} is not in ${world.keystore.dir} and Distributor1MSP has no grant\n`,
    });
    expect(world.methodsCalled()).toEqual(['subscriptions.get']);
  });
});

describe('meterctl bill verify', () => {
  function verifyWorld(tamper: (bill: BillRecord) => BillRecord = (bill) => bill): TestWorld {
    const world = new TestWorld();
    const { sessionKey, subscription } = householdSubscription(world.keystore, { status: 'ACTIVE' });
    const evidence = billEvidence(sessionKey, [1000, 2500]);
    const bill = tamper(evidence.bill);
    world.clients = {
      billing: { get: async () => bill },
      subscriptions: { get: async () => subscription },
      billEvidence: async () => ({ ...evidence, bill }),
    };
    return world;
  }

  it('when the bill matches the recomputation from the ledger then it says OK (exit 0)', async () => {
    const world = verifyWorld();

    const human = await world.run('bill', 'verify', 'bill_1');
    const json = await world.run('--json', 'bill', 'verify', 'bill_1');

    expect(human).toEqual({ code: 0, stderr: '', stdout: 'OK: bill bill_1 matches the ledger\n' });
    expect(JSON.parse(json.stdout)).toEqual({ billId: 'bill_1', ok: true, differences: [] });
  });

  it('when a figure differs then every difference is printed on stdout and it exits 1 with nothing on stderr', async () => {
    const world = verifyWorld((bill) => ({ ...bill, totalMinor: bill.totalMinor + 1 }));

    const result = await world.run('bill', 'verify', 'bill_1');

    expect(result).toEqual({
      code: 1,
      stderr: '',
      stdout: 'MISMATCH: bill bill_1\n  totalMinor: bill 146, recomputed 145\n',
    });
  });

  it('when the run function finds a mismatch then it ends with CommandExit(1) after printing', async () => {
    const world = verifyWorld((bill) => ({ ...bill, energyWh: 1 }));

    await expect(runBillVerify(world.deps(), 'bill_1', {})).rejects.toEqual(new CommandExit(1));
    expect(world.output().stdout).toBe('MISMATCH: bill bill_1\n  energyWh: bill 1, recomputed 3500\n');
  });

  it('when --session-key-file is malformed then it exits 2 before connecting', async () => {
    const world = verifyWorld();
    const keyFile = world.file('session.key', 'not hex');

    expect(await world.run('bill', 'verify', 'bill_1', '--session-key-file', keyFile)).toEqual({
      code: 2,
      stdout: '',
      stderr: `meterctl: session key file ${keyFile} must hold 64 lowercase hex characters\n`,
    });
    expect(world.connections).toBe(0);
  });
});

describe('meterctl bill pay, resolve', () => {
  it('when a payment is recorded then the amount in minor units and the reference are sent', async () => {
    const world = new TestWorld();
    const { bill } = billEvidence(Buffer.alloc(32, 3), [1000]);
    const pay = jest.fn(async (): Promise<BillRecord> => ({
      ...bill,
      status: 'PAID',
      payment: { amountMinor: 145, reference: 'ref-9', paidAt: '2026-11-20T10:00:00Z' },
    }));
    world.clients.billing = { pay };

    const result = await world.run('bill', 'pay', 'bill_1', '--amount', '145', '--reference', 'ref-9');

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/: PAID\n[\s\S]*\n {2}paid 2026-11-20T10:00:00Z: 1.45 GBP ref ref-9\n$/);
    expect(pay).toHaveBeenCalledWith('bill_1', 145, 'ref-9');
  });

  it('when the amount is negative or the outcome unknown then it exits 2 and calls no contract', async () => {
    const world = new TestWorld();

    const negative = await world.run('bill', 'pay', 'bill_1', '--amount', '-1', '--reference', 'r');
    const outcome = await world.run('bill', 'resolve', 'bill_1', '--outcome', 'maybe', '--note', 'n');

    expect(negative).toEqual({
      code: 2,
      stdout: '',
      stderr: 'meterctl: --amount must be an integer from 0 to 9007199254740991 (got "-1")\n',
    });
    expect(outcome).toEqual({
      code: 2,
      stdout: '',
      stderr: 'meterctl: --outcome must be UPHELD or REJECTED\n',
    });
    expect(world.calls).toEqual([]);
  });
});
