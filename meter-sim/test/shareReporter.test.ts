import { verifyShareSignature, type GridShare } from '@smartmeter/crypto';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, OutboxFullError, type JournalFiles } from '../src/journal';
import { ShareOutbox } from '../src/shareOutbox';
import { MAX_SHARE_AGE_SECONDS, ShareReporter, type ShareSettings } from '../src/shareReporter';
import { FakePublisher, iso, unmasked } from './support/aggregate';
import { FailingFiles } from './support/failingFiles';

const HALF_HOUR = 1800;
const REGION = 'north/d3';
/** A half-hour boundary an hour ago: the clock of these tests is moved by hand from there. */
const base = Math.floor(Date.now() / 1000 / HALF_HOUR) * HALF_HOUR - 2 * HALF_HOUR;
const live: ShareSettings = { live: true, shareWindowSeconds: 240, minShareGapSeconds: 20 };
const prompt: ShareSettings = { ...live, live: false };

/** Lets acknowledgements arrive and be written (the reporter writes them on the next turn of the loop). */
const settle = async () => {
  for (let i = 0; i < 3; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

function setup(
  settings: ShareSettings,
  options: { path?: string; sessionKey?: Buffer; files?: JournalFiles } = {},
) {
  let nowMs = base * 1000;
  const clock = {
    seconds: () => Math.floor(nowMs / 1000),
    set: (seconds: number) => {
      nowMs = seconds * 1000;
    },
  };
  const path = options.path ?? join(mkdtempSync(join(tmpdir(), 'shares-')), 'shares.jsonl');
  const sessionKey = options.sessionKey ?? randomBytes(32);
  const publisher = new FakePublisher(() => nowMs);
  const lines: string[] = [];
  const outbox = ShareOutbox.open(path, options.files);
  const reporter = new ShareReporter({
    sessionKey,
    outbox,
    publisher,
    settings,
    say: (level, event, message) => lines.push(`${level} ${event} ${message}`),
    nowMs: () => nowMs,
  });
  /** Publishes whatever is due each second from now to `untilSeconds`, letting acknowledgements land. */
  const runUntil = async (untilSeconds: number) => {
    for (let t = clock.seconds(); t <= untilSeconds; t += 1) {
      clock.set(t);
      reporter.publishDue();
      await settle();
      reporter.publishDue();
      await settle();
    }
  };
  return { clock, path, sessionKey, publisher, lines, outbox, reporter, runUntil };
}

/** A period's reading, deterministic per period. */
const wattHoursOf = (start: number) => 200 + (Math.floor(start / 300) % 7) * 37;
const periods = (first: number, count: number) =>
  Array.from({ length: count }, (_, i) => {
    const startSeconds = first + i * HALF_HOUR;
    return { startSeconds, intervalSeconds: HALF_HOUR, wattHours: wattHoursOf(startSeconds) };
  });

function byPeriod(shares: GridShare[]): Map<string, GridShare[]> {
  const grouped = new Map<string, GridShare[]>();
  for (const share of shares)
    grouped.set(share.periodStart, [...(grouped.get(share.periodStart) ?? []), share]);
  return grouped;
}

describe('grid shares, live mode', () => {
  it('when periods end then each gives two shares, each sent at its own random second in the window, the gap apart, sentAt its publish moment', async () => {
    const { clock, publisher, reporter, sessionKey, runUntil, lines } = setup(live);
    const count = 12;
    const gaps: number[] = [];
    const firstOffsets: number[] = [];
    // Each period is measured as it ends (the clock there), then the window runs.
    for (let i = 0; i < count; i += 1) {
      const start = base + i * 300;
      const end = start + HALF_HOUR;
      clock.set(end);
      const sentBefore = publisher.sent.length;
      reporter.queue(
        [{ startSeconds: start, intervalSeconds: HALF_HOUR, wattHours: wattHoursOf(start) }],
        REGION,
      );
      await runUntil(end + 300);
      const sent = publisher.sent.slice(sentBefore);
      expect(sent).toHaveLength(2);
      for (const { topic, payload, atSeconds } of sent) {
        const share = JSON.parse(payload) as GridShare;
        expect(topic).toBe('grid/north/d3/shares');
        expect(share.sentAt).toBe(iso(atSeconds));
        expect(verifyShareSignature(share)).toBe(true);
        expect(atSeconds).toBeGreaterThanOrEqual(end);
        expect(atSeconds).toBeLessThan(end + 240);
      }
      gaps.push(Math.abs(sent[1].atSeconds - sent[0].atSeconds));
      firstOffsets.push(sent[0].atSeconds - end);
      expect(
        unmasked(
          sessionKey,
          sent.map((s) => JSON.parse(s.payload) as GridShare),
        ),
      ).toBe(BigInt(wattHoursOf(start)));
    }
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(20);
    // Random moments: not the same offset every period.
    expect(new Set(firstOffsets).size).toBeGreaterThan(count / 2);
    expect(reporter.pendingCount).toBe(0);
    expect(lines.filter((line) => line.includes('shares.published'))).toHaveLength(count);
  });

  it('when the broker was down past both moments then, back up, the first goes at once and its sibling only the gap later', async () => {
    const { clock, publisher, reporter, runUntil } = setup(live);
    const end = base + HALF_HOUR;
    clock.set(end);
    reporter.queue(periods(base, 1), REGION);
    publisher.disconnect();
    await runUntil(end + 400);
    expect(publisher.sent).toHaveLength(0);
    publisher.reconnect();
    await runUntil(end + 500);
    expect(publisher.sent.map((s) => s.atSeconds)).toEqual([end + 400, end + 420]);
    expect(publisher.shares().map((share) => share.sentAt)).toEqual([iso(end + 400), iso(end + 420)]);
  });
});

describe('grid shares, catching up', () => {
  it('when a backlog goes out then it goes at once, in random order, no two shares of a period side by side, sentAt the moment sent', async () => {
    const { clock, publisher, reporter, sessionKey } = setup(prompt);
    const backlog = periods(base - 20 * HALF_HOUR, 20);
    reporter.queue(backlog, REGION);
    clock.set(base + 7);
    for (let round = 0; round < 10; round += 1) {
      reporter.publishDue();
      await settle();
    }
    expect(publisher.sent).toHaveLength(40);
    const sequence = publisher.shares().map((share) => share.periodStart);
    for (let i = 1; i < sequence.length; i += 1) expect(sequence[i]).not.toBe(sequence[i - 1]);
    expect(sequence).not.toEqual([...sequence].sort());
    for (const share of publisher.shares()) {
      expect(share.sentAt).toBe(iso(base + 7));
      expect(verifyShareSignature(share)).toBe(true);
    }
    const grouped = byPeriod(publisher.shares());
    expect(grouped.size).toBe(20);
    for (const [periodStart, shares] of grouped) {
      expect(shares).toHaveLength(2);
      expect(unmasked(sessionKey, shares)).toBe(BigInt(wattHoursOf(Date.parse(periodStart) / 1000)));
    }
    expect(new Set(publisher.shares().map((share) => share.prid)).size).toBe(40);
    expect(reporter.pendingCount).toBe(0);
  });
});

describe('grid shares, catching up one connection per share', () => {
  it('when the publisher takes 4 at a time then never more than 4 wait for their PUBACK, each acknowledgement lets the next one go, and the order stays random', async () => {
    const { clock, publisher, reporter, sessionKey, path } = setup(prompt);
    publisher.maxInFlight = 4;
    publisher.autoAck = false;
    reporter.queue(periods(base - 20 * HALF_HOUR, 20), REGION);
    clock.set(base + 7);
    reporter.publishDue();
    expect(publisher.sent).toHaveLength(4);
    reporter.publishDue();
    expect(publisher.sent).toHaveLength(4);
    for (let round = 0; round < 40 && publisher.sent.length < 40; round += 1) {
      publisher.ack(1);
      await settle();
      reporter.publishDue();
      // One acknowledged, one more out: still 4 in flight.
      expect(publisher.sent.length - reporter.stats.published).toBeLessThanOrEqual(4);
    }
    expect(publisher.sent).toHaveLength(40);
    publisher.ack();
    await settle();
    expect(reporter.pendingCount).toBe(0);
    expect(ShareOutbox.open(path).size).toBe(0);
    const sequence = publisher.shares().map((share) => share.periodStart);
    for (let i = 1; i < sequence.length; i += 1) expect(sequence[i]).not.toBe(sequence[i - 1]);
    expect(sequence).not.toEqual([...sequence].sort());
    for (const [periodStart, shares] of byPeriod(publisher.shares())) {
      expect(shares).toHaveLength(2);
      expect(unmasked(sessionKey, shares)).toBe(BigInt(wattHoursOf(Date.parse(periodStart) / 1000)));
    }
  });

  it('when an acknowledgement comes in then it is written in one append (one fsync) with the share that takes its place', async () => {
    const { clock, publisher, reporter, path } = setup(prompt);
    publisher.maxInFlight = 1;
    publisher.autoAck = false;
    reporter.queue(periods(base - 3 * HALF_HOUR, 3), REGION);
    clock.set(base + 7);
    reporter.publishDue();
    const append = jest.spyOn(Journal.prototype, 'append');
    try {
      publisher.ack(1);
      // The meter's loop, woken by the acknowledgement, publishes before the acknowledgement is written alone.
      await Promise.resolve();
      reporter.publishDue();
      await settle();
      expect(publisher.sent).toHaveLength(2);
      expect(append).toHaveBeenCalledTimes(1);
      expect(append.mock.calls[0][0].map((line) => (line as { kind: string }).kind)).toEqual([
        'acked',
        'shares',
      ]);
    } finally {
      append.mockRestore();
    }
    const reopened = ShareOutbox.open(path);
    expect(reopened.size).toBe(5);
    expect(reopened.get(publisher.shares()[0].prid)).toBeUndefined();
    expect(reopened.get(publisher.shares()[1].prid)?.fixed).toBe(true);
  });
});

describe('share outbox durability', () => {
  it('when the disk fills as an acknowledgement is written with a fixed share then that share does not go out and the place in flight is not lost', async () => {
    const files = new FailingFiles();
    const { clock, publisher, reporter, path } = setup(prompt, { files });
    publisher.maxInFlight = 1;
    publisher.autoAck = false;
    reporter.queue(periods(base - 3 * HALF_HOUR, 2), REGION);
    clock.set(base + 7);
    reporter.publishDue();
    expect(publisher.sent).toHaveLength(1);

    files.fill();
    publisher.ack(1);
    await Promise.resolve();
    expect(() => {
      reporter.publishDue();
    }).toThrow(OutboxFullError);
    expect(publisher.sent).toHaveLength(1);
    expect(reporter.pendingCount).toBe(3);
    expect(reporter.stats.published).toBe(1);

    files.free();
    reporter.publishDue();
    expect(publisher.sent).toHaveLength(2);
    await settle();
    // The first share's acknowledgement never reached the file: after a restart it goes again, byte for byte.
    expect(ShareOutbox.open(path).get(publisher.shares()[0].prid)?.share).toEqual(publisher.shares()[0]);
  });

  it('when the meter dies after publishing but before the PUBACK then after a restart both shares go again, byte for byte', async () => {
    const first = setup(prompt);
    first.publisher.autoAck = false;
    first.reporter.queue(periods(base - HALF_HOUR, 1), REGION);
    first.clock.set(base + 5);
    first.reporter.publishDue();
    await settle();
    expect(first.publisher.sent).toHaveLength(2);
    // The process is gone here: no close, no acknowledgement.

    const second = setup(prompt, { path: first.path, sessionKey: first.sessionKey });
    expect(second.reporter.pendingCount).toBe(2);
    second.clock.set(base + 95);
    second.reporter.publishDue();
    await settle();
    expect(second.publisher.sent.map((s) => s.payload).sort()).toEqual(
      first.publisher.sent.map((s) => s.payload).sort(),
    );
    expect(second.reporter.pendingCount).toBe(0);
    expect(ShareOutbox.open(first.path).size).toBe(0);
  });

  it('when one share was acknowledged and the other not then only the other is still in the outbox after a restart', async () => {
    const first = setup(prompt);
    first.publisher.autoAck = false;
    first.reporter.queue(periods(base - HALF_HOUR, 1), REGION);
    first.reporter.publishDue();
    first.publisher.ack(1);
    await settle();
    const acknowledged = first.publisher.shares()[0];
    const reopened = ShareOutbox.open(first.path);
    expect(reopened.pending().map((entry) => entry.share.prid)).toEqual([first.publisher.shares()[1].prid]);
    expect(reopened.get(acknowledged.prid)).toBeUndefined();
    expect(reopened.lastPeriodStart()).toBe(iso(base - HALF_HOUR));
  });

  it('when the connection drops before the PUBACK then the share stays and goes again identically once reconnected', async () => {
    const { publisher, reporter, clock } = setup(prompt);
    publisher.autoAck = false;
    reporter.queue(periods(base - HALF_HOUR, 1), REGION);
    reporter.publishDue();
    await settle();
    publisher.disconnect();
    await settle();
    expect(reporter.pendingCount).toBe(2);
    publisher.reconnect();
    publisher.autoAck = true;
    clock.set(base + 60);
    reporter.publishDue();
    await settle();
    const payloads = publisher.sent.map((s) => s.payload);
    expect(payloads.slice(2).sort()).toEqual(payloads.slice(0, 2).sort());
    expect(reporter.pendingCount).toBe(0);
  });

  it('when shares wait until their period is more than 2 days old then they are dropped with a warning, never sent', async () => {
    const { publisher, reporter, clock, lines, path } = setup(prompt);
    const start = base - MAX_SHARE_AGE_SECONDS - HALF_HOUR + 300;
    reporter.queue(periods(start, 1), REGION);
    publisher.disconnect();
    clock.set(base + 400);
    reporter.publishDue();
    publisher.reconnect();
    reporter.publishDue();
    await settle();
    expect(publisher.sent).toHaveLength(0);
    expect(reporter.stats).toMatchObject({ queued: 2, published: 0, dropped: 2 });
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^warn shares.dropped period ${iso(start)}: 2 shares dropped: the period ended more than`),
      ),
    );
    expect(ShareOutbox.open(path).size).toBe(0);
  });
});
