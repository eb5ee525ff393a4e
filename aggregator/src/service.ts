import { AggregationLimits, type AggregationRoundRecord } from '@smartmeter/domain';
import { verifyShareSignature, type GridShare } from '@smartmeter/crypto';
import { backoffDelayMs } from '@smartmeter/client/dist/errors';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { FiltersCache, oneLine } from './filtersCache';
import { LedgerRefusal, type AggregationLedger } from './ledger';
import type { LogFields, Logger } from './log';
import {
  identityRefusal,
  parseShareMessage,
  periodEndOf,
  sameShare,
  timeRefusal,
  type DayFilters,
  type DropReason,
} from './shareCheck';
import {
  StateStore,
  type JsonLinesFile,
  type PendingHeader,
  type PendingShare,
  type RoundHeader,
} from './store';
import { AGGREGATOR_USERNAME, subscriptionFilters } from './topics';

/**
 * The untrusted aggregator of the aggregate privacy mode (docs/aggregation.md). It reads the meters' shares from
 * the broker through a persistent session, checks each as the ledger will, keeps the good ones in a durable
 * buffer before acknowledging them, and submits each round (region, periodStart) in batches, then closes it.
 * It learns nothing but pseudonyms and masked values; the ledger re-verifies every share it submits.
 */
export interface ServiceConfig {
  /** mqtts://host:port of the broker. */
  mqttUrl: string;
  /** CA certificate(s) the broker's TLS certificate must chain to; the system's when absent. */
  mqttCa?: Buffer;
  /** The aggregator's MQTT password (user "aggregator"). */
  password: string;
  /** Its client id (aggregatorClientId): fixed, for the broker keeps its session across restarts. */
  clientId: string;
  stateDir: string;
  /** A round closes this long after its first accepted share (or once it holds every expected share). */
  collectSeconds: number;
  /** Regions to subscribe to (each with the regions below it); all when empty. */
  regions: readonly string[];
  /** How long a share waits for its region's filters to be published before it is dropped (NO_FILTERS). */
  filtersWaitSeconds: number;
  /** How often the ledger is asked again for filters it did not have. */
  filtersRetrySeconds: number;
  /** Back-off of failed ledger transactions: first delay and cap. */
  retryBaseMs: number;
  retryCapMs: number;
  /** Rounds submitted at the same time. */
  concurrency: number;
}

export const defaultServiceConfig = {
  collectSeconds: 120,
  filtersWaitSeconds: 900,
  filtersRetrySeconds: 30,
  retryBaseMs: 1000,
  retryCapMs: 60_000,
  concurrency: 2,
} as const;

export interface ServiceDeps {
  ledger: AggregationLedger;
  log: Logger;
  /** A failure that makes going on unsafe (the buffer cannot be written): the process should exit 1. */
  onFatal?: (err: unknown) => void;
}

export interface ServiceStats {
  received: number;
  accepted: number;
  dropped: Partial<Record<DropReason, number>>;
  waiting: number;
  roundsClosed: number;
  sharesStored: number;
  sharesAlreadyStored: number;
  transactions: number;
}

interface Round {
  key: string;
  header: RoundHeader;
  periodEndSeconds: number;
  openedAtMs: number;
  shares: Map<string, GridShare>;
  file: JsonLinesFile;
  /** collecting: takes shares; closing: submitted and closed (retried until it is). */
  state: 'collecting' | 'closing';
  /** Read back from the state folder: closes only once the broker had a chance to deliver its backlog. */
  reloaded: boolean;
  timer?: NodeJS.Timeout;
  attempt: number;
  /** PRIDs of shares the ledger has (stored or duplicate): not sent again in a retry. */
  onLedger: Set<string>;
}

interface PendingGroup {
  header: PendingHeader;
  shares: PendingShare[];
  file: JsonLinesFile;
  timer: NodeJS.Timeout;
}

