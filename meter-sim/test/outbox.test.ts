import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutboxFullError } from '../src/journal';
import { Outbox, type OutboxReading } from '../src/outbox';
import { FailingFiles } from './support/failingFiles';

const reading = (n: number): OutboxReading => ({
  submission: {
    subscriptionId: 'sub_aaaaaaaaaaaaaaaaaaaaaaaa',
    sequence: n + 1,
    periodStart: new Date(Date.UTC(2026, 0, 14) + n * 1800_000).toISOString().replace('.000Z', 'Z'),
    ciphertext: `c${n}`,
    nonce: `n${n}`,
    keyId: '0'.repeat(32),
  },
  intervalSeconds: 1800,
  quantity: 100 + n,
  unit: 'Wh',
  quality: 'measured',
});
const starts = (readings: OutboxReading[]) => readings.map((r) => r.submission.sequence);
const newPath = () => join(mkdtempSync(join(tmpdir(), 'outbox-')), 'outbox.jsonl');

describe('durable outbox', () => {
  it('when the meter dies between writing and commit then the reopened outbox still holds those readings, in order, byte for byte', () => {
    const path = newPath();
    const outbox = Outbox.open(path);
    outbox.add([reading(2), reading(0), reading(1)]);
    outbox.markCommitted([reading(0).submission.periodStart]);
    // No close: the process is gone; only what reached the file counts.
    const reopened = Outbox.open(path);
    expect(starts(reopened.pending())).toEqual([2, 3]);
    expect(reopened.pending()[0]).toEqual(reading(1));
    expect(reopened.lastPeriodStart()).toBe(reading(2).submission.periodStart);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('when the crash cut the last line short then the torn line is discarded and the rest survives', () => {
    const path = newPath();
    const outbox = Outbox.open(path);
    outbox.add([reading(0), reading(1)]);
    appendFileSync(path, '{"kind":"committed","periodStarts":["2026-01-14T00:0');
    const reopened = Outbox.open(path);
    expect(starts(reopened.pending())).toEqual([1, 2]);
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
    reopened.markCommitted([reading(0).submission.periodStart]);
    expect(starts(Outbox.open(path).pending())).toEqual([2]);
  });

  it('when everything is committed then nothing is pending and the meter resumes after the last committed period', () => {
    const path = newPath();
    const outbox = Outbox.open(path);
    outbox.add([reading(0), reading(1)]);
    outbox.markCommitted([reading(0).submission.periodStart, reading(1).submission.periodStart]);
    const reopened = Outbox.open(path);
    expect(reopened.pending()).toEqual([]);
    expect(reopened.lastPeriodStart()).toBe(reading(1).submission.periodStart);
  });

  it('when a reading is dropped then it is neither pending nor where the meter resumes', () => {
    const path = newPath();
    const outbox = Outbox.open(path);
    outbox.add([reading(0), reading(1)]);
    outbox.markCommitted([reading(0).submission.periodStart]);
    outbox.markDropped(reading(1).submission.periodStart, 'the reading interval changed');
    const reopened = Outbox.open(path);
    expect(reopened.pending()).toEqual([]);
    expect(reopened.lastPeriodStart()).toBe(reading(0).submission.periodStart);
  });

  it('when the ledger refused a reading for good then the meter resumes after it, also after a restart and a compaction', () => {
    const path = newPath();
    const outbox = Outbox.open(path);
    outbox.add([reading(0), reading(1)]);
    outbox.markCommitted([reading(0).submission.periodStart]);
    outbox.markDropped(reading(1).submission.periodStart, 'CONFLICT: differs', { refused: true });
    expect(outbox.pending()).toEqual([]);
    expect(outbox.lastPeriodStart()).toBe(reading(1).submission.periodStart);
    expect(Outbox.open(path).lastPeriodStart()).toBe(reading(1).submission.periodStart);

    // Compacted while the refused reading is the latest: the rewritten file keeps it.
    const compacted = newPath();
    const big = Outbox.open(compacted);
    const many = Array.from({ length: 5002 }, (_, n) => reading(n));
    big.add(many);
    big.markDropped(reading(5001).submission.periodStart, 'CONFLICT: differs', { refused: true });
    big.markCommitted(many.slice(0, 5001).map((r) => r.submission.periodStart));
    expect(readFileSync(compacted, 'utf8').trim().split('\n')).toHaveLength(3);
    const reopened = Outbox.open(compacted);
    expect(reopened.pending()).toEqual([]);
    expect(reopened.lastPeriodStart()).toBe(reading(5001).submission.periodStart);
  });

  it('when thousands of readings are settled then the file is compacted to the last committed and the pending ones', () => {
    const path = newPath();
    const outbox = Outbox.open(path);
    for (let n = 0; n < 5200; n += 1) {
      outbox.add([reading(n)]);
      outbox.markCommitted([reading(n).submission.periodStart]);
    }
    outbox.add([reading(5200)]);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThan(500);
    const reopened = Outbox.open(path);
    expect(starts(reopened.pending())).toEqual([5201]);
    outbox.markCommitted([reading(5200).submission.periodStart]);
    expect(Outbox.open(path).lastPeriodStart()).toBe(reading(5200).submission.periodStart);
  });

  it('when the disk is full then add throws OUTBOX_FULL and the outbox keeps exactly its previous pending readings, also reopened', () => {
    const path = newPath();
    const files = new FailingFiles();
    const outbox = Outbox.open(path, files);
    outbox.add([reading(0), reading(1)]);
    outbox.markCommitted([reading(0).submission.periodStart]);
    const before = readFileSync(path);

    files.fill();
    expect(() => {
      outbox.add([reading(2), reading(3)]);
    }).toThrow(OutboxFullError);
    expect(outbox.pending()).toEqual([reading(1)]);
    expect(outbox.lastPeriodStart()).toBe(reading(1).submission.periodStart);
    expect(readFileSync(path)).toEqual(before);
    const reopened = Outbox.open(path);
    expect(reopened.pending()).toEqual([reading(1)]);
    expect(reopened.lastPeriodStart()).toBe(reading(1).submission.periodStart);

    files.free();
    outbox.add([reading(2)]);
    expect(starts(Outbox.open(path).pending())).toEqual([2, 3]);
  });

  it('when marking committed or dropped cannot be written then it does not throw, the readings are settled, and after a restart they are pending again', () => {
    const path = newPath();
    const files = new FailingFiles();
    const outbox = Outbox.open(path, files);
    outbox.add([reading(0), reading(1)]);

    files.fill();
    outbox.markCommitted([reading(0).submission.periodStart]);
    outbox.markDropped(reading(1).submission.periodStart, 'the reading interval changed');
    expect(outbox.pending()).toEqual([]);
    expect(outbox.lastPeriodStart()).toBe(reading(0).submission.periodStart);
    // Submitted again after a restart: the ledger counts it as already stored.
    expect(starts(Outbox.open(path).pending())).toEqual([1, 2]);
  });

  it('when compaction is due on a full disk then it waits, the file stays whole, and it compacts once there is room', () => {
    const path = newPath();
    const files = new FailingFiles();
    const outbox = Outbox.open(path, files);
    const many = Array.from({ length: 5002 }, (_, n) => reading(n));
    outbox.add(many);
    outbox.markCommitted(many.slice(0, 5000).map((r) => r.submission.periodStart));
    const before = readFileSync(path);

    files.fill();
    outbox.markCommitted([reading(5000).submission.periodStart]);
    expect(readFileSync(path)).toEqual(before);
    expect(starts(Outbox.open(path).pending())).toEqual([5001, 5002]);

    files.free();
    outbox.markCommitted([reading(5001).submission.periodStart]);
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(Outbox.open(path).lastPeriodStart()).toBe(reading(5001).submission.periodStart);
  });
});
