import type { ChaincodeChannel } from '@smartmeter/client/dist/contracts/invoke';
import type { Page, ReadingRecord, WalletRecord } from '@smartmeter/domain';
import { decryptReading, type ReadingPayload } from '@smartmeter/crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contracts } from '../../chaincode/test/support/fixtures';
import { createLogger, type Logger, type LogLevel } from '../src/log';
import { Meter, type AggregateChannel, type MeterSettings } from '../src/meter';
import { NetworkLedger } from '../src/networkLedger';
import { Outbox } from '../src/outbox';
import { Relay, type RelaySay } from '../src/relay';
import { ShareOutbox } from '../src/shareOutbox';
import { HouseholdSource } from '../src/sources/household';
import { NOT_PREPAID_POLL_FACTOR, WalletPoller } from '../src/walletPoller';
import { aggregateHousehold, AggregateLedger, FakePublisher, unmasked } from './support/aggregate';
import {
  approvedHousehold,
  bundleFor,
  MemoryMeterLedger,
  refusalError,
  unavailableError,
} from './support/memoryMeterLedger';

const HALF_HOUR = 1800;
const SUBSCRIPTION = 'sub_0123456789abcdef01234567';
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

const policy: WalletRecord['policy'] = {
  warningBelowMinor: 500,
  powerSavingBelowMinor: 200,
  switchOffBelowMinor: 0,
  powerSavingLimitW: 500,
  friendlyHours: { utcOffsetMinutes: 0, days: ['sun'], holidays: [] },
};

/** A wallet as Prepaid:GetWallet returns it: on, balance 12.00 GBP, unless told otherwise. */
function wallet(overrides: Partial<WalletRecord> = {}): WalletRecord {
  return {
    docType: 'wallet',
    subscriptionId: SUBSCRIPTION,
    channel: 'northgrid',
    distributorMspId: 'Distributor1MSP',
    currency: 'GBP',
    balanceMinor: 1200,
    emergencyCreditMinor: 1000,
    settledUntil: '2026-01-01T00:00:00Z',
    entries: 1,
    policy,
    supply: 'on',
    supplyReason: 'balance-ok',
    supplyChangedAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    ...overrides,
  };
}

const powerSaving = (balanceMinor: number, powerSavingLimitW: number, subscriptionId = SUBSCRIPTION) =>
  wallet({
    subscriptionId,
    supply: 'power-saving',
    supplyReason: 'power-saving-threshold',
    balanceMinor,
    policy: { ...policy, powerSavingLimitW },
  });
const switchedOff = (balanceMinor: number, subscriptionId = SUBSCRIPTION) =>
  wallet({ subscriptionId, supply: 'off', supplyReason: 'switch-off-threshold', balanceMinor });

interface Said {
  level: LogLevel;
  event: string;
  message: string;
  fields: Record<string, string | number>;
}

function collectingSay(): RelaySay & { said: Said[] } {
  const said: Said[] = [];
  const say = (level: LogLevel, event: string, message: string, fields: Record<string, string | number>) => {
    said.push({ level, event, message, fields });
  };
  return Object.assign(say, { said });
}

function collectingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (level, event, message) => lines.push(`${level} ${event} ${message}`) };
}

