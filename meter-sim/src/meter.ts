import {
  ErrorCode,
  firstPeriodFrom,
  intervalOfPeriod,
  isoSeconds,
  periodAfter,
  periodIndex,
  periodSegments,
  type Period,
  type PeriodSchedule,
  type SubscriptionRecord,
  type WalletRecord,
  type DeviceConfig,
  type DeviceHealthReport,
  utilityOf,
} from '@smartmeter/domain';
import type { BatchResult, ReadingSubmission } from '@smartmeter/client/dist/contracts/MeasurementClient';
import type { PairBundle } from '@smartmeter/client/dist/pairBundle';
import { backoffDelayMs, describeFailure, mayRepeat, refusalOf } from '@smartmeter/client/dist/errors';
import { AGGREGATE_SLOT_SECONDS, encryptReading, pairingProof, UNIT_OF } from '@smartmeter/crypto';
import { SimClock } from './clock';
import { submissionDelaySeconds } from './jitter';
import { OutboxWriteError } from './journal';
import type { Logger, LogLevel } from './log';
import type { Outbox, OutboxReading } from './outbox';
import { OutboxPause } from './outboxPause';
import type { SharePublisher } from './publisher';
import { Relay, type RelayStatus } from './relay';
import type { ShareOutbox } from './shareOutbox';
import { ShareReporter, topicOf, type MeasuredPeriod } from './shareReporter';
import type { MeasuredQuantity, ReadingSource } from './sources/source';
import { ConfigFollower, type DeviceConfigLedger } from './configFollower';
import { HealthReporter } from './healthReporter';
import { WalletPoller } from './walletPoller';

/** What a meter needs from the ledger; on the network, the Subscription, Measurement and Prepaid contracts. */
export interface MeterLedger {
  getSubscription(): Promise<SubscriptionRecord>;
  confirmPairing(proof: string): Promise<SubscriptionRecord>;
  submitReadings(readings: ReadingSubmission[]): Promise<BatchResult>;
  /** Prepaid:GetWallet: the subscription's wallet, or undefined when it is not prepaid (NOT_FOUND). */
  walletOf(subscriptionId: string): Promise<WalletRecord | undefined>;
  /** The DeviceConfig contract as this meter sees it; absent: the meter follows no configuration. */
  deviceConfig?: DeviceConfigLedger;
  /** DeviceHealth:ReportDeviceHealth for this meter's subscription; absent: no health reports. */
  reportHealth?: (health: DeviceHealthReport) => Promise<void>;
}

export interface MeterSettings {
  speed: number;
  /** Simulated start, epoch seconds; undefined: the subscription's start or where the outbox left off. */
  fromSeconds?: number;
  /** Stop once every period ending by this simulated time is on the ledger. */
  untilSeconds?: number;
  maxJitterSeconds: number;
  batchSize: number;
  refreshSeconds: number;
  /** Aggregate mode: shares go at random moments within this long after their period ends (live only). */
  shareWindowSeconds: number;
  /** Aggregate mode: a period's two shares go at least this far apart (live only). */
  minShareGapSeconds: number;
  /**
   * Prepaid: real seconds between reads of the wallet, whose supply state the relay follows
   * (10 × as long while the subscription has no wallet); 0: never read.
   */
  walletPollSeconds: number;
  /** Real seconds between reads of the device configuration (see ConfigFollower); 0 or absent: never. */
  configPollSeconds?: number;
  /** Real seconds between health reports (see HealthReporter); 0 or absent: never. */
  healthSeconds?: number;
}

/** What a meter needs for aggregate mode; opened only when its subscription turns out to be in that mode. */
export interface AggregateChannel {
  openOutbox(): ShareOutbox;
  connect(): SharePublisher;
  /** Where shares go, for the log: the broker's URL (and how the meter connects to it). */
  brokerUrl: string;
}

/** Why a meter stopped: its subscription ended, it reached --until, it was told to stop, or it cannot go on. */
export type MeterOutcome = 'ended' | 'until' | 'stopped' | 'failed';

export interface MeterStats {
  generated: number;
  committed: number;
  alreadyOnLedger: number;
  dropped: number;
  transactions: number;
  /** Aggregate mode: shares the broker acknowledged, and shares given up (too old, off schedule). */
  sharesPublished: number;
  sharesDropped: number;
}

type DrainResult = 'done' | 'retry' | 'failed';

