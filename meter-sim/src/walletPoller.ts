import type { WalletRecord } from '@smartmeter/domain';
import { describeFailure } from '@smartmeter/client/dist/errors';
import type { Relay, RelaySay } from './relay';

/** A subscription without a wallet may become prepaid later: it is read again, but this many times less often. */
export const NOT_PREPAID_POLL_FACTOR = 10;

export interface WalletPollerOptions {
  subscriptionId: string;
  /** The ledger's Prepaid:GetWallet; undefined when the subscription is not prepaid (NOT_FOUND). */
  walletOf: (subscriptionId: string) => Promise<WalletRecord | undefined>;
  relay: Relay;
  /** Real seconds between reads of a prepaid wallet; 0 disables polling (the relay then stays as it is). */
  pollSeconds: number;
  say: RelaySay;
  /** The peer, for the warning when the wallet cannot be read. */
  endpoint?: string;
  /** Wall-clock milliseconds; tests pass their own. */
  nowMs?: () => number;
}

/**
 * Keeps the relay in step with the wallet on the ledger. Meters are channel writers but not readers (issue 12),
 * so they get no chaincode events: they re-read their wallet every pollSeconds of real time (whatever --speed
 * says: the wallet changes in real time, with top-ups and settlements). The first read is at once. A wallet that
 * is not there (NOT_FOUND) means the subscription is not prepaid: the supply is on, and the wallet is read again
 * every NOT_PREPAID_POLL_FACTOR × pollSeconds. A read that fails keeps the last known state; the poller warns
 * once when reads start failing and says when they work again, and never throws.
 *
 * The meter awaits the first read (poll) before it measures anything, so that after a restart it does not
 * report a full period while its supply is off; after that it starts reads with pollIfDue before it measures
 * and submits, without waiting for the answer, so a slow or unreachable peer never holds readings back: the
 * answer counts from the next period measured (at high --speed, between batches).
 */
export class WalletPoller {
  private nextAtMs: number;
  private inFlight: Promise<void> | undefined;
  private unreadableSinceMs: number | undefined;
  private closed = false;
  readonly stats = { reads: 0, failures: 0 };
  private readonly nowMs: () => number;

  constructor(private readonly options: WalletPollerOptions) {
    this.nowMs = options.nowMs ?? Date.now;
    this.nextAtMs = this.nowMs();
  }

  get enabled(): boolean {
    return this.options.pollSeconds > 0 && !this.closed;
  }

  /** Real milliseconds until the next read is due: 0 when it is, Infinity when disabled or a read is under way. */
  msUntilDue(): number {
    if (!this.enabled || this.inFlight) return Infinity;
    return Math.max(0, this.nextAtMs - this.nowMs());
  }

  /** Starts a read when one is due and none is under way; does not wait for it. */
  pollIfDue(): void {
    if (this.msUntilDue() > 0) return;
    this.inFlight = this.poll().finally(() => {
      this.inFlight = undefined;
    });
  }

  /** Resolves once the read under way (if any) has been applied; a stopping meter does not wait for it. */
  async settled(): Promise<void> {
    await this.inFlight;
  }

  /** The meter stops: no further reads, and the answer to one under way is ignored. */
  close(): void {
    this.closed = true;
  }

  /** One read of the wallet, applied to the relay; never rejects. */
  async poll(): Promise<void> {
    const { relay, pollSeconds, subscriptionId } = this.options;
    let wallet: WalletRecord | undefined;
    try {
      wallet = await this.options.walletOf(subscriptionId);
    } catch (err) {
      if (this.closed) return;
      this.stats.failures += 1;
      this.nextAtMs = this.nowMs() + pollSeconds * 1000;
      if (this.unreadableSinceMs === undefined) {
        this.unreadableSinceMs = this.nowMs();
        this.options.say(
          'warn',
          'wallet.unreadable',
          `cannot read the wallet (${describeFailure(err, this.options.endpoint).message}); ` +
            `the supply stays ${relay.supply} until it can`,
          { supply: relay.supply },
        );
      }
      return;
    }
    if (this.closed) return;
    this.stats.reads += 1;
    if (this.unreadableSinceMs !== undefined) {
      const seconds = Math.round((this.nowMs() - this.unreadableSinceMs) / 1000);
      this.options.say('info', 'wallet.readable', `the wallet is readable again after ${seconds} s`, {});
      this.unreadableSinceMs = undefined;
    }
    relay.follow(wallet);
    this.nextAtMs = this.nowMs() + pollSeconds * 1000 * (wallet ? 1 : NOT_PREPAID_POLL_FACTOR);
  }
}