describe('relay', () => {
  it('when the subscription has no wallet then the supply is on and nothing is logged', () => {
    const say = collectingSay();
    const relay = new Relay(say);
    expect(relay.follow(undefined)).toBe(false);
    expect(relay.supply).toBe('on');
    expect(relay.status()).toEqual({ supply: 'on', reason: 'not-prepaid' });
    expect(say.said).toEqual([]);
  });

  it('when the wallet goes from on to power-saving to off and back then follow says which reads changed the supply, with one line for each change', () => {
    const say = collectingSay();
    const relay = new Relay(say);
    // The first read of a prepaid wallet: the supply was on already, but the line says why it is on.
    expect(relay.follow(wallet())).toBe(false);
    expect(relay.follow(wallet())).toBe(false);
    expect(relay.follow(powerSaving(150, 500))).toBe(true);
    expect(relay.follow(powerSaving(150, 500))).toBe(false);
    expect(relay.follow(switchedOff(-20))).toBe(true);
    expect(relay.follow(wallet({ balanceMinor: 2500 }))).toBe(true);
    expect(relay.follow(undefined)).toBe(false);

    expect(say.said.map(({ level, event, message }) => `${level} ${event} ${message}`)).toEqual([
      'info supply.changed supply: on (balance-ok, balance 12.00 GBP)',
      'info supply.changed supply: power-saving (power-saving-threshold, balance 1.50 GBP); load limited to 500 W',
      'warn supply.changed supply: off (switch-off-threshold, balance -0.20 GBP)',
      'info supply.changed supply: on (balance-ok, balance 25.00 GBP)',
      'info supply.changed supply: on (not prepaid)',
    ]);
    expect(say.said[1].fields).toEqual({
      supply: 'power-saving',
      supplyReason: 'power-saving-threshold',
      balanceMinor: 150,
      currency: 'GBP',
      powerSavingLimitW: 500,
    });
    expect(say.said[4].fields).toEqual({ supply: 'on', supplyReason: 'not-prepaid' });
  });

  it('when only the reason changes then follow says the supply did not change, and a low-balance warning is logged as a warning', () => {
    const say = collectingSay();
    const relay = new Relay(say);
    relay.follow(wallet());
    expect(relay.follow(wallet({ supplyReason: 'low-balance-warning', balanceMinor: 450 }))).toBe(false);
    expect(relay.follow(wallet({ supplyReason: 'friendly-hours', balanceMinor: -50 }))).toBe(false);
    expect(say.said.slice(1).map(({ level, message }) => `${level} ${message}`)).toEqual([
      'warn supply: on (low-balance-warning, balance 4.50 GBP)',
      'info supply: on (friendly-hours, balance -0.50 GBP)',
    ]);
    // A balance that moves within the same state and reason is no news.
    expect(relay.follow(wallet({ supplyReason: 'friendly-hours', balanceMinor: -70 }))).toBe(false);
    expect(say.said).toHaveLength(3);
    expect(relay.status()).toEqual({
      supply: 'on',
      reason: 'friendly-hours',
      balanceMinor: -70,
      currency: 'GBP',
      changedAt: '2026-01-01T00:00:00Z',
    });
  });

  it('when the power-saving limit changes then it is a change worth a line; a currency without minor digits prints whole', () => {
    const say = collectingSay();
    const relay = new Relay(say);
    relay.follow(powerSaving(150, 500));
    expect(relay.follow(powerSaving(150, 300))).toBe(false);
    relay.follow(wallet({ currency: 'JPY', balanceMinor: 1500 }));
    expect(say.said.map(({ message }) => message)).toEqual([
      'supply: power-saving (power-saving-threshold, balance 1.50 GBP); load limited to 500 W',
      'supply: power-saving (power-saving-threshold, balance 1.50 GBP); load limited to 300 W',
      'supply: on (balance-ok, balance 1500 JPY)',
    ]);
  });

  it('when logged through the meter-sim logger then a change is one JSON object per line (--json-logs) or one text line, warnings on stderr', () => {
    const out: string[] = [];
    const err: string[] = [];
    for (const json of [true, false]) {
      const logger = createLogger(json, { out: (line) => out.push(line), err: (line) => err.push(line) });
      const relay = new Relay((level, event, message, fields) => {
        logger.log(level, event, message, { meterId: 'mtr-1', subscriptionId: SUBSCRIPTION, ...fields });
      });
      relay.follow(powerSaving(150, 500));
      relay.follow(switchedOff(0));
    }
    expect(out).toHaveLength(2);
    expect(err).toHaveLength(2);
    expect(JSON.parse(out[0])).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      level: 'info',
      event: 'supply.changed',
      message: 'supply: power-saving (power-saving-threshold, balance 1.50 GBP); load limited to 500 W',
      meterId: 'mtr-1',
      subscriptionId: SUBSCRIPTION,
      supply: 'power-saving',
      supplyReason: 'power-saving-threshold',
      balanceMinor: 150,
      currency: 'GBP',
      powerSavingLimitW: 500,
    });
    expect(JSON.parse(err[0])).toMatchObject({
      level: 'warn',
      event: 'supply.changed',
      message: 'supply: off (switch-off-threshold, balance 0.00 GBP)',
      supply: 'off',
      balanceMinor: 0,
    });
    expect(out[1]).toMatch(
      /^\S+Z mtr-1 supply: power-saving \(power-saving-threshold, balance 1\.50 GBP\); load limited to 500 W\n$/,
    );
    expect(err[1]).toMatch(/^\S+Z WARN mtr-1 supply: off \(switch-off-threshold, balance 0\.00 GBP\)\n$/);
  });
});