const MAX_BACKOFF_MS = 30_000;
const FIRST_BACKOFF_MS = 1000;

/**
 * One smart meter: pairs if needed, then for every period of its subscription (as the ledger defines them,
 * including interval changes) measures, encrypts with the session key, writes to the durable outbox and
 * submits, catching up in batches after outages. Stops when the subscription ends.
 */
export class Meter {
  readonly stats: MeterStats = {
    generated: 0,
    committed: 0,
    alreadyOnLedger: 0,
    dropped: 0,
    transactions: 0,
    sharesPublished: 0,
    sharesDropped: 0,
  };
  private subscription!: SubscriptionRecord;
  private clock!: SimClock;
  private next!: Period;
  private backoffMs = 0;
  /** Failed attempts in a row: the back-off grows with them, with jitter so that meters do not retry in step. */
  private failures = 0;
  private waitingSince: number | undefined;
  /** Set in aggregate mode: the meter then publishes shares instead of submitting readings. */
  private shares: ShareReporter | undefined;
  /** Why readings (or, in aggregate mode, periods) were dropped in this run, and how many for each reason. */
  private readonly dropReasons = new Map<string, number>();
  /** The supply relay: on, power-saving or off, as the prepaid wallet says; on when not prepaid. */
  private readonly relay = new Relay((level, event, message, fields) => {
    this.say(level, event, message, fields);
  });
  /** Set in disclosed mode with --wallet-poll-seconds above 0: keeps the relay in step with the wallet. */
  private wallet: WalletPoller | undefined;
  /** Set in disclosed mode with --config-poll-seconds above 0 and a state folder: the device configuration. */
  private configs: ConfigFollower | undefined;
  /** Set in disclosed mode with --health-seconds above 0: the meter's health reports. */
  private health: HealthReporter | undefined;
  /** The reporting jitter a device configuration set, over --max-jitter. */
  private configuredJitterSeconds: number | undefined;
  /** A configuration changed the reading interval: re-read the subscription at once for its new schedule. */
  private refreshRequested = false;
  /** While the outbox cannot be written: no new readings, retried on a back-off. */
  private readonly pause = new OutboxPause((level, event, message, fields) => {
    this.say(level, event, message, fields);
  });

  constructor(
    private readonly bundle: PairBundle,
    private readonly sessionKey: Buffer,
    private readonly ledger: MeterLedger,
    private readonly source: ReadingSource,
    private readonly outbox: Outbox,
    private readonly log: Logger,
    private readonly settings: MeterSettings,
    private readonly aggregate?: AggregateChannel,
    /** The meter's own folder, where its device key and applied configuration are kept. */
    private readonly stateDir?: string,
  ) {}

  async run(stop: AbortSignal): Promise<MeterOutcome> {
    const ready = await this.pairedSubscription(stop);
    if (ready !== 'ready') return ready;
    if (this.subscription.privacyMode === 'aggregate' && this.startAggregate() === 'failed') return 'failed';
    this.startWalletPolling();
    await this.startFollowingConfigs();
    this.startHealthReports();
    try {
      return await this.loop(stop);
    } finally {
      this.wallet?.close();
      if (this.shares) {
        await this.shares.close();
        this.countShares(this.shares);
      }
    }
  }

  private async loop(stop: AbortSignal): Promise<MeterOutcome> {
    this.resume();
    // The first read is awaited (once, bounded by the evaluate deadline): after a restart the meter measures
    // nothing before it knows whether its supply is on. Later reads are not awaited.
    await this.wallet?.poll();
    let lastRefresh = Date.now();
    while (!stop.aborted) {
      if (this.refreshRequested || Date.now() - lastRefresh >= this.settings.refreshSeconds * 1000) {
        this.refreshRequested = false;
        const refreshed = await this.refresh();
        if (refreshed === 'failed') return 'failed';
        lastRefresh = Date.now();
        this.configs?.atRefresh();
      }
      this.startDueReads();
      this.measureDuePeriods();
      const drained = this.shares ? this.publishShares(this.shares) : await this.drain(stop);
      if (drained === 'failed') return 'failed';
      if (drained === 'done' && this.finished())
        return this.subscription.status === 'ENDED' ? this.ended() : 'until';
      const wait = drained === 'retry' ? this.backoffMs : this.msUntilNextTask(lastRefresh);
      await (this.shares ? this.shares.wait(wait, stop) : sleep(wait, stop));
    }
    this.say('info', 'meter.stopped', `stopping; ${this.pendingDescription()} wait in the outbox`);
    return 'stopped';
  }