/** At most this many shares wait for filters (each about 500 bytes on disk and in memory). */
const MAX_WAITING_SHARES = 200_000;
/** CloseRound refuses a round whose period has not ended by the transaction's time: a little margin. */
const CLOSE_AFTER_PERIOD_END_MS = 2000;
/** A reloaded round stays open this long after the broker connection is back, for the backlog to arrive. */
const RELOAD_GRACE_MS = 10_000;
/** Reloaded rounds close even without a broker connection this long after start. */
const RELOAD_RELEASE_MS = 60_000;
/** Time a batch may still take from the check at submission to its endorsement. */
const SUBMIT_MARGIN_SECONDS = 120;
const STOP_WAIT_MS = 20_000;
const HOUSEKEEPING_MS = 10 * 60_000;
/** How often to check that a lost broker connection is being retried. */
const RECONNECT_WATCH_MS = 5000;

export class AggregatorService {
  readonly stats: ServiceStats = {
    received: 0,
    accepted: 0,
    dropped: {},
    waiting: 0,
    roundsClosed: 0,
    sharesStored: 0,
    sharesAlreadyStored: 0,
    transactions: 0,
  };
  private readonly store: StateStore;
  private readonly filters: FiltersCache;
  private readonly rounds = new Map<string, Round>();
  private readonly closed = new Set<string>();
  private readonly pending = new Map<string, PendingGroup>();
  private readonly closeQueue: Round[] = [];
  private readonly closing = new Set<Promise<void>>();
  private client: MqttClient | undefined;
  private reconnectWatch: NodeJS.Timeout | undefined;
  /** Changes with every connect and disconnect: an ack is sent only on the connection the share came on. */
  private generation = 0;
  private connected = false;
  private released = false;
  private stopping = false;
  private storeOpen = false;
  private inFlight: Promise<void> = Promise.resolve();
  private releaseTimer?: NodeJS.Timeout;
  private housekeeping?: NodeJS.Timeout;
  private lastMqttError = '';

  constructor(
    private readonly config: ServiceConfig,
    private readonly deps: ServiceDeps,
  ) {
    this.store = new StateStore(config.stateDir);
    this.filters = new FiltersCache(deps.ledger, deps.log, config.filtersRetrySeconds * 1000);
  }

  /** Reads the state folder back, schedules what it holds, and connects to the broker. */
  start(): void {
    this.store.open();
    this.storeOpen = true;
    const horizon = Date.now() - (AggregationLimits.maxShareDelaySeconds + 86_400) * 1000;
    for (const entry of this.store.loadClosed(new Date(horizon).toISOString())) {
      this.closed.add(roundKey(entry.region, entry.periodStart));
    }
    const reloaded = this.reloadRounds();
    const waiting = this.reloadPending();
    this.log(
      'info',
      'aggregator.started',
      `state ${this.config.stateDir}: ${reloaded.rounds} open round(s), ${reloaded.shares} share(s), ${waiting} waiting for filters`,
      {
        rounds: reloaded.rounds,
        shares: reloaded.shares,
        waiting,
        clientId: this.config.clientId,
      },
    );
    this.releaseTimer = setTimeout(() => {
      this.releaseReloaded();
    }, RELOAD_RELEASE_MS);
    this.housekeeping = setInterval(() => {
      this.forgetOld();
    }, HOUSEKEEPING_MS);
    this.reconnectWatch = setInterval(() => {
      this.reconnectIfStalled();
    }, RECONNECT_WATCH_MS);
    this.reconnectWatch.unref();
    this.housekeeping.unref();
    this.connect();
  }

  /**
   * Stops taking messages (those not yet acknowledged are redelivered to the next run), lets a round being
   * submitted finish for a while, and closes the buffer. Every accepted share stays on disk.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.releaseTimer);
    clearInterval(this.housekeeping);
    clearInterval(this.reconnectWatch);
    for (const round of this.rounds.values()) clearTimeout(round.timer);
    for (const group of this.pending.values()) clearInterval(group.timer);
    await this.inFlight;
    await this.client?.endAsync();
    const closing = Promise.allSettled([...this.closing]);
    const waited = await Promise.race([closing.then(() => true), delay(STOP_WAIT_MS).then(() => false)]);
    this.storeOpen = false;
    for (const round of this.rounds.values()) round.file.close();
    for (const group of this.pending.values()) group.file.close();
    this.store.close();
    this.log(
      'info',
      'aggregator.stopped',
      `stopped: ${this.stats.accepted} share(s) accepted, ${this.stats.roundsClosed} round(s) closed`,
      {
        openRounds: this.rounds.size,
        submissionsCut: !waited,
        ...flatStats(this.stats),
      },
    );
  }

  /** Whether the broker connection is up (for a health check). */
  isConnected(): boolean {
    return this.connected;
  }