describe('relay effect on consumption', () => {
  it('when the supply is on then what the source measured is reported unchanged', () => {
    const relay = new Relay(collectingSay());
    relay.follow(wallet());
    expect(relay.limit({ quantity: 734, quality: 'measured' }, HALF_HOUR)).toEqual({
      quantity: 734,
      quality: 'measured',
    });
    expect(relay.limit({ quantity: 0, quality: 'estimated' }, HALF_HOUR)).toEqual({
      quantity: 0,
      quality: 'estimated',
    });
  });

  it('when in power-saving mode then each period is capped at limit W × seconds / 3600, rounded down', () => {
    const relay = new Relay(collectingSay());
    relay.follow(powerSaving(150, 500));
    // 500 W for half an hour: 250 Wh.
    expect(relay.limit({ quantity: 734, quality: 'measured' }, HALF_HOUR)).toEqual({
      quantity: 250,
      quality: 'measured',
    });
    expect(relay.limit({ quantity: 250, quality: 'measured' }, HALF_HOUR).quantity).toBe(250);
    expect(relay.limit({ quantity: 120, quality: 'estimated' }, HALF_HOUR)).toEqual({
      quantity: 120,
      quality: 'estimated',
    });
    // 500 W for a quarter of an hour: 125 Wh; for 5 minutes: 41.67 → 41 Wh.
    expect(relay.limit({ quantity: 734, quality: 'measured' }, 900).quantity).toBe(125);
    expect(relay.limit({ quantity: 734, quality: 'measured' }, 300).quantity).toBe(41);
    relay.follow(powerSaving(150, 333));
    // 333 W for half an hour: 166.5 → 166 Wh; for an hour: 333 Wh.
    expect(relay.limit({ quantity: 734, quality: 'measured' }, HALF_HOUR).quantity).toBe(166);
    expect(relay.limit({ quantity: 734, quality: 'measured' }, 3600).quantity).toBe(333);
  });

  it('when the supply is off then every period measures 0, as a measurement', () => {
    const relay = new Relay(collectingSay());
    relay.follow(switchedOff(-20));
    expect(relay.limit({ quantity: 734, quality: 'measured' }, HALF_HOUR)).toEqual({
      quantity: 0,
      quality: 'measured',
    });
    expect(relay.limit({ quantity: 88, quality: 'estimated' }, 900)).toEqual({
      quantity: 0,
      quality: 'measured',
    });
  });
});

/** A ledger whose wallet reads are counted and can be changed or made to fail between polls. */
class FakeWallets {
  reads = 0;
  next: () => Promise<WalletRecord | undefined> = () => Promise.resolve(undefined);

  walletOf = (subscriptionId: string): Promise<WalletRecord | undefined> => {
    expect(subscriptionId).toBe(SUBSCRIPTION);
    this.reads += 1;
    return this.next();
  };

  answer(record: WalletRecord | undefined): void {
    this.next = () => Promise.resolve(record);
  }

  fail(): void {
    this.next = () => Promise.reject(unavailableError());
  }
}

function poller(pollSeconds = 60) {
  let now = 1_000_000;
  const wallets = new FakeWallets();
  const say = collectingSay();
  const relay = new Relay(say);
  const walletPoller = new WalletPoller({
    subscriptionId: SUBSCRIPTION,
    walletOf: wallets.walletOf,
    relay,
    pollSeconds,
    say,
    endpoint: 'peer0.distributor1.example.com:7051',
    nowMs: () => now,
  });
  const advance = (seconds: number) => {
    now += seconds * 1000;
  };
  /** What the meter does before each batch: start a read if one is due, and here wait for its answer. */
  const beforeBatch = async () => {
    walletPoller.pollIfDue();
    await walletPoller.settled();
  };
  return { walletPoller, wallets, say, relay, advance, beforeBatch };
}