  /**
   * Before each round of measuring and submitting, the reads and reports that are due (wallet, device
   * configuration, health), each at most once per its interval and not awaited.
   */
  private startDueReads(): void {
    this.wallet?.pollIfDue();
    this.configs?.pollIfDue();
    this.health?.reportIfDue();
  }

  /**
   * Real milliseconds until there is something to do: a period due, a refresh, a share or a wallet read. While
   * the outbox is paused, periods and shares (which are written before they go) wait for the next attempt.
   */
  private msUntilNextTask(lastRefresh: number): number {
    const untilRefresh = Math.max(0, lastRefresh + this.settings.refreshSeconds * 1000 - Date.now());
    const untilShare = this.shares
      ? Math.max(this.shares.msUntilNextDue(), this.pause.msUntilRetry())
      : Infinity;
    return Math.min(
      this.msUntilNextDue(),
      this.refreshRequested ? 0 : untilRefresh,
      untilShare,
      this.wallet?.msUntilDue() ?? Infinity,
      this.configs?.msUntilDue() ?? Infinity,
      this.health?.msUntilDue() ?? Infinity,
    );
  }

  /** The supply relay's state, for a status output. */
  get supply(): RelayStatus {
    return this.relay.status();
  }

  /**
   * A prepaid meter follows its wallet, in both modes. An aggregate meter never transacts (issue 16), but reading
   * its wallet is an evaluation (no transaction, nothing on the ledger), sent to its distributor's peer, which
   * knows the meter's subscription already: it links nothing the grid shares keep apart.
   */
  private startWalletPolling(): void {
    if (this.settings.walletPollSeconds <= 0) return;
    this.wallet = new WalletPoller({
      subscriptionId: this.bundle.subscriptionId,
      walletOf: (subscriptionId) => this.ledger.walletOf(subscriptionId),
      relay: this.relay,
      pollSeconds: this.settings.walletPollSeconds,
      endpoint: this.bundle.peer.endpoint,
      say: (level, event, message, fields) => {
        this.say(level, event, message, fields);
      },
    });
  }

  /** Aggregate mode: no pairing, no transactions; shares to the broker instead (docs/aggregation.md). */
  private startAggregate(): 'ok' | 'failed' {
    if (!this.aggregate)
      return this.failWith(
        `subscription ${this.subscription.subscriptionId} is in aggregate mode, but this meter has no MQTT broker configured`,
      );
    if (this.source.utility !== 'electricity')
      return this.failWith(
        `subscription ${this.subscription.subscriptionId} is in aggregate mode, which sums Wh for the grid: run with --utility electricity`,
      );
    if (!this.subscription.approval?.regionCode)
      return this.failWith(
        `subscription ${this.subscription.subscriptionId} is in aggregate mode but names no region`,
      );
    const misfit = periodSegments(this.schedule).find(
      (segment) =>
        segment.fromSeconds % AGGREGATE_SLOT_SECONDS !== 0 ||
        segment.intervalSeconds % AGGREGATE_SLOT_SECONDS !== 0,
    );
    if (misfit)
      return this.failWith(
        `subscription ${this.subscription.subscriptionId} is in aggregate mode but has periods of ${misfit.intervalSeconds} s ` +
          `from ${isoSeconds(misfit.fromSeconds)}, not on the ${AGGREGATE_SLOT_SECONDS}-second slots its pseudonyms need`,
      );
    const outbox = this.aggregate.openOutbox();
    let publisher: SharePublisher;
    try {
      publisher = this.aggregate.connect();
    } catch (err) {
      outbox.close();
      return this.failWith((err as Error).message);
    }
    this.shares = new ShareReporter({
      sessionKey: this.sessionKey,
      outbox,
      publisher,
      settings: {
        live: this.settings.speed === 1,
        shareWindowSeconds: this.settings.shareWindowSeconds,
        minShareGapSeconds: this.settings.minShareGapSeconds,
      },
      say: (level, event, message, fields) => {
        this.say(level, event, message, fields);
      },
    });
    return 'ok';
  }

  /** Publishing fixes (writes) a share before it goes: while the outbox is paused, only on its retries. */
  private publishShares(shares: ShareReporter): DrainResult {
    if (this.pause.mayStore())
      this.tryWrite(() => {
        shares.publishDue();
      });
    this.countShares(shares);
    return 'done';
  }

