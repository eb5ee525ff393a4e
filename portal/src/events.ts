import type { ChaincodeEvent, CloseableAsyncIterable } from '@hyperledger/fabric-gateway';
import type { ServerResponse } from 'node:http';
import { backoffDelayMs } from '@smartmeter/client/dist/errors';
import { openGateway, type GatewayConnection } from '@smartmeter/client/dist/gateway';
import { isoSeconds } from '@smartmeter/domain';
import type { LedgerEvent } from './api';
import type { PortalContext } from './context';

/**
 * Live updates for open pages, as server-sent events. An organization's server follows the channel's chaincode
 * events. A household's may not (the channel's ACLs keep events, like blocks, to the distributor and the
 * authority, so that no household sees another's activity), so it looks at its own subscriptions, bills and
 * readings every pollSeconds and says what changed.
 */
export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private stopped = false;
  private connection?: GatewayConnection;
  /** The open chaincode event stream: closing the gRPC client alone leaves its call running. */
  private stream?: CloseableAsyncIterable<ChaincodeEvent>;
  private timer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;

  constructor(private readonly ctx: PortalContext) {}

  start(): void {
    this.heartbeat = setInterval(() => {
      this.write(': keep-alive\n\n');
    }, 25_000);
    if (this.ctx.party === 'household') void this.pollOwnRecords();
    else void this.followChaincodeEvents();
  }

  /** An open page: the response stays open until the page goes or the server stops. */
  add(response: ServerResponse): void {
    this.clients.add(response);
    response.on('close', () => this.clients.delete(response));
    response.write('retry: 5000\n\n');
  }

  publish(event: LedgerEvent): void {
    this.write(`event: ledger\ndata: ${JSON.stringify(event)}\n\n`);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.timer);
    this.stream?.close();
    this.connection?.close();
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private write(text: string): void {
    for (const client of this.clients) client.write(text);
  }

  private async followChaincodeEvents(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        this.connection = openGateway(this.ctx.profile, { files: this.ctx.identity.files });
        const network = this.connection.gateway.getNetwork(this.ctx.channel);
        this.stream = await network.getChaincodeEvents(this.ctx.profile.chaincodeName);
        attempt = 0;
        for await (const event of this.stream) {
          this.publish({
            name: event.eventName,
            txId: event.transactionId,
            blockNumber: event.blockNumber.toString(),
            ...idsIn(event.payload),
          });
        }
      } catch {
        // The peer went away or restarted: follow again from now, with back-off.
      } finally {
        this.stream?.close();
        this.connection?.close();
      }
      await this.sleep(backoffDelayMs(attempt));
    }
  }

  private async pollOwnRecords(): Promise<void> {
    let seen: Map<string, string> | undefined;
    while (!this.stopped) {
      try {
        const current = await ownRecords(this.ctx);
        if (seen) for (const event of changes(seen, current)) this.publish(event);
        seen = current;
      } catch {
        // Unreachable for now: the next poll tries again.
      }
      await this.sleep(this.ctx.options.pollSeconds * 1000);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timer = setTimeout(resolve, ms);
    });
  }
}

/** The ids an event's payload names, and nothing else of it (pages fetch what they show). */
function idsIn(payload: Uint8Array): Pick<LedgerEvent, 'subscriptionId' | 'billId' | 'requestId'> {
  try {
    const parsed = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
    const pick = (key: string) => {
      const value = parsed[key];
      return typeof value === 'string' ? value : undefined;
    };
    return { subscriptionId: pick('subscriptionId'), billId: pick('billId'), requestId: pick('requestId') };
  } catch {
    return {};
  }
}

/**
 * A household's records as "kind|id" → a version: each subscription's status and update time, each bill's
 * status, each subscription's reading count of the last two days.
 */
async function ownRecords(ctx: PortalContext): Promise<Map<string, string>> {
  const now = Math.floor(ctx.deps.now().getTime() / 1000);
  const since = isoSeconds(now - 2 * 86_400);
  const until = isoSeconds(now + 86_400);
  return ctx.deps.withChannel(async ({ subscriptions, billing, measurements }) => {
    const records = new Map<string, string>();
    for (const subscription of await subscriptions.mine()) {
      const id = subscription.subscriptionId;
      records.set(`subscription|${id}`, `${subscription.status}|${subscription.updatedAt}`);
      if (!subscription.approval) continue;
      for (const bill of await billing.forSubscription(id))
        records.set(`bill|${bill.billId}|${id}`, bill.status);
      if (subscription.privacyMode !== 'aggregate')
        records.set(`readings|${id}`, String((await measurements.all(id, since, until)).length));
    }
    return records;
  });
}

function changes(before: Map<string, string>, after: Map<string, string>): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  for (const [key, version] of after) {
    if (before.get(key) === version) continue;
    const [kind, id, subscriptionId] = key.split('|');
    if (kind === 'subscription') events.push({ name: 'SubscriptionChanged', subscriptionId: id });
    else if (kind === 'bill')
      events.push({ name: before.has(key) ? 'BillChanged' : 'BillIssued', billId: id, subscriptionId });
    else events.push({ name: 'ReadingsSubmitted', subscriptionId: id });
  }
  return events;
}