describe('wallet polling', () => {
  it('when the wallet changes then the relay follows it at the next poll, once per poll interval of real time however often batches go', async () => {
    const { walletPoller, wallets, relay, advance, beforeBatch } = poller(60);
    wallets.answer(wallet());
    expect(walletPoller.msUntilDue()).toBe(0);
    await beforeBatch();
    expect(wallets.reads).toBe(1);
    expect(walletPoller.msUntilDue()).toBe(60_000);

    wallets.answer(powerSaving(150, 500));
    for (let i = 0; i < 59; i += 1) {
      advance(1);
      await beforeBatch();
    }
    expect(wallets.reads).toBe(1);
    expect(relay.supply).toBe('on');
    advance(1);
    await beforeBatch();
    await beforeBatch();
    expect(wallets.reads).toBe(2);
    expect(relay.supply).toBe('power-saving');

    wallets.answer(switchedOff(-20));
    advance(60);
    await beforeBatch();
    expect(relay.status()).toMatchObject({
      supply: 'off',
      reason: 'switch-off-threshold',
      balanceMinor: -20,
    });
    expect(walletPoller.stats).toEqual({ reads: 3, failures: 0 });
  });

  it('when a read is under way then no second one starts, and it is not due until it has answered', async () => {
    const { walletPoller, wallets, relay } = poller(60);
    let answer: (record: WalletRecord) => void = () => undefined;
    wallets.next = () =>
      new Promise((resolve) => {
        answer = resolve;
      });
    walletPoller.pollIfDue();
    walletPoller.pollIfDue();
    expect(wallets.reads).toBe(1);
    expect(walletPoller.msUntilDue()).toBe(Infinity);
    answer(switchedOff(0));
    await walletPoller.settled();
    expect(relay.supply).toBe('off');
    expect(walletPoller.msUntilDue()).toBe(60_000);
  });

  it('when the wallet is NOT_FOUND then the supply is on and the wallet is read again only every 10 × interval', async () => {
    const { walletPoller, wallets, relay, say, advance, beforeBatch } = poller(60);
    wallets.answer(powerSaving(150, 500));
    await beforeBatch();
    expect(relay.supply).toBe('power-saving');

    wallets.answer(undefined);
    advance(60);
    await beforeBatch();
    expect(relay.status()).toEqual({ supply: 'on', reason: 'not-prepaid' });
    expect(say.said.at(-1)?.message).toBe('supply: on (not prepaid)');
    expect(NOT_PREPAID_POLL_FACTOR).toBe(10);
    expect(walletPoller.msUntilDue()).toBe(600_000);
    advance(599);
    await beforeBatch();
    expect(wallets.reads).toBe(2);
    // The subscription became prepaid meanwhile: picked up at the next, rarer, read.
    wallets.answer(switchedOff(-5));
    advance(1);
    await beforeBatch();
    expect(wallets.reads).toBe(3);
    expect(relay.supply).toBe('off');
    expect(walletPoller.msUntilDue()).toBe(60_000);
  });

  it('when the wallet cannot be read then the last state holds, one warning is logged for the outage, and one line when it is over', async () => {
    const { walletPoller, wallets, relay, say, advance, beforeBatch } = poller(60);
    wallets.answer(powerSaving(150, 500));
    await beforeBatch();

    wallets.fail();
    advance(60);
    await expect(walletPoller.poll()).resolves.toBeUndefined();
    advance(60);
    await beforeBatch();
    expect(wallets.reads).toBe(3);
    expect(relay.status()).toMatchObject({ supply: 'power-saving', powerSavingLimitW: 500 });
    // A failed read is tried again after the normal interval, not the rarer one.
    expect(walletPoller.msUntilDue()).toBe(60_000);
    const warnings = say.said.filter((line) => line.level === 'warn');
    expect(warnings).toEqual([
      {
        level: 'warn',
        event: 'wallet.unreadable',
        message:
          'cannot read the wallet (cannot reach peer0.distributor1.example.com:7051; is the network up? ' +
          './test-network.sh status); the supply stays power-saving until it can',
        fields: { supply: 'power-saving' },
      },
    ]);

    wallets.answer(wallet({ balanceMinor: 5000 }));
    advance(60);
    await beforeBatch();
    expect(say.said.slice(-2).map(({ level, event, message }) => `${level} ${event} ${message}`)).toEqual([
      'info wallet.readable the wallet is readable again after 120 s',
      'info supply.changed supply: on (balance-ok, balance 50.00 GBP)',
    ]);
    expect(walletPoller.stats).toEqual({ reads: 2, failures: 2 });
  });

  it('when the poll interval is 0 then the wallet is never read', async () => {
    const { walletPoller, wallets, beforeBatch } = poller(0);
    await beforeBatch();
    expect(walletPoller.enabled).toBe(false);
    expect(walletPoller.msUntilDue()).toBe(Infinity);
    expect(wallets.reads).toBe(0);
  });

  it('when the meter has stopped then a read under way is ignored and no other starts', async () => {
    const { walletPoller, wallets, relay, say } = poller(60);
    wallets.answer(switchedOff(0));
    walletPoller.pollIfDue();
    walletPoller.close();
    await walletPoller.settled();
    expect(relay.supply).toBe('on');
    walletPoller.pollIfDue();
    expect(wallets.reads).toBe(1);
    wallets.fail();
    await walletPoller.poll();
    expect(say.said).toEqual([]);
  });
});