  private countShares(shares: ShareReporter): void {
    this.stats.sharesPublished = shares.stats.published;
    this.stats.sharesDropped = shares.stats.dropped;
  }

  private pendingDescription(): string {
    return this.shares ? `${this.shares.pendingCount} shares` : `${this.outbox.pending().length} readings`;
  }

  private get schedule(): PeriodSchedule {
    return this.subscription.approval as PeriodSchedule;
  }

  /** Waits for approval, confirms the pairing when needed, and checks the bundle fits the subscription. */
  private async pairedSubscription(stop: AbortSignal): Promise<MeterOutcome | 'ready'> {
    let announced = false;
    while (!stop.aborted) {
      let subscription: SubscriptionRecord;
      try {
        subscription = await this.ledger.getSubscription();
      } catch (err) {
        if (!mayRepeat(err)) return this.fail(err);
        this.say(
          'warn',
          'ledger.unreachable',
          `cannot read the subscription yet: ${describeFailure(err).message}`,
        );
        await sleep(this.nextBackoff(), stop);
        continue;
      }
      if (subscription.keyId !== this.bundle.sessionKey.keyId) {
        return this.failWith(
          `the bundle's session key ${this.bundle.sessionKey.keyId} is not the key of ${subscription.subscriptionId} (${subscription.keyId}); export a new pair bundle`,
        );
      }
      // The ledger cannot see a reading's utility (it is sealed): a meter of the wrong kind must not submit.
      if (utilityOf(subscription) !== this.source.utility) {
        return this.failWith(
          `subscription ${subscription.subscriptionId} meters ${utilityOf(subscription)}, but this meter measures ${this.source.utility}: run with --utility ${utilityOf(subscription)}`,
        );
      }
      if (subscription.status === 'REJECTED')
        return this.failWith(`subscription ${subscription.subscriptionId} was rejected`);
      if (subscription.status === 'REQUESTED') {
        if (!announced)
          this.say(
            'info',
            'meter.waiting',
            `waiting for the distributor to approve ${subscription.subscriptionId}`,
          );
        announced = true;
        await sleep(this.settings.refreshSeconds * 1000, stop);
        continue;
      }
      // An aggregate meter never transacts: its subscription is ACTIVE from approval, without pairing.
      if (subscription.status === 'APPROVED' && subscription.privacyMode !== 'aggregate') {
        try {
          subscription = await this.ledger.confirmPairing(pairingProof(this.sessionKey, this.bundle.meterId));
        } catch (err) {
          if (!mayRepeat(err)) return this.fail(err);
          await sleep(this.nextBackoff(), stop);
          continue;
        }
        this.say(
          'info',
          'meter.paired',
          `paired with ${subscription.subscriptionId}: the ledger confirmed the meter holds the session key`,
        );
      }
      this.subscription = subscription;
      this.resetBackoff();
      return 'ready';
    }
    return 'stopped';
  }

  /** Picks the next period: after the outbox's last one, else from --from or the subscription's start. */
  private resume(): void {
    const last = this.shares ? this.shares.lastPeriodStart() : this.outbox.lastPeriodStart();
    const start = Date.parse(this.schedule.startDate) / 1000;
    this.source.alignTo?.(start);
    this.next = last
      ? periodAfter(this.schedule, Date.parse(last) / 1000)
      : firstPeriodFrom(this.schedule, Math.max(start, this.settings.fromSeconds ?? start));
    this.clock = new SimClock(this.settings.speed, this.next.startSeconds);
    const pending = this.shares ? this.shares.pendingCount : this.outbox.pending().length;
    const mode = this.shares
      ? `, aggregate mode: shares to ${topicOf(this.region)} at ${this.aggregate?.brokerUrl}`
      : '';
    this.say(
      'info',
      'meter.started',
      `meter ${this.bundle.meterId} on ${this.bundle.channel}, subscription ${this.subscription.subscriptionId} (${this.subscription.status}${mode}); ` +
        `${this.source.description}; next period ${isoSeconds(this.next.startSeconds)} every ${this.next.intervalSeconds} s` +
        `${this.settings.speed === 1 ? '' : ` at ${this.settings.speed}× speed`}${pending > 0 ? `; ${this.pendingDescription()} from before wait in the outbox` : ''}`,
    );
  }

