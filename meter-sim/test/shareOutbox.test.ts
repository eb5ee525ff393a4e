import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutboxFullError } from '../src/journal';
import { ShareOutbox, type PendingShare } from '../src/shareOutbox';
import { FailingFiles } from './support/failingFiles';

/** Shares as the outbox sees them: it stores, it does not check. */
const entry = (period: number, half: 0 | 1, fixed = false): PendingShare => ({
  share: {
    v: 1,
    region: 'north/d3',
    periodStart: new Date(Date.UTC(2026, 0, 14) + period * 1800_000).toISOString().replace('.000Z', 'Z'),
    prid: `${period.toString(16).padStart(8, '0')}${half}`.padEnd(64, 'a'),
    value: String(100 + period),
    sentAt: '2026-01-14T00:31:00Z',
    signature: 'b'.repeat(128),
  },
  intervalSeconds: 1800,
  notBefore: 0,
  paced: false,
  fixed,
});
const prids = (outbox: ShareOutbox) => outbox.pending().map((pending) => pending.share.prid);
const newPath = () => join(mkdtempSync(join(tmpdir(), 'share-outbox-')), 'shares.jsonl');

describe('share outbox', () => {
  it('when the meter dies before the PUBACK then the reopened outbox holds both shares, as written (0600)', () => {
    const path = newPath();
    const outbox = ShareOutbox.open(path);
    outbox.put([entry(1, 0), entry(1, 1), entry(0, 0), entry(0, 1)]);
    outbox.markAcked([entry(0, 0).share.prid]);
    const reopened = ShareOutbox.open(path);
    expect(prids(reopened)).toEqual([entry(0, 1), entry(1, 0), entry(1, 1)].map((e) => e.share.prid));
    expect(reopened.get(entry(1, 1).share.prid)).toEqual(entry(1, 1));
    expect(reopened.lastPeriodStart()).toBe(entry(1, 0).share.periodStart);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('when a share is fixed for publishing then the reopened outbox holds the fixed version', () => {
    const path = newPath();
    const outbox = ShareOutbox.open(path);
    outbox.put([entry(0, 0), entry(0, 1)]);
    const fixed = { ...entry(0, 0, true), share: { ...entry(0, 0).share, sentAt: '2026-01-14T00:33:07Z' } };
    outbox.put([fixed]);
    expect(ShareOutbox.open(path).get(fixed.share.prid)).toEqual(fixed);
  });

  it('when the crash cut the last line short then the torn line is discarded and the rest survives', () => {
    const path = newPath();
    const outbox = ShareOutbox.open(path);
    outbox.put([entry(0, 0), entry(0, 1)]);
    appendFileSync(path, '{"kind":"acked","prids":["0000');
    const reopened = ShareOutbox.open(path);
    expect(reopened.size).toBe(2);
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
    reopened.markAcked([entry(0, 0).share.prid]);
    expect(prids(ShareOutbox.open(path))).toEqual([entry(0, 1).share.prid]);
  });

  it('when shares are dropped or all acknowledged then nothing is pending and the meter resumes after the last period', () => {
    const path = newPath();
    const outbox = ShareOutbox.open(path);
    outbox.put([entry(0, 0), entry(0, 1), entry(1, 0), entry(1, 1)]);
    outbox.markAcked([entry(0, 0).share.prid, entry(0, 1).share.prid]);
    outbox.markDropped([entry(1, 0).share.prid, entry(1, 1).share.prid], 'too old');
    const reopened = ShareOutbox.open(path);
    expect(reopened.size).toBe(0);
    expect(reopened.lastPeriodStart()).toBe(entry(1, 0).share.periodStart);
  });

  it('when thousands of shares are settled then the file is compacted, keeping the pending ones and where to resume', () => {
    const path = newPath();
    const outbox = ShareOutbox.open(path);
    for (let period = 0; period < 2600; period += 1) {
      outbox.put([entry(period, 0), entry(period, 1)]);
      outbox.markAcked([entry(period, 0).share.prid, entry(period, 1).share.prid]);
    }
    outbox.put([entry(2600, 0), entry(2600, 1)]);
    outbox.markAcked([entry(2600, 0).share.prid]);
    expect(readFileSync(path, 'utf8').trim().split('\n').length).toBeLessThan(2500);
    const reopened = ShareOutbox.open(path);
    expect(prids(reopened)).toEqual([entry(2600, 1).share.prid]);
    expect(reopened.lastPeriodStart()).toBe(entry(2600, 0).share.periodStart);
  });

  it('when the disk is full then put throws OUTBOX_FULL holding none of the shares, also reopened', () => {
    const path = newPath();
    const files = new FailingFiles();
    const outbox = ShareOutbox.open(path, files);
    outbox.put([entry(0, 0), entry(0, 1)]);
    const before = readFileSync(path);

    files.fill();
    expect(() => {
      outbox.put([entry(1, 0), entry(1, 1)]);
    }).toThrow(OutboxFullError);
    expect(prids(outbox)).toEqual([entry(0, 0), entry(0, 1)].map((e) => e.share.prid));
    expect(outbox.lastPeriodStart()).toBe(entry(0, 0).share.periodStart);
    expect(readFileSync(path)).toEqual(before);
    expect(prids(ShareOutbox.open(path))).toEqual(prids(outbox));
  });

  it('when an acknowledgement and a fixed share cannot be written then the acknowledgement is settled, the share stays unfixed, and it throws', () => {
    const path = newPath();
    const files = new FailingFiles();
    const outbox = ShareOutbox.open(path, files);
    outbox.put([entry(0, 0), entry(0, 1)]);

    files.fill();
    expect(() => {
      outbox.update([entry(0, 0).share.prid], [entry(0, 1, true)]);
    }).toThrow(OutboxFullError);
    expect(prids(outbox)).toEqual([entry(0, 1).share.prid]);
    expect(outbox.get(entry(0, 1).share.prid)?.fixed).toBe(false);
    // Acknowledgements alone never throw: after a restart the share goes again, which the ledger skips.
    outbox.markAcked([entry(0, 1).share.prid]);
    outbox.markDropped([entry(0, 1).share.prid], 'too old');
    expect(outbox.size).toBe(0);
    expect(ShareOutbox.open(path).size).toBe(2);
  });
});