describe('network ledger walletOf', () => {
  /** A chaincode channel whose Prepaid contract answers from `evaluate`; the other contracts are never called. */
  function channelWith(evaluate: (fn: string, args: string[]) => Uint8Array) {
    const calls: string[] = [];
    const channel = {
      gateway: {},
      chaincodeName: 'smartmeter',
      network: {
        getName: () => 'northgrid',
        getContract: (chaincode: string, contract: string) => ({
          evaluateTransaction: (fn: string, ...args: string[]) => {
            calls.push(`${chaincode}:${contract}:${fn}(${args.join(',')})`);
            return Promise.resolve().then(() => evaluate(fn, args));
          },
        }),
      },
    } as unknown as ChaincodeChannel;
    return { ledger: new NetworkLedger(channel, SUBSCRIPTION, 'MTR-001'), calls };
  }

  it('when the subscription is prepaid then Prepaid:GetWallet is evaluated and its record returned', async () => {
    const record = powerSaving(150, 500);
    const { ledger, calls } = channelWith(() => Buffer.from(JSON.stringify(record)));
    await expect(ledger.walletOf(SUBSCRIPTION)).resolves.toEqual(record);
    expect(calls).toEqual([`smartmeter:Prepaid:GetWallet(${SUBSCRIPTION})`]);
  });

  it('when the ledger answers NOT_FOUND then the subscription is not prepaid; any other failure is thrown', async () => {
    const notFound = channelWith(() => {
      throw refusalError(`NOT_FOUND: subscription ${SUBSCRIPTION} has no wallet`);
    });
    await expect(notFound.ledger.walletOf(SUBSCRIPTION)).resolves.toBeUndefined();
    const forbidden = channelWith(() => {
      throw refusalError('FORBIDDEN: not this meter’s wallet');
    });
    await expect(forbidden.ledger.walletOf(SUBSCRIPTION)).rejects.toThrow('failed to endorse');
    const down = channelWith(() => {
      throw unavailableError();
    });
    await expect(down.ledger.walletOf(SUBSCRIPTION)).rejects.toThrow('UNAVAILABLE');
  });
});

/** Half-hour boundary two days ago: the simulated day lies wholly in the past. */
const dayStart = Math.floor(Date.now() / 1000 / 86_400) * 86_400 - 2 * 86_400;
const settings: MeterSettings = {
  speed: 1_000_000,
  maxJitterSeconds: 60,
  batchSize: 96,
  refreshSeconds: 0.2,
  shareWindowSeconds: 240,
  minShareGapSeconds: 20,
  walletPollSeconds: 60,
};