  /** Re-reads the subscription: an interval change or the end of the subscription take effect here. */
  private async refresh(): Promise<'ok' | 'failed'> {
    let latest: SubscriptionRecord;
    try {
      latest = await this.ledger.getSubscription();
    } catch (err) {
      return mayRepeat(err) ? 'ok' : this.fail(err);
    }
    const before = JSON.stringify(this.subscription.approval?.intervalChanges ?? []);
    this.subscription = latest;
    if (JSON.stringify(latest.approval?.intervalChanges ?? []) !== before) {
      const change = latest.approval?.intervalChanges?.at(-1);
      this.say(
        'info',
        'interval.changed',
        `the distributor changed the interval to ${change?.intervalSeconds} s from ${change?.effectiveFrom}`,
      );
    }
    this.discardOffSchedule();
    return 'ok';
  }

  /**
   * Disclosed-mode meters follow their device configuration (an aggregate meter never transacts: a certificate
   * would link its shares). The device key is registered first; a configuration applied before a restart
   * still holds.
   */
  private async startFollowingConfigs(): Promise<void> {
    const ledger = this.ledger.deviceConfig;
    if (!ledger || !this.stateDir || !this.settings.configPollSeconds || this.shares) return;
    this.configs = new ConfigFollower({
      meterId: this.bundle.meterId,
      channel: this.bundle.channel,
      ledger,
      stateDir: this.stateDir,
      pollSeconds: this.settings.configPollSeconds,
      apply: (config) => {
        this.applyConfig(config);
      },
      acknowledged: (config) => {
        if (config.readingIntervalSeconds !== undefined) this.refreshRequested = true;
      },
      intervalStart: (config) => this.newIntervalStart(config),
      say: (level, event, message, fields) => {
        this.say(level, event, message, fields);
      },
    });
    const applied = this.configs.applied;
    if (applied) this.configuredJitterSeconds = applied.config.maxJitterSeconds;
    await this.configs.register();
  }

  /** Disclosed-mode meters report their health on their own interval (an aggregate meter never transacts). */
  private startHealthReports(): void {
    const report = this.ledger.reportHealth;
    if (!report || !this.stateDir || !this.settings.healthSeconds || this.shares) return;
    this.health = new HealthReporter({
      report: (health) => report.call(this.ledger, health),
      stateDir: this.stateDir,
      intervalSeconds: this.settings.healthSeconds,
      say: (level, event, message, fields) => {
        this.say(level, event, message, fields);
      },
    });
  }

  /**
   * Where this meter starts a new reading interval: the first boundary of both intervals at or after the next
   * period it will measure, so every period it measured (and may still submit) keeps its interval. At --speed the
   * meter's clock runs behind the wall clock, and this is earlier than now.
   */
  private newIntervalStart(config: DeviceConfig): string | undefined {
    const interval = config.readingIntervalSeconds;
    if (interval === undefined || interval === this.next.intervalSeconds) return undefined;
    const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
    const step = (this.next.intervalSeconds / gcd(this.next.intervalSeconds, interval)) * interval;
    return isoSeconds(Math.ceil(this.next.startSeconds / step) * step);
  }

  /**
   * What a configuration changes on this meter. The reading interval is the subscription's: the ledger records
   * the change when the meter acknowledges the version, and the meter takes the new schedule from its next
   * refresh, which it asks for at once. Firmware pins, display texts and alert thresholds are kept with the
   * applied configuration (a simulated meter has no firmware or display to change).
   */
  private applyConfig(config: DeviceConfig): void {
    if (config.maxJitterSeconds !== undefined) this.configuredJitterSeconds = config.maxJitterSeconds;
  }

  /** Pending readings or shares that no longer fit the subscription (a changed interval, an earlier end) are dropped. */
  private discardOffSchedule(): void {
    const end = this.endSeconds();
    const changed = this.shares
      ? this.shares.discard((start, intervalSeconds) => {
          if (intervalOfPeriod(this.schedule, start) !== intervalSeconds)
            return 'the reading interval changed';
          if (start + intervalSeconds > end)
            return `the subscription ended at ${this.subscription.end?.effectiveAt}`;
          return undefined;
        })
      : this.discardReadings(end);
    const last = this.shares ? this.shares.lastPeriodStart() : this.outbox.lastPeriodStart();
    const expected = last ? periodAfter(this.schedule, Date.parse(last) / 1000) : this.next;
    if (
      changed ||
      expected.startSeconds !== this.next.startSeconds ||
      expected.intervalSeconds !== this.next.intervalSeconds
    ) {
      this.next = last ? expected : firstPeriodFrom(this.schedule, this.next.startSeconds);
    }
  }