  // --- MQTT -------------------------------------------------------------------------------------------------
  private connect(): void {
    const client = mqtt.connect(this.config.mqttUrl, {
      clientId: this.config.clientId,
      clean: false,
      username: AGGREGATOR_USERNAME,
      password: this.config.password,
      ...(this.config.mqttCa ? { ca: this.config.mqttCa } : {}),
      rejectUnauthorized: true,
      protocolVersion: 4,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 2000,
      resubscribe: false,
    });
    // mqtt.js sends a QoS 1 message's PUBACK only once handleMessage calls back without error: the share is in
    // the buffer by then, or dropped for good. Messages are handed over one at a time, in order.
    client.handleMessage = (packet: IPublishPacket, callback: (error?: Error) => void) => {
      this.onPublish(packet, callback);
    };
    client.on('connect', (connack) => {
      this.generation += 1;
      this.connected = true;
      this.lastMqttError = '';
      this.log('info', 'mqtt.connected', `connected to ${this.config.mqttUrl}`, {
        sessionPresent: connack.sessionPresent,
      });
      this.subscribe(client);
      this.releaseReloaded();
    });
    client.on('close', () => {
      this.generation += 1;
      if (this.connected && !this.stopping)
        this.log('warn', 'mqtt.disconnected', 'lost the broker connection; reconnecting');
      this.connected = false;
    });
    client.on('error', (err) => {
      if (this.stopping) return;
      const text = oneLine(err);
      if (text !== this.lastMqttError) this.log('warn', 'mqtt.error', text, { url: this.config.mqttUrl });
      this.lastMqttError = text;
    });
    this.client = client;
  }

  /**
   * mqtt.js retries every reconnectPeriod. In issue 21's fault campaign the aggregator still did not reconnect
   * for 44 s after the killed broker was back (the cause is not established; the broker logged one failed TLS
   * handshake). A client that is neither connected nor retrying is told to reconnect.
   */
  private reconnectIfStalled(): void {
    const client = this.client;
    if (!client || this.stopping || this.connected || client.reconnecting || client.disconnecting) return;
    this.log(
      'warn',
      'mqtt.reconnect',
      'the broker connection was neither up nor being retried; reconnecting',
    );
    client.reconnect();
  }

  private subscribe(client: MqttClient): void {
    const filters = subscriptionFilters(this.config.regions);
    client.subscribe(filters, { qos: 1 }, (err, _granted, suback) => {
      if (!err) {
        this.log('info', 'mqtt.subscribed', `subscribed to ${filters.join(', ')} (QoS 1)`, {
          filters: filters.join(','),
        });
        return;
      }
      // SUBACK return code 0x80: the broker does not let this user read that filter.
      const codes =
        suback && 'granted' in suback
          ? suback.granted.map((code) => (typeof code === 'number' ? code : 0x80))
          : [];
      const refused = filters.filter((_, index) => (codes[index] ?? 0x80) >= 0x80);
      this.log(
        'error',
        'mqtt.subscribe_refused',
        `the broker refused ${refused.join(', ') || filters.join(', ')}`,
        {
          error: oneLine(err),
        },
      );
    });
  }