async function prepaidMeter(options: { settings?: Partial<MeterSettings>; untilHours?: number } = {}) {
  const { world, household } = await approvedHousehold(dayStart);
  const ledger = new MemoryMeterLedger(world, household);
  const source = new HouseholdSource({
    seed: household.meterId,
    utility: 'electricity',
    utcOffsetMinutes: 0,
  });
  const log = collectingLogger();
  const meter = new Meter(
    bundleFor(household),
    household.sessionKey,
    ledger,
    source,
    Outbox.open(join(mkdtempSync(join(tmpdir(), 'prepaid-meter-')), 'outbox.jsonl')),
    log,
    { ...settings, untilSeconds: dayStart + (options.untilHours ?? 24) * 3600, ...options.settings },
  );
  const id = household.subscriptionId;
  /** Every stored reading of the day, decrypted, in period order. */
  const stored = async (): Promise<(ReadingPayload & { periodStart: string })[]> => {
    const page = JSON.parse(
      await world.run(household.subscriber, (ctx) =>
        contracts.measurement.GetReadings(
          ctx,
          id,
          iso(dayStart - 86_400),
          iso(dayStart + 4 * 86_400),
          '100',
          '',
        ),
      ),
    ) as Page<ReadingRecord>;
    return page.records.map((r) => ({
      periodStart: r.periodStart,
      ...decryptReading(r, household.sessionKey, {
        channel: 'northgrid',
        subscriptionId: r.subscriptionId,
        sequence: r.sequence,
        periodStart: r.periodStart,
      }),
    }));
  };
  const measured = (periodStart: string) =>
    source.measure(Date.parse(periodStart) / 1000, HALF_HOUR).quantity;
  return { meter, ledger, log, stored, measured, id };
}