  private discardReadings(end: number): boolean {
    let changed = false;
    for (const reading of this.outbox.pending()) {
      const start = Date.parse(reading.submission.periodStart) / 1000;
      const interval = intervalOfPeriod(this.schedule, start);
      let reason: string | undefined;
      if (
        interval !== reading.intervalSeconds ||
        periodIndex(this.schedule, start) + 1 !== reading.submission.sequence
      )
        reason = 'the reading interval changed';
      else if (start + interval > end)
        reason = `the subscription ended at ${this.subscription.end?.effectiveAt}`;
      if (reason) {
        this.outbox.markDropped(reading.submission.periodStart, reason);
        this.countDropped(
          reason === 'the reading interval changed' ? reason : "measured after the subscription's end",
        );
        changed = true;
        this.say(
          'warn',
          'reading.dropped',
          `${reading.submission.periodStart} dropped before submission: ${reason}`,
        );
      }
    }
    return changed;
  }

  /**
   * Measures and stores every period that has ended (plus its jitter) by simulated now. The meter moves past
   * a period only once its reading is in the outbox; when it cannot be written, the same periods are measured
   * again on the next attempt.
   */
  private measureDuePeriods(): void {
    if (!this.pause.mayStore()) return;
    if (this.shares) {
      this.measureShares(this.shares);
      return;
    }
    const { due, next } = this.duePeriods();
    const fresh = due.map((period) => this.measure(period));
    if (fresh.length === 0) return;
    const stored = this.tryWrite(() => {
      this.outbox.add(fresh);
    });
    if (!stored) return;
    this.pause.stored(isoSeconds(this.next.startSeconds));
    this.next = next;
    this.stats.generated += fresh.length;
  }

  /** The periods due by simulated now (at most 1000 at a time), and the one after them. */
  private duePeriods(): { due: Period[]; next: Period } {
    const now = this.clock.nowSeconds();
    const limit = this.lastPeriodEndLimit();
    const due: Period[] = [];
    let next = this.next;
    while (due.length < 1000) {
      const end = next.startSeconds + next.intervalSeconds;
      if (end > limit || this.dueAt(next) > now) break;
      due.push(next);
      next = periodAfter(this.schedule, next.startSeconds);
    }
    return { due, next };
  }

  /**
   * Runs a write of new readings or shares; false when the outbox could not take it, which pauses new
   * readings (other errors are not the outbox's and go on up).
   */
  private tryWrite(write: () => void): boolean {
    const from = isoSeconds(this.next.startSeconds);
    try {
      write();
    } catch (err) {
      if (!(err instanceof OutboxWriteError)) throw err;
      this.pause.failed(err, { pending: this.pendingDescription(), from });
      return false;
    }
    return true;
  }

  /**
   * Aggregate mode: measures every period that has ended by simulated now and queues its two shares; periods
   * too old for the ledger to take their shares (more than 2 days) are skipped, with one warning per batch.
   */
  private measureShares(shares: ShareReporter): void {
    const { due, next } = this.duePeriods();
    const fresh: MeasuredPeriod[] = [];
    const skipped: Period[] = [];
    for (const period of due) {
      const { startSeconds, intervalSeconds } = period;
      if (shares.tooOld(startSeconds + intervalSeconds)) skipped.push(period);
      else fresh.push({ startSeconds, intervalSeconds, wattHours: this.measured(period).quantity });
    }
    const stored = this.tryWrite(() => {
      shares.queue(fresh, this.region);
    });
    if (!stored) return;
    if (fresh.length > 0) this.pause.stored(isoSeconds(this.next.startSeconds));
    this.next = next;
    if (skipped.length > 0) {
      this.countDropped('ended more than 2 days before they were measured', skipped.length);
      this.say(
        'warn',
        'periods.skipped',
        `skipping ${skipped.length} period${skipped.length === 1 ? '' : 's'} from ${isoSeconds(skipped[0].startSeconds)} to ` +
          `${isoSeconds((skipped.at(-1) as Period).startSeconds)}: they ended more than 2 days ago and the ledger refuses their shares`,
      );
    }
    this.stats.generated += fresh.length;
  }

