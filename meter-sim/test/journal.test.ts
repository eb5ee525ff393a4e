import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, OutboxFullError, OutboxWriteError } from '../src/journal';
import { FailingFiles } from './support/failingFiles';

interface Line {
  n: number;
}

const newPath = () => join(mkdtempSync(join(tmpdir(), 'journal-')), 'outbox.jsonl');

/** The lines a fresh open of the file replays. */
function replayed(path: string): number[] {
  const lines: number[] = [];
  Journal.open<Line>(path, (line) => lines.push(line.n));
  return lines;
}

function started(path: string, files: FailingFiles): Journal<Line> {
  const journal = Journal.open<Line>(path, () => undefined, files);
  journal.start();
  return journal;
}

/** The error `action` throws (it must throw). */
function thrownBy(action: () => void): unknown {
  try {
    action();
  } catch (err) {
    return err;
  }
  throw new Error('expected it to throw');
}

describe('journal on a disk that fails', () => {
  it('when a write runs out of space then the file is as before, the error is OUTBOX_FULL naming the file, and later lines follow whole ones', () => {
    const path = newPath();
    const files = new FailingFiles();
    const journal = started(path, files);
    journal.append([{ n: 1 }]);
    const before = readFileSync(path);

    files.fill();
    const err = thrownBy(() => {
      journal.append([{ n: 2 }, { n: 3 }]);
    });
    expect(err).toBeInstanceOf(OutboxFullError);
    expect(err).toMatchObject({ code: 'OUTBOX_FULL', systemCode: 'ENOSPC', path });
    expect((err as Error).message).toContain(path);
    // Half the lines reached the file before the disk was full; they were cut off again.
    expect(files.partialBytes).toBeGreaterThan(0);
    expect(readFileSync(path)).toEqual(before);

    files.free();
    journal.append([{ n: 4 }]);
    expect(replayed(path)).toEqual([1, 4]);
  });

  it('when the quota is used up then it is OUTBOX_FULL too; when fsync fails with EIO then OUTBOX_WRITE_FAILED, and the file is as before', () => {
    const path = newPath();
    const files = new FailingFiles();
    const journal = started(path, files);
    journal.append([{ n: 1 }]);
    const before = readFileSync(path);

    files.fill('EDQUOT');
    expect(
      thrownBy(() => {
        journal.append([{ n: 2 }]);
      }),
    ).toMatchObject({ code: 'OUTBOX_FULL', systemCode: 'EDQUOT' });
    files.free();

    files.failing.fsync = 'EIO';
    const err = thrownBy(() => {
      journal.append([{ n: 3 }]);
    });
    expect(err).toBeInstanceOf(OutboxWriteError);
    expect(err).not.toBeInstanceOf(OutboxFullError);
    expect(err).toMatchObject({ code: 'OUTBOX_WRITE_FAILED', systemCode: 'EIO', path });
    delete files.failing.fsync;
    expect(readFileSync(path)).toEqual(before);
    expect(replayed(path)).toEqual([1]);
  });

  it('when even cutting the failed write off fails then no line follows the torn one until it is cut, and a reopen discards it', () => {
    const path = newPath();
    const files = new FailingFiles();
    const journal = started(path, files);
    journal.append([{ n: 1 }]);
    const before = readFileSync(path);

    files.fill();
    files.failing.truncate = 'EIO';
    expect(() => {
      journal.append([{ n: 2 }, { n: 3 }]);
    }).toThrow(OutboxFullError);
    const torn = readFileSync(path);
    expect(torn.length).toBeGreaterThan(before.length);

    // Space is back, but the torn bytes still cannot be cut: the journal refuses the line rather than put
    // it after them.
    files.free();
    expect(() => {
      journal.append([{ n: 4 }]);
    }).toThrow(OutboxWriteError);
    expect(readFileSync(path)).toEqual(torn);

    delete files.failing.truncate;
    journal.append([{ n: 5 }]);
    expect(replayed(path)).toEqual([1, 5]);
    expect(readFileSync(path, 'utf8')).toBe(`${before.toString('utf8')}{"n":5}\n`);
  });

  it('when the process dies with a torn tail then the next open cuts it off, without needing free space', () => {
    const path = newPath();
    writeFileSync(path, '{"n":1}\n{"n":2}\n{"n":', { mode: 0o600 });
    const files = new FailingFiles();
    files.fill();
    const lines: number[] = [];
    Journal.open<Line>(path, (line) => lines.push(line.n), files);
    expect(lines).toEqual([1, 2]);
    expect(readFileSync(path, 'utf8')).toBe('{"n":1}\n{"n":2}\n');
  });

  it('when a rewrite runs out of space or cannot rename then the old file is intact, no temporary file is left and appends go on', () => {
    const path = newPath();
    const files = new FailingFiles();
    const journal = started(path, files);
    journal.append([{ n: 1 }, { n: 2 }]);
    const before = readFileSync(path);

    files.fill();
    expect(
      thrownBy(() => {
        journal.rewrite([{ n: 2 }]);
      }),
    ).toMatchObject({ code: 'OUTBOX_FULL', path });
    expect(readFileSync(path)).toEqual(before);
    expect(existsSync(`${path}.tmp`)).toBe(false);
    files.free();

    files.failing.rename = 'EIO';
    expect(
      thrownBy(() => {
        journal.rewrite([{ n: 2 }]);
      }),
    ).toMatchObject({ code: 'OUTBOX_WRITE_FAILED', systemCode: 'EIO' });
    expect(readFileSync(path)).toEqual(before);
    expect(existsSync(`${path}.tmp`)).toBe(false);
    delete files.failing.rename;

    journal.append([{ n: 3 }]);
    expect(replayed(path)).toEqual([1, 2, 3]);
    journal.rewrite([{ n: 3 }]);
    journal.append([{ n: 4 }]);
    expect(replayed(path)).toEqual([3, 4]);
  });
});
