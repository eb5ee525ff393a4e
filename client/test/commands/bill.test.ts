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
import { householdsProfile, TestWorld } from './support/world';

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

    const result = await world.run(
      'bill',
      'issue',
      'sub_000000000000000000000001',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-02',
    );

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'bill bill_000000000000000000000001 for sub_000000000000000000000001 (Distributor1MSP): ISSUED',
        '  period 2026-11-01T00:00:00Z - 2026-11-02T00:00:00Z, 2 of 48 readings, 3.500 kWh',
        '  flat            3.500 kWh  0.88 GBP',
        '  standing charge 1 days  0.50 GBP',
        '  subtotal 1.38 GBP, tax 0.07 GBP, total 1.45 GBP',
        '  46 periods without a reading (not billed)',
        '',
      ].join('\n'),
    });
    expect(issue).toHaveBeenCalledWith(
      'sub_000000000000000000000001',
      '2026-11-01T00:00:00Z',
      '2026-11-02T00:00:00Z',
      sessionKey,
      ['Distributor1MSP', 'AuthorityMSP'],
    );
  });

  it('when the organization has no grant and no own key then it exits 2 and issues nothing', async () => {
    const world = new TestWorld();
    const subscription = subscriptionRecord(Buffer.alloc(32, 1), []);
    world.clients.subscriptions = { get: async () => subscription };

    const result = await world.run(
      'bill',
      'issue',
      'sub_000000000000000000000001',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-02',
    );

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `meterctl: no key for sub_000000000000000000000001: key ${subscription.keyId} is not in ${world.keystore.dir} and Distributor1MSP has no grant\n`,
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

    const human = await world.run('bill', 'verify', 'bill_000000000000000000000001');
    const json = await world.run('--json', 'bill', 'verify', 'bill_000000000000000000000001');

    expect(human).toEqual({
      code: 0,
      stderr: '',
      stdout: 'OK: bill bill_000000000000000000000001 matches the ledger\n',
    });
    expect(JSON.parse(json.stdout)).toEqual({
      billId: 'bill_000000000000000000000001',
      ok: true,
      differences: [],
      notes: [],
    });
  });

  it('when a figure differs then every difference is printed on stdout and it exits 1 with nothing on stderr', async () => {
    const world = verifyWorld((bill) => ({ ...bill, totalMinor: bill.totalMinor + 1 }));

    const result = await world.run('bill', 'verify', 'bill_000000000000000000000001');

    expect(result).toEqual({
      code: 1,
      stderr: '',
      stdout: 'MISMATCH: bill bill_000000000000000000000001\n  totalMinor: bill 146, recomputed 145\n',
    });
  });

  it('when the run function finds a mismatch then it ends with CommandExit(1) after printing', async () => {
    const world = verifyWorld((bill) => ({ ...bill, energyWh: 1 }));

    await expect(runBillVerify(world.deps(), 'bill_000000000000000000000001', {})).rejects.toEqual(
      new CommandExit(1),
    );
    expect(world.output().stdout).toBe(
      'MISMATCH: bill bill_000000000000000000000001\n  energyWh: bill 1, recomputed 3500\n',
    );
  });

  it('when --session-key-file is malformed then it exits 2 before connecting', async () => {
    const world = verifyWorld();
    const keyFile = world.file('session.key', 'not hex');

    expect(
      await world.run('bill', 'verify', 'bill_000000000000000000000001', '--session-key-file', keyFile),
    ).toEqual({
      code: 2,
      stdout: '',
      stderr: `meterctl: session key file ${keyFile} must hold 64 lowercase hex characters\n`,
    });
    expect(world.connections).toBe(0);
  });
});

const BILL = 'bill_000000000000000000000001';