  private get region(): string {
    return this.subscription.approval?.regionCode ?? '';
  }

  /**
   * What the meter measured in a period: the source's consumption through the supply relay (0 while off,
   * capped in power-saving mode), for every utility alike.
   */
  private measured(period: Period): MeasuredQuantity {
    return this.relay.limit(
      this.source.measure(period.startSeconds, period.intervalSeconds),
      period.intervalSeconds,
    );
  }

  private measure(period: Period): OutboxReading {
    const { quantity, quality } = this.measured(period);
    const utility = this.source.utility;
    const slot = {
      channel: this.bundle.channel,
      subscriptionId: this.bundle.subscriptionId,
      sequence: periodIndex(this.schedule, period.startSeconds) + 1,
      periodStart: isoSeconds(period.startSeconds),
    };
    const unit = UNIT_OF[utility];
    const encrypted = encryptReading({ energyWh: quantity, utility, unit, quality }, this.sessionKey, slot);
    return {
      submission: {
        subscriptionId: slot.subscriptionId,
        sequence: slot.sequence,
        periodStart: slot.periodStart,
        ...encrypted,
      },
      intervalSeconds: period.intervalSeconds,
      quantity,
      unit,
      quality,
    };
  }

  /** Submits the outbox in order, in batches; a refused batch is retried one by one to find the culprit. */
  private async drain(stop: AbortSignal): Promise<DrainResult> {
    let size = this.settings.batchSize;
    while (!stop.aborted) {
      const batch = this.outbox.pending().slice(0, size);
      if (batch.length === 0) return 'done';
      try {
        const result = await this.ledger.submitReadings(batch.map((reading) => reading.submission));
        this.committed(batch, result);
      } catch (err) {
        // Told to stop while this submission was in flight: the outbox keeps the batch for the next start.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- it can abort during the await
        if (stop.aborted) return 'done';
        if (mayRepeat(err)) return this.outage(err);
        if (batch.length > 1) {
          size = 1;
          continue;
        }
        if ((await this.refused(batch[0], err)) === 'failed') return 'failed';
      }
    }
    return 'done';
  }

  private committed(batch: OutboxReading[], result: BatchResult): void {
    this.outbox.markCommitted(batch.map((reading) => reading.submission.periodStart));
    this.stats.transactions += 1;
    this.stats.committed += result.stored;
    this.stats.alreadyOnLedger += result.alreadyStored;
    if (this.waitingSince !== undefined) {
      const seconds = Math.round((Date.now() - this.waitingSince) / 1000);
      this.say('info', 'ledger.reachable', `the ledger is reachable again after ${seconds} s; catching up`);
      this.waitingSince = undefined;
    }
    this.resetBackoff();
    const note =
      result.alreadyStored > 0
        ? ` (batch of ${batch.length}, ${result.alreadyStored} already on the ledger)`
        : '';
    for (const reading of batch) {
      const { periodStart, sequence } = reading.submission;
      this.say(
        'info',
        'reading.committed',
        `${periodStart} #${sequence} ${reading.quantity} ${reading.unit} (quality=${reading.quality}) committed${note}`,
        {
          periodStart,
          sequence,
          quantity: reading.quantity,
          unit: reading.unit,
          quality: reading.quality,
          batch: batch.length,
        },
      );
    }
  }

  private outage(err: unknown): DrainResult {
    if (this.waitingSince === undefined) {
      this.waitingSince = Date.now();
      this.say(
        'warn',
        'ledger.unreachable',
        `cannot submit (${describeFailure(err).message}); readings wait in the outbox`,
      );
    }
    this.nextBackoff();
    return 'retry';
  }

  /** A single reading the ledger refused: drop it if it can never be accepted, stop if the meter cannot go on. */
  private async refused(reading: OutboxReading, err: unknown): Promise<'ok' | 'failed'> {
    await this.refresh();
    if (!this.outbox.pending().includes(reading)) return 'ok';
    const refusal = refusalOf(err);
    // A reading that can never be accepted is dropped; one under another key (WRONG_KEY) means the meter's
    // bundle is stale, which no retry fixes: the meter stops and says so.
    if (refusal && (refusal.code === ErrorCode.InvalidArgument || refusal.code === ErrorCode.Conflict)) {
      this.outbox.markDropped(reading.submission.periodStart, `${refusal.code}: ${refusal.text}`, {
        refused: true,
      });
      this.countDropped(`refused by the ledger with ${refusal.code}`);
      this.say(
        'error',
        'reading.refused',
        `${reading.submission.periodStart} refused by the ledger and dropped: ${refusal.code}: ${refusal.text}`,
      );
      return 'ok';
    }
    return this.fail(err);
  }

