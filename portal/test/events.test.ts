import type { BillRecord, ReadingRecord, SubscriptionRecord } from '@smartmeter/domain';
import { randomBytes } from 'node:crypto';
import { APPROVAL, subscriptionRecord } from '../../client/test/commands/support/fixtures';
import type { LedgerEvent } from '../src/api';
import { bearer, globalsOf, worldOf } from './support/parties';
import { servePortal, type ServedPortal } from './support/served';

/**
 * A household's server may not follow the channel's events (its ACLs keep them from households): it looks at
 * its own subscriptions, bills and readings every pollSeconds and tells open pages what changed.
 */
describe("a household's live updates", () => {
  let served: ServedPortal;
  let billStatus: BillRecord['status'] = 'ISSUED';
  let readingCount = 48;
  const subscription: SubscriptionRecord = subscriptionRecord(randomBytes(32), [], {
    status: 'ACTIVE',
    approval: APPROVAL,
  });
  const id = subscription.subscriptionId;

  beforeEach(async () => {
    const world = worldOf('household');
    world.clients = {
      subscriptions: { mine: async () => [subscription] },
      billing: {
        forSubscription: async () => [
          { billId: 'bill_000000000000000000000009', status: billStatus } as BillRecord,
        ],
      },
      measurements: { all: async () => Array.from({ length: readingCount }, () => ({}) as ReadingRecord) },
    };
    served = await servePortal(world.deps(globalsOf('household')), { pollSeconds: 1 });
    served.portal.events.start();
  });

  afterEach(async () => {
    await served.close();
  });

  /** The page's event stream, read until n ledger events came or 8 s passed. */
  async function nextEvents(count: number, change: () => void): Promise<LedgerEvent[]> {
    const controller = new AbortController();
    const response = await served.call('/api/events', { headers: bearer(served), signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const events: LedgerEvent[] = [];
    let buffer = '';
    // Give the first poll time to see the records as they were.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    change();
    const deadline = setTimeout(() => {
      controller.abort();
    }, 8000);
    try {
      while (events.length < count) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += Buffer.from(value).toString('utf8');
        for (const match of buffer.matchAll(/^event: ledger\ndata: (.*)$/gm))
          events.push(JSON.parse(match[1]) as LedgerEvent);
        buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
      }
    } catch {
      // Aborted at the deadline: the events so far are the answer.
    } finally {
      clearTimeout(deadline);
      controller.abort();
    }
    return events;
  }

  it('when its bill changes status then the page hears BillChanged with the bill and its subscription', async () => {
    const events = await nextEvents(1, () => {
      billStatus = 'DISPUTED';
    });
    expect(events).toEqual([
      { name: 'BillChanged', billId: 'bill_000000000000000000000009', subscriptionId: id },
    ]);
  });

  it('when new readings arrive then the page hears ReadingsSubmitted for the subscription', async () => {
    const events = await nextEvents(1, () => {
      readingCount = 49;
    });
    expect(events).toEqual([{ name: 'ReadingsSubmitted', subscriptionId: id }]);
  });
});