describe('prepaid meter', () => {
  it('when the wallet is in power-saving mode then every period of the day is reported capped at the limit', async () => {
    const { meter, ledger, stored, measured, log, id } = await prepaidMeter();
    // 300 W: at most 150 Wh a half hour.
    ledger.wallet = powerSaving(150, 300, id);
    await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
    const readings = await stored();
    expect(readings).toHaveLength(48);
    for (const reading of readings)
      expect(reading).toMatchObject({
        energyWh: Math.min(measured(reading.periodStart), 150),
        quality: 'measured',
      });
    // The household would have used more than that in some half hours, less in others.
    expect(readings.filter((r) => measured(r.periodStart) > 150).length).toBeGreaterThan(0);
    expect(readings.filter((r) => measured(r.periodStart) < 150).length).toBeGreaterThan(0);
    expect(log.lines).toContain(
      'info supply.changed supply: power-saving (power-saving-threshold, balance 1.50 GBP); load limited to 300 W',
    );
    expect(meter.supply).toMatchObject({ supply: 'power-saving', powerSavingLimitW: 300 });
  });

  it('when the supply is off then every period is still reported, as 0 Wh', async () => {
    const { meter, ledger, stored, id } = await prepaidMeter();
    ledger.wallet = switchedOff(-20, id);
    await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
    const readings = await stored();
    expect(readings.map((r) => r.periodStart)).toEqual(
      Array.from({ length: 48 }, (_, i) => iso(dayStart + i * HALF_HOUR)),
    );
    expect(new Set(readings.map((r) => `${r.energyWh} ${r.unit} ${r.quality}`))).toEqual(
      new Set(['0 Wh measured']),
    );
    expect(meter.stats).toMatchObject({ generated: 48, committed: 48, dropped: 0 });
  });

  it('when the wallet is switched off while the meter catches up then the change is picked up between batches: full readings, then zeros', async () => {
    const { meter, ledger, stored, measured, log, id } = await prepaidMeter({
      settings: { speed: 100_000, walletPollSeconds: 0.001 },
    });
    ledger.wallet = wallet({ subscriptionId: id });
    ledger.afterSubmit = (submissions) => {
      if (submissions === 1) ledger.wallet = switchedOff(-20, id);
    };
    await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
    const readings = await stored();
    expect(readings).toHaveLength(48);
    const firstOff = readings.findIndex((r) => r.energyWh === 0);
    expect(firstOff).toBeGreaterThan(0);
    expect(readings.slice(0, firstOff).map((r) => r.energyWh)).toEqual(
      readings.slice(0, firstOff).map((r) => measured(r.periodStart)),
    );
    expect(readings.slice(firstOff).every((r) => r.energyWh === 0)).toBe(true);
    expect(log.lines.filter((line) => line.includes('supply.changed'))).toEqual([
      'info supply.changed supply: on (balance-ok, balance 12.00 GBP)',
      'warn supply.changed supply: off (switch-off-threshold, balance -0.20 GBP)',
    ]);
    expect(ledger.walletReads).toBeGreaterThan(2);
  });

  it('when the wallet cannot be read then the meter warns once and reports every period as measured', async () => {
    const { meter, ledger, stored, measured, log, id } = await prepaidMeter({
      settings: { walletPollSeconds: 0.001 },
      untilHours: 6,
    });
    ledger.wallet = switchedOff(0, id);
    ledger.outageWalletReads = 1_000_000;
    await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
    const readings = await stored();
    expect(readings).toHaveLength(12);
    expect(readings.map((r) => r.energyWh)).toEqual(readings.map((r) => measured(r.periodStart)));
    expect(log.lines.filter((line) => line.startsWith('warn'))).toEqual([
      expect.stringMatching(
        /^warn wallet\.unreadable cannot read the wallet \(.*\); the supply stays on until it can$/,
      ),
    ]);
    expect(meter.supply).toEqual({ supply: 'on', reason: 'not-prepaid' });
  });

  it('when the subscription is not prepaid then the meter reads the wallet once at start and measures as usual', async () => {
    const { meter, ledger, stored, measured, log } = await prepaidMeter({ untilHours: 6 });
    await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
    expect(ledger.walletReads).toBe(1);
    const readings = await stored();
    expect(readings.map((r) => r.energyWh)).toEqual(readings.map((r) => measured(r.periodStart)));
    expect(log.lines.some((line) => line.includes('supply'))).toBe(false);
  });

  it('when --wallet-poll-seconds is 0 then the meter never reads the wallet', async () => {
    const { meter, ledger, stored, measured, id } = await prepaidMeter({
      settings: { walletPollSeconds: 0 },
      untilHours: 6,
    });
    ledger.wallet = switchedOff(0, id);
    await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
    expect(ledger.walletReads).toBe(0);
    const readings = await stored();
    expect(readings.map((r) => r.energyWh)).toEqual(readings.map((r) => measured(r.periodStart)));
  });

  it('when an aggregate meter’s wallet is switched off then it follows it: its shares unmask to 0 Wh, and it never transacts', async () => {
    const start = Math.floor(Date.now() / 1000 / HALF_HOUR) * HALF_HOUR - 6 * HALF_HOUR;
    const household = aggregateHousehold(7, start);
    const ledger = new AggregateLedger(household.record);
    ledger.wallet = switchedOff(-20, household.record.subscriptionId);
    const stateDir = mkdtempSync(join(tmpdir(), 'prepaid-aggregate-'));
    const publisher = new FakePublisher();
    const channel: AggregateChannel = {
      openOutbox: () => ShareOutbox.open(join(stateDir, 'shares.jsonl')),
      connect: () => publisher,
      brokerUrl: 'mqtt://test',
    };
    const log = collectingLogger();
    const meter = new Meter(
      household.bundle,
      household.sessionKey,
      ledger,
      new HouseholdSource({ seed: household.bundle.meterId, utility: 'electricity', utcOffsetMinutes: 0 }),
      Outbox.open(join(stateDir, 'outbox.jsonl')),
      log,
      { ...settings, walletPollSeconds: 0.001, untilSeconds: start + 4 * HALF_HOUR },
      channel,
    );
    await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
    const shares = publisher.shares();
    expect(shares).toHaveLength(8);
    const periods = [...new Set(shares.map((share) => share.periodStart))];
    const energies = periods.map((p) =>
      unmasked(
        household.sessionKey,
        shares.filter((share) => share.periodStart === p),
      ),
    );
    expect(energies).toEqual([0n, 0n, 0n, 0n]);
    expect(ledger.walletOfCalls).toBeGreaterThan(0);
    expect(ledger.confirmPairingCalls + ledger.submitReadingsCalls).toBe(0);
    expect(meter.supply).toMatchObject({ supply: 'off', reason: 'switch-off-threshold' });
    expect(log.lines.filter((line) => line.includes('supply.changed'))).toEqual([
      'warn supply.changed supply: off (switch-off-threshold, balance -0.20 GBP)',
    ]);
  });
});