  /** Whether every period the meter should report is on the ledger (at --until or at the subscription's end). */
  private finished(): boolean {
    return (
      (this.shares ? this.shares.pendingCount : this.outbox.pending().length) === 0 &&
      this.next.startSeconds + this.next.intervalSeconds > this.lastPeriodEndLimit()
    );
  }

  private ended(): MeterOutcome {
    this.say(
      'info',
      'subscription.ended',
      `subscription ${this.subscription.subscriptionId} ended at ${this.subscription.end?.effectiveAt}; ` +
        `the meter stops. ${this.runReport()}`,
    );
    return 'ended';
  }

  private countDropped(reason: string, count = 1): void {
    this.stats.dropped += count;
    this.dropReasons.set(reason, (this.dropReasons.get(reason) ?? 0) + count);
  }

  /**
   * What became of what this run measured, with every reason for a drop: nothing is pending any more, but a
   * dropped reading leaves its period without one on the ledger.
   */
  private runReport(): string {
    const { committed, alreadyOnLedger, dropped, sharesPublished, sharesDropped } = this.stats;
    const reasons = [...this.dropReasons].map(([reason, count]) => `${count} ${reason}`).join(', ');
    if (this.shares) {
      const skipped =
        dropped > 0 ? `; ${dropped} period${dropped === 1 ? '' : 's'} skipped (${reasons})` : '';
      return (
        `This run: ${sharesPublished} share${sharesPublished === 1 ? '' : 's'} published, ` +
        `${sharesDropped > 0 ? `${sharesDropped} dropped (see the shares.dropped lines)` : 'none dropped'}${skipped}`
      );
    }
    const lost =
      dropped > 0
        ? `${dropped} dropped (${reasons}): their periods have no reading on the ledger (see the reading.refused and reading.dropped lines)`
        : 'none dropped';
    return `This run: ${committed} reading${committed === 1 ? '' : 's'} committed, ${alreadyOnLedger} already on the ledger, ${lost}`;
  }

  private endSeconds(): number {
    return this.subscription.end ? Date.parse(this.subscription.end.effectiveAt) / 1000 : Infinity;
  }

  private lastPeriodEndLimit(): number {
    return Math.min(this.endSeconds(), this.settings.untilSeconds ?? Infinity);
  }

  private dueAt(period: Period): number {
    // Shares need no submission jitter: each goes at its own random moment in the share window.
    if (this.shares) return period.startSeconds + period.intervalSeconds;
    const delay = submissionDelaySeconds(
      this.bundle.meterId,
      period.startSeconds,
      period.intervalSeconds,
      this.configuredJitterSeconds ?? this.settings.maxJitterSeconds,
    );
    return period.startSeconds + period.intervalSeconds + delay;
  }

  private msUntilNextDue(): number {
    if (this.next.startSeconds + this.next.intervalSeconds > this.lastPeriodEndLimit()) {
      return this.settings.refreshSeconds * 1000;
    }
    return Math.max(this.clock.realMsUntil(this.dueAt(this.next)), this.pause.msUntilRetry());
  }

  private nextBackoff(): number {
    this.backoffMs = backoffDelayMs(this.failures, FIRST_BACKOFF_MS, MAX_BACKOFF_MS);
    this.failures += 1;
    return this.backoffMs;
  }

  private resetBackoff(): void {
    this.backoffMs = 0;
    this.failures = 0;
  }

  private fail(err: unknown): 'failed' {
    return this.failWith(describeFailure(err, this.bundle.peer.endpoint).message);
  }

  private failWith(message: string): 'failed' {
    this.say('error', 'meter.failed', message);
    return 'failed';
  }

  private say(
    level: LogLevel,
    event: string,
    message: string,
    fields: Record<string, string | number> = {},
  ): void {
    this.log.log(level, event, message, {
      meterId: this.bundle.meterId,
      subscriptionId: this.bundle.subscriptionId,
      ...fields,
    });
  }
}

/** Resolves after ms, or at once when stop is signalled. */
export function sleep(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stop.aborted || ms <= 0) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    }
    stop.addEventListener('abort', done, { once: true });
  });
}