  private onPublish(packet: IPublishPacket, callback: (error?: Error) => void): void {
    const generation = this.generation;
    if (this.stopping) {
      // Not acknowledged: the broker keeps it for the next run.
      callback(new Error('stopping'));
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    this.inFlight = this.processMessage(packet.topic, payload).then(
      () => {
        callback(generation === this.generation ? undefined : new Error('connection replaced'));
      },
      (err: unknown) => {
        callback(err instanceof Error ? err : new Error(String(err)));
        this.fatal(err);
      },
    );
  }

  private fatal(err: unknown): void {
    this.log('error', 'aggregator.fatal', `cannot go on safely: ${oneLine(err)}`);
    this.deps.onFatal?.(err);
  }

  // --- admission ----------------------------------------------------------------------------------------------
  /** Resolves once the message may be acknowledged: its share is durable, waiting durably, or dropped. */
  private async processMessage(topic: string, payload: Buffer): Promise<void> {
    this.stats.received += 1;
    const parsed = parseShareMessage(topic, payload);
    if (!parsed.ok) {
      this.drop(parsed.reason, parsed.share, { topic: topic.slice(0, 140), detail: parsed.detail });
      return;
    }
    const { share } = parsed;
    if (this.isClosed(roundKey(share.region, share.periodStart))) {
      this.drop('ROUND_CLOSED', share);
      return;
    }
    const filters = await this.filters.get(share.region, share.periodStart.slice(0, 10));
    if (filters) this.admit(share, filters);
    else this.wait(share, Date.now());
  }

  /** Every check of SubmitShares, then the buffer. Synchronous: no other share interleaves. */
  private admit(share: GridShare, filters: DayFilters): void {
    const key = roundKey(share.region, share.periodStart);
    const round = this.rounds.get(key);
    const periodEnd = periodEndOf(share, filters);
    const refusal = this.refusal(share, filters, round, periodEnd);
    if (refusal || periodEnd === undefined) {
      this.drop(refusal ?? 'WRONG_PERIOD', share);
      return;
    }
    if (round) {
      round.file.append([{ kind: 'share', share }]);
      round.shares.set(share.prid, share);
    } else {
      this.openRound(share, filters, periodEnd);
    }
    this.stats.accepted += 1;
    const current = this.rounds.get(key);
    if (current && current.shares.size >= current.header.expectedShares) this.schedule(current);
  }

  /** The checks in order of cost: a replay is recognised before its signature is verified again. */
  private refusal(
    share: GridShare,
    filters: DayFilters,
    round: Round | undefined,
    periodEnd: number | undefined,
  ): DropReason | undefined {
    if (this.isClosed(roundKey(share.region, share.periodStart))) return 'ROUND_CLOSED';
    if (periodEnd === undefined) return 'WRONG_PERIOD';
    const earlier = round?.shares.get(share.prid);
    if (earlier && sameShare(earlier, share)) return 'DUPLICATE';
    const lateMargin = this.config.collectSeconds + SUBMIT_MARGIN_SECONDS;
    return (
      timeRefusal(share, periodEnd, Date.now() / 1000, lateMargin) ??
      identityRefusal(share, filters) ??
      (earlier ? 'CONFLICT' : undefined)
    );
  }

  private openRound(share: GridShare, filters: DayFilters, periodEndSeconds: number): void {
    const header: RoundHeader = {
      kind: 'round',
      region: share.region,
      periodStart: share.periodStart,
      periodSeconds: filters.record.periodSeconds,
      expectedShares: 2 * filters.record.meterCount,
      openedAt: new Date().toISOString(),
    };
    const round: Round = {
      key: roundKey(share.region, share.periodStart),
      header,
      periodEndSeconds,
      openedAtMs: Date.parse(header.openedAt),
      shares: new Map([[share.prid, share]]),
      file: this.store.createRound(header, share),
      state: 'collecting',
      reloaded: false,
      attempt: 0,
      onLedger: new Set(),
    };
    this.rounds.set(round.key, round);
    this.schedule(round);
  }

  private isClosed(key: string): boolean {
    return this.closed.has(key) || this.rounds.get(key)?.state === 'closing';
  }

  private drop(reason: DropReason, share: GridShare | undefined, fields: LogFields = {}): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    const where = share ? ` (${share.region} ${share.periodStart})` : '';
    this.log(reason === 'DUPLICATE' ? 'info' : 'warn', 'share.dropped', `${reason}${where}`, {
      reason,
      region: share?.region,
      periodStart: share?.periodStart,
      prid: share?.prid,
      ...fields,
    });
  }

  // --- shares waiting for filters -----------------------------------------------------------------------------
  /** The region's filters for the day are not on the ledger (yet): the share waits for them, on disk. */
  private wait(share: GridShare, receivedAtMs: number): void {
    const refusal = this.waitingRefusal(share);
    if (refusal) {
      this.drop(refusal, share);
      return;
    }
    const day = share.periodStart.slice(0, 10);
    const key = `${share.region}|${day}`;
    const entry = { share, receivedAtMs };
    const group = this.pending.get(key);
    if (group) {
      group.file.append([{ kind: 'share', share, receivedAtMs }]);
      group.shares.push(entry);
    } else {
      const header: PendingHeader = { kind: 'pending', region: share.region, day };
      this.addPendingGroup(key, header, [entry], this.store.createPending(header, entry));
    }
    this.stats.waiting += 1;
  }