describe('meterctl bill pay, resolve', () => {
  function payWorld(currency = 'GBP'): { world: TestWorld; pay: jest.Mock } {
    const world = new TestWorld();
    const { bill } = billEvidence(Buffer.alloc(32, 3), [1000]);
    const pay = jest.fn(
      async (_billId: string, amountMinor: number, reference: string): Promise<BillRecord> => ({
        ...bill,
        currency,
        status: 'PAID',
        payment: { amountMinor, reference, paidAt: '2026-11-20T10:00:00Z' },
      }),
    );
    world.clients.billing = { get: async () => ({ ...bill, currency }), pay };
    return { world, pay };
  }

  it('when the amount is given as bills show it then it is sent exactly in minor units', async () => {
    const { world, pay } = payWorld();

    const result = await world.run('bill', 'pay', BILL, '--amount', '110.89', '--reference', 'ref-9');

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/: PAID\n[\s\S]*\n {2}paid 2026-11-20T10:00:00Z: 110.89 GBP ref ref-9\n$/);
    expect(pay).toHaveBeenCalledWith(BILL, 11089, 'ref-9');
  });

  it.each([
    ['1.45', 145],
    ['1.4', 140],
    ['145', 14500],
    ['0.07', 7],
    ['0', 0],
    ['90071992547409.91', 9007199254740991],
  ])('when --amount is %s GBP then %d pence are sent', async (amount, minor) => {
    const { world, pay } = payWorld();

    expect((await world.run('bill', 'pay', BILL, '--amount', amount, '--reference', 'r')).code).toBe(0);
    expect(pay).toHaveBeenCalledWith(BILL, minor, 'r');
  });

  it('when the amount is beyond what a number holds exactly then it exits 2', async () => {
    const { world } = payWorld();

    expect(await world.run('bill', 'pay', BILL, '--amount', '90071992547409.92', '--reference', 'r')).toEqual(
      {
        code: 2,
        stdout: '',
        stderr: 'meterctl: --amount is too large (got "90071992547409.92")\n',
      },
    );
  });

  it("when the bill's currency has no minor unit then a whole amount is its minor units, and decimals are refused", async () => {
    const { world, pay } = payWorld('JPY');

    const whole = await world.run('bill', 'pay', BILL, '--amount', '1200', '--reference', 'r');
    const decimal = await world.run('bill', 'pay', BILL, '--amount', '1200.5', '--reference', 'r');

    expect(whole.stdout).toMatch(/paid 2026-11-20T10:00:00Z: 1200 JPY ref r\n$/);
    expect(pay).toHaveBeenCalledTimes(1);
    expect(pay).toHaveBeenCalledWith(BILL, 1200, 'r');
    expect(decimal).toEqual({
      code: 2,
      stdout: '',
      stderr: 'meterctl: --amount must be a whole number of JPY (it has no minor unit; got "1200.5")\n',
    });
  });

  it('when the amount has more decimals than the currency then it exits 2 after reading the bill, and pays nothing', async () => {
    const { world } = payWorld();

    const result = await world.run('bill', 'pay', BILL, '--amount', '110.891', '--reference', 'r');

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'meterctl: --amount has more than 2 decimals, the minor unit of GBP (got "110.891")\n',
    });
    expect(world.methodsCalled()).toEqual(['billing.get']);
  });

  it.each(['-1', '1e3', '12,50', 'ten', '1.', '.5', ' 1'])(
    'when --amount is "%s" then it exits 2 before connecting',
    async (amount) => {
      const { world } = payWorld();

      expect(await world.run('bill', 'pay', BILL, '--amount', amount, '--reference', 'r')).toEqual({
        code: 2,
        stdout: '',
        stderr: `meterctl: --amount must be a non-negative amount as bills show it, e.g. 110.89 (got "${amount}")\n`,
      });
      expect(world.connections).toBe(0);
    },
  );

  it('when the outcome is unknown then it exits 2 and calls no contract', async () => {
    const world = new TestWorld();

    const outcome = await world.run('bill', 'resolve', BILL, '--outcome', 'maybe', '--note', 'n');

    expect(outcome).toEqual({
      code: 2,
      stdout: '',
      stderr: 'meterctl: --outcome must be UPHELD or REJECTED\n',
    });
    expect(world.calls).toEqual([]);
  });
});

describe('meterctl bill dispute', () => {
  it("when no -i is given then the profile's default identity, not a household, is refused by name before connecting", async () => {
    const world = new TestWorld();

    const result = await world.run('bill', 'dispute', BILL, '--reason', 'too high');

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "meterctl: bill dispute is for the household: it would run as operator, the default identity of the distributor1 profile, whose role is operator, not subscriber; pass -i <the household's identity> with its households profile\n",
    });
    expect(world.connections).toBe(0);
  });

  it('when -i names an identity that is not a household then that identity is named', async () => {
    const world = new TestWorld();

    const result = await world.run('-i', 'mtr-42', 'bill', 'dispute', BILL, '--reason', 'too high');

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('it would run as identity mtr-42 whose role is meter, not subscriber');
  });

  it('when the household disputes then the reason is sent', async () => {
    const world = new TestWorld();
    world.profile = householdsProfile(world.dir);
    const { bill } = billEvidence(Buffer.alloc(32, 3), [1000]);
    const dispute = jest.fn(async (): Promise<BillRecord> => ({ ...bill, status: 'DISPUTED' }));
    world.clients.billing = { dispute };

    const result = await world.run('-i', 'hh-17', 'bill', 'dispute', BILL, '--reason', 'too high');

    expect(result.code).toBe(0);
    expect(dispute).toHaveBeenCalledWith(BILL, 'too high');
  });
});