  /** What can be checked without the filters, so that forged shares do not pile up while waiting. */
  private waitingRefusal(share: GridShare): DropReason | undefined {
    if (Date.parse(share.sentAt) / 1000 > Date.now() / 1000 + AggregationLimits.maxClockSkewSeconds) {
      return 'FUTURE';
    }
    if (!verifyShareSignature(share)) return 'BAD_SIGNATURE';
    return this.stats.waiting >= MAX_WAITING_SHARES ? 'OVERLOADED' : undefined;
  }

  private addPendingGroup(
    key: string,
    header: PendingHeader,
    shares: PendingShare[],
    file: JsonLinesFile,
  ): void {
    const timer = setInterval(() => {
      void this.retryPending(key);
    }, this.config.filtersRetrySeconds * 1000);
    this.pending.set(key, { header, shares, file, timer });
  }

  private async retryPending(key: string): Promise<void> {
    const group = this.pending.get(key);
    if (!group || this.stopping) return;
    const filters = await this.filters.get(group.header.region, group.header.day, true);
    // Stopped, or released by a share's own look-up, while the ledger answered.
    if (this.isStopping() || this.pending.get(key) !== group) return;
    try {
      if (filters) this.releasePending(key, group, filters);
      else this.expirePending(key, group);
    } catch (err) {
      this.fatal(err);
    }
  }

  /** The filters came: every waiting share goes through the checks, then the file goes. */
  private releasePending(key: string, group: PendingGroup, filters: DayFilters): void {
    clearInterval(group.timer);
    this.pending.delete(key);
    for (const { share } of group.shares) this.admit(share, filters);
    this.stats.waiting -= group.shares.length;
    group.file.remove();
  }

  /** Shares that waited longer than filters-wait-seconds for filters the ledger says it does not have. */
  private expirePending(key: string, group: PendingGroup): void {
    if (!this.filters.knownMissing(group.header.region, group.header.day)) return;
    const deadline = Date.now() - this.config.filtersWaitSeconds * 1000;
    const expired = group.shares.filter((entry) => entry.receivedAtMs <= deadline);
    if (expired.length === 0) return;
    const kept = group.shares.filter((entry) => entry.receivedAtMs > deadline);
    for (const { share } of expired) this.drop('NO_FILTERS', share, { day: group.header.day });
    this.stats.waiting -= expired.length;
    const file = this.store.rewritePending(group.file, group.header, kept);
    if (!file) {
      clearInterval(group.timer);
      this.pending.delete(key);
      return;
    }
    group.file = file;
    group.shares = kept;
  }

  // --- rounds -------------------------------------------------------------------------------------------------
  /** Arms the round's close: collect-seconds after its first share, at once when full; never before its end. */
  private schedule(round: Round): void {
    if (round.state !== 'collecting' || this.stopping) return;
    if (round.reloaded && !this.released) return;
    const now = Date.now();
    const full = round.shares.size >= round.header.expectedShares;
    let at = Math.max(
      full ? now : round.openedAtMs + this.config.collectSeconds * 1000,
      round.periodEndSeconds * 1000 + CLOSE_AFTER_PERIOD_END_MS,
    );
    if (round.reloaded && !full)
      at = Math.max(at, now + Math.min(RELOAD_GRACE_MS, this.config.collectSeconds * 1000));
    clearTimeout(round.timer);
    round.timer = setTimeout(
      () => {
        this.beginClose(round);
      },
      Math.max(0, at - now),
    );
  }

  private releaseReloaded(): void {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.releaseTimer);
    for (const round of this.rounds.values()) if (round.reloaded) this.schedule(round);
  }

  private beginClose(round: Round): void {
    if (round.state === 'closing' || this.stopping) return;
    round.state = 'closing';
    clearTimeout(round.timer);
    this.enqueue(round);
  }

  private enqueue(round: Round): void {
    this.closeQueue.push(round);
    this.pump();
  }

  private pump(): void {
    while (!this.stopping && this.closing.size < this.config.concurrency && this.closeQueue.length > 0) {
      const round = this.closeQueue.shift() as Round;
      const task: Promise<void> = this.closeRound(round).finally(() => {
        this.closing.delete(task);
        this.pump();
      });
      this.closing.add(task);
    }
  }

  /** Submits the round's shares in batches, then closes it; on a failure tries again later. */
  private async closeRound(round: Round): Promise<void> {
    try {
      const outcome = await this.submitRound(round);
      const record = outcome === 'closed' ? await this.closedRecord(round) : await this.closeOnLedger(round);
      this.finish(round, record, outcome === 'closed');
    } catch (err) {
      if (this.stopping) return;
      if (err instanceof StoreError) {
        this.fatal(err.cause);
        return;
      }
      round.attempt += 1;
      const wait = backoffDelayMs(round.attempt - 1, this.config.retryBaseMs, this.config.retryCapMs);
      this.log(
        'warn',
        'round.retry',
        `${round.header.region} ${round.header.periodStart}: ${oneLine(err)}; again in ${wait} ms`,
        {
          region: round.header.region,
          periodStart: round.header.periodStart,
          attempt: round.attempt,
          delayMs: wait,
          code: err instanceof LedgerRefusal ? err.code : undefined,
        },
      );
      round.timer = setTimeout(() => {
        this.enqueue(round);
      }, wait);
    }
  }

  /** 'closed' when the ledger says the round is closed already (by an earlier run of this aggregator). */
  private async submitRound(round: Round): Promise<'submitted' | 'closed'> {
    const { region, periodStart } = round.header;
    const now = Date.now() / 1000;
    const toSend: GridShare[] = [];
    for (const share of round.shares.values()) {
      if (round.onLedger.has(share.prid)) continue;
      if (timeRefusal(share, round.periodEndSeconds, now, SUBMIT_MARGIN_SECONDS) === 'LATE') {
        round.shares.delete(share.prid);
        this.drop('LATE', share, { detail: 'too late by the time its round was submitted' });
        continue;
      }
      toSend.push(share);
    }
    for (let i = 0; i < toSend.length; i += AggregationLimits.maxSharesPerBatch) {
      const chunk = toSend.slice(i, i + AggregationLimits.maxSharesPerBatch);
      if ((await this.submitChunk(round, chunk)) === 'closed') return 'closed';
    }
    if (toSend.length > 0) {
      this.log('info', 'round.submitted', `${region} ${periodStart}: ${toSend.length} share(s) sent`, {
        region,
        periodStart,
        shares: toSend.length,
      });
    }
    return 'submitted';
  }

  /**
   * One SubmitShares. A refusal that may concern single shares (INVALID_ARGUMENT, or CONFLICT in a round still
   * open: a PRID the ledger has with other content) is narrowed down by halving the batch, so one share the
   * ledger judges otherwise costs only itself. Any other refusal (FORBIDDEN: this identity is no aggregator;
   * NOT_FOUND) and any failure is thrown: the round is tried again later, whole.
   */
  private async submitChunk(round: Round, shares: GridShare[]): Promise<'ok' | 'closed'> {
    const { region, periodStart } = round.header;
    try {
      this.stats.transactions += 1;
      const result = await this.deps.ledger.submitShares({ regionCode: region, periodStart, shares });
      this.stats.sharesStored += result.stored;
      this.stats.sharesAlreadyStored += result.duplicates;
      for (const share of shares) round.onLedger.add(share.prid);
      return 'ok';
    } catch (err) {
      if (!(err instanceof LedgerRefusal)) throw err;
      if (err.code === 'CONFLICT' && (await this.deps.ledger.round(region, periodStart))) return 'closed';
      if (err.code !== 'INVALID_ARGUMENT' && err.code !== 'CONFLICT') throw err;
      if (shares.length === 1) {
        round.shares.delete(shares[0].prid);
        this.drop('REFUSED_BY_LEDGER', shares[0], { code: err.code, detail: err.text.slice(0, 200) });
        return 'ok';
      }
      const half = Math.ceil(shares.length / 2);
      for (const part of [shares.slice(0, half), shares.slice(half)]) {
        if ((await this.submitChunk(round, part)) === 'closed') return 'closed';
      }
      return 'ok';
    }
  }

  private async closeOnLedger(round: Round): Promise<AggregationRoundRecord> {
    const { region, periodStart } = round.header;
    try {
      this.stats.transactions += 1;
      return await this.deps.ledger.closeRound(region, periodStart);
    } catch (err) {
      // Closed by an earlier attempt whose outcome was unknown, or by an earlier run.
      if (err instanceof LedgerRefusal && err.code === 'CONFLICT') return this.closedRecord(round);
      throw err;
    }
  }

  private async closedRecord(round: Round): Promise<AggregationRoundRecord> {
    const record = await this.deps.ledger.round(round.header.region, round.header.periodStart);
    if (!record) throw new Error(`round ${round.key} is reported closed but cannot be read`);
    return record;
  }

  private finish(round: Round, record: AggregationRoundRecord, closedBefore: boolean): void {
    if (!this.storeOpen) return;
    const { region, periodStart } = round.header;
    try {
      this.store.recordClosed({ region, periodStart, status: record.status, closedAt: record.closedAt });
      round.file.remove();
    } catch (err) {
      throw new StoreError(err);
    }
    this.rounds.delete(round.key);
    this.closed.add(round.key);
    this.stats.roundsClosed += 1;
    const load = record.status === 'COMPLETE' || record.status === 'RESOLVED' ? record.load : undefined;
    this.log(
      'info',
      'round.closed',
      `${region} ${periodStart}: ${record.status}, ${record.shareCount} of ${record.expectedShares} shares${load === undefined ? '' : `, load ${load} Wh`}`,
      {
        region,
        periodStart,
        shares: round.shares.size,
        status: record.status,
        shareCount: record.shareCount,
        expectedShares: record.expectedShares,
        load,
        closedBefore: closedBefore || undefined,
      },
    );
  }

  // --- restart ------------------------------------------------------------------------------------------------
  private reloadRounds(): { rounds: number; shares: number } {
    let shares = 0;
    for (const loaded of this.store.loadRounds()) {
      const { header } = loaded;
      const key = roundKey(header.region, header.periodStart);
      if (this.closed.has(key)) {
        // Closed just before a crash, before its file was deleted.
        loaded.file.remove();
        continue;
      }
      const round: Round = {
        key,
        header,
        periodEndSeconds: Date.parse(header.periodStart) / 1000 + header.periodSeconds,
        openedAtMs: Date.parse(header.openedAt),
        shares: new Map(),
        file: loaded.file,
        state: 'collecting',
        reloaded: true,
        attempt: 0,
        onLedger: new Set(),
      };
      for (const share of loaded.shares)
        if (!round.shares.has(share.prid)) round.shares.set(share.prid, share);
      shares += round.shares.size;
      this.rounds.set(key, round);
    }
    return { rounds: this.rounds.size, shares };
  }

  private reloadPending(): number {
    for (const loaded of this.store.loadPending()) {
      const key = `${loaded.header.region}|${loaded.header.day}`;
      this.addPendingGroup(key, loaded.header, loaded.shares, loaded.file);
      this.stats.waiting += loaded.shares.length;
      setImmediate(() => {
        void this.retryPending(key);
      });
    }
    return this.stats.waiting;
  }

  private forgetOld(): void {
    const horizon = new Date(
      Date.now() - (AggregationLimits.maxShareDelaySeconds + 86_400) * 1000,
    ).toISOString();
    for (const key of this.closed) if (key.slice(key.indexOf('|') + 1) < horizon) this.closed.delete(key);
    this.filters.forgetBefore(horizon.slice(0, 10));
  }

  private isStopping(): boolean {
    return this.stopping;
  }

  private log(level: 'info' | 'warn' | 'error', event: string, message: string, fields?: LogFields): void {
    this.deps.log.log(level, event, message, fields);
  }
}

/** The buffer could not be written: not a ledger failure to retry. */
class StoreError extends Error {
  constructor(override readonly cause: unknown) {
    super(oneLine(cause));
    this.name = 'StoreError';
  }
}

function roundKey(region: string, periodStart: string): string {
  return `${region}|${periodStart}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function flatStats(stats: ServiceStats): LogFields {
  const { dropped, ...counts } = stats;
  return {
    ...counts,
    ...Object.fromEntries(Object.entries(dropped).map(([reason, count]) => [`dropped${reason}`, count])),
  };
}
