import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/**
 * The file operations a journal uses, so that a test can make them fail as a full disk would without filling
 * one. `write` may write less than asked, as the system does when the disk fills during a write.
 */
export interface JournalFiles {
  /** The whole file, or undefined when there is none. */
  read(path: string): Buffer | undefined;
  /** Opens with mode 0600 when it creates the file. */
  open(path: string, flags: 'a' | 'w' | 'r' | 'r+'): number;
  write(fd: number, data: Buffer, offset: number, length: number): number;
  fsync(fd: number): void;
  size(fd: number): number;
  truncate(fd: number, length: number): void;
  close(fd: number): void;
  rename(from: string, to: string): void;
  /** Removes the file; nothing to do when it is not there. */
  remove(path: string): void;
}

export const nodeFiles: JournalFiles = {
  read: (path) => {
    try {
      return readFileSync(path);
    } catch (err) {
      if (systemCodeOf(err) === 'ENOENT') return undefined;
      throw err;
    }
  },
  open: (path, flags) => openSync(path, flags, 0o600),
  write: (fd, data, offset, length) => writeSync(fd, data, offset, length),
  fsync: (fd) => {
    fsyncSync(fd);
  },
  size: (fd) => fstatSync(fd).size,
  truncate: (fd, length) => {
    ftruncateSync(fd, length);
  },
  close: (fd) => {
    closeSync(fd);
  },
  rename: (from, to) => {
    renameSync(from, to);
  },
  remove: (path) => {
    rmSync(path, { force: true });
  },
};

/** Stable codes of a failed outbox write, for the log and for callers that decide what to do next. */
export const OutboxErrorCode = {
  /** No space left on the device, or the user's disk quota used up: freeing space fixes it. */
  Full: 'OUTBOX_FULL',
  /** Any other I/O failure (EIO from a worn SD card, a read-only remount, …). */
  WriteFailed: 'OUTBOX_WRITE_FAILED',
} as const;
export type OutboxErrorCode = (typeof OutboxErrorCode)[keyof typeof OutboxErrorCode];

/**
 * A write to an outbox file that did not happen: the file is as it was before it (or, when even that could not
 * be restored, its journal takes no more lines until it is), so what the caller tried to store is not stored.
 */
export class OutboxWriteError extends Error {
  constructor(
    readonly code: OutboxErrorCode,
    /** The outbox file. */
    readonly path: string,
    /** The system's error code (ENOSPC, EDQUOT, EIO, …). */
    readonly systemCode: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'OutboxWriteError';
  }
}

/** The disk (or the quota) holding the outbox is full. */
export class OutboxFullError extends OutboxWriteError {
  constructor(path: string, systemCode: string, options?: ErrorOptions) {
    const why = systemCode === 'EDQUOT' ? 'the disk quota is used up' : 'no space is left on the device';
    super(OutboxErrorCode.Full, path, systemCode, `cannot write ${path}: ${why} (${systemCode})`, options);
    this.name = 'OutboxFullError';
  }
}

const NO_SPACE: readonly string[] = ['ENOSPC', 'EDQUOT'];

/** The typed error for a system error met while writing `path`. */
export function outboxWriteError(path: string, err: unknown): OutboxWriteError {
  if (err instanceof OutboxWriteError) return err;
  const systemCode = systemCodeOf(err) ?? 'UNKNOWN';
  if (NO_SPACE.includes(systemCode)) return new OutboxFullError(path, systemCode, { cause: err });
  const detail = err instanceof Error ? err.message : String(err);
  return new OutboxWriteError(
    OutboxErrorCode.WriteFailed,
    path,
    systemCode,
    `cannot write ${path}: ${detail}`,
    {
      cause: err,
    },
  );
}

/**
 * An append-only file of JSON lines (0600), the storage of the meter's outboxes. Every append is fsynced
 * before it returns; one that fails leaves the file as it was, so the file only ever holds whole lines, bar a
 * last one cut short by a crash, which open cuts off. A rewrite goes through a new file renamed over the old
 * one, so a crash at any point leaves one complete version.
 */
export class Journal<Line> {
  private fd = -1;
  private started = false;
  /**
   * Set when a failed append left bytes behind that could not be cut off: the length the file must be cut
   * back to before another line goes in, or a later line would follow a torn one.
   */
  private tornFrom: number | undefined;
  /** Set when the directory was not synced after a rewrite: the rename is durable only once it is. */
  private renameUnsynced = false;

  private constructor(
    private readonly path: string,
    private readonly files: JournalFiles,
  ) {}

  /** Replays the file line by line through `replay`, cutting off a last line a crash left torn. */
  static open<Line>(
    path: string,
    replay: (line: Line) => void,
    files: JournalFiles = nodeFiles,
  ): Journal<Line> {
    const journal = new Journal<Line>(path, files);
    journal.load(replay);
    return journal;
  }

  /** Opens the file for appending; call after any rewrite the replay called for. */
  start(): void {
    this.fd = this.files.open(this.path, 'a');
    this.started = true;
  }

  /** Appends the lines, durably, or throws an OutboxWriteError and leaves the file as it was. */
  append(lines: Line[]): void {
    if (lines.length === 0) return;
    this.settleEarlierFailures();
    let before: number;
    try {
      before = this.files.size(this.fd);
    } catch (err) {
      throw outboxWriteError(this.path, err);
    }
    try {
      writeFully(this.files, this.fd, encode(lines));
      this.files.fsync(this.fd);
    } catch (err) {
      this.cutBackTo(before);
      throw outboxWriteError(this.path, err);
    }
  }

  /**
   * Replaces the file's whole content with `lines`, atomically; when that fails (no room for the new file),
   * the old file stays as it was, no temporary file is left behind, and it throws an OutboxWriteError.
   */
  rewrite(lines: Line[]): void {
    const temporary = `${this.path}.tmp`;
    try {
      this.writeNewFile(temporary, encode(lines));
      this.files.rename(temporary, this.path);
    } catch (err) {
      this.removeQuietly(temporary);
      throw outboxWriteError(this.path, err);
    }
    // The old file is gone: whatever was left torn in it went with it.
    this.tornFrom = undefined;
    if (this.started) this.reopen();
    this.renameUnsynced = true;
    this.settleEarlierFailures();
  }

  close(): void {
    if (this.fd >= 0) this.files.close(this.fd);
    this.fd = -1;
    this.started = false;
  }

  /** Replays the file's whole lines, and cuts off a torn last one (which needs no free space). */
  private load(replay: (line: Line) => void): void {
    const content = this.files.read(this.path);
    if (content === undefined) return;
    const whole = content.lastIndexOf(0x0a) + 1;
    for (const line of content.subarray(0, whole).toString('utf8').split('\n')) {
      if (line !== '') replay(JSON.parse(line) as Line);
    }
    if (whole < content.length) this.cutFileTo(whole);
  }

  /** Before a new append: what an earlier failure left undone, or the append throws. */
  private settleEarlierFailures(): void {
    if (this.started && this.fd < 0)
      this.attempt(() => {
        this.fd = this.files.open(this.path, 'a');
      });
    if (this.tornFrom !== undefined) {
      const length = this.tornFrom;
      this.attempt(() => {
        this.files.truncate(this.fd, length);
        this.files.fsync(this.fd);
      });
      this.tornFrom = undefined;
    }
    if (this.renameUnsynced) {
      this.attempt(() => {
        syncDirectory(this.files, dirname(this.path));
      });
      this.renameUnsynced = false;
    }
  }

  /** Cuts off what a failed append wrote; when even that fails, the next append does it first. */
  private cutBackTo(length: number): void {
    try {
      this.files.truncate(this.fd, length);
      this.files.fsync(this.fd);
    } catch {
      this.tornFrom = length;
    }
  }

  private cutFileTo(length: number): void {
    this.attempt(() => {
      const fd = this.files.open(this.path, 'r+');
      try {
        this.files.truncate(fd, length);
        this.files.fsync(fd);
      } finally {
        this.files.close(fd);
      }
    });
  }

  private writeNewFile(path: string, data: Buffer): void {
    const fd = this.files.open(path, 'w');
    try {
      writeFully(this.files, fd, data);
      this.files.fsync(fd);
    } catch (err) {
      closeQuietly(this.files, fd);
      throw err;
    }
    this.files.close(fd);
  }

  /** Appends go to the renamed file from here on, not to the replaced one the old descriptor still holds. */
  private reopen(): void {
    if (this.fd >= 0) closeQuietly(this.files, this.fd);
    this.fd = -1;
    try {
      this.fd = this.files.open(this.path, 'a');
    } catch {
      // settleEarlierFailures opens it again before the next append, which fails if it still cannot.
    }
  }

  private removeQuietly(path: string): void {
    try {
      this.files.remove(path);
    } catch {
      // Nothing reads the temporary file; a rewrite that succeeds later truncates it.
    }
  }

  /** Runs a file operation, turning its failure into an OutboxWriteError. */
  private attempt(operation: () => void): void {
    try {
      operation();
    } catch (err) {
      throw outboxWriteError(this.path, err);
    }
  }
}

function encode<Line>(lines: Line[]): Buffer {
  return Buffer.from(lines.map((line) => `${JSON.stringify(line)}\n`).join(''), 'utf8');
}

/** A single write may stop short when the disk fills; the next one then fails with the reason. */
function writeFully(files: JournalFiles, fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) {
    const written = files.write(fd, data, offset, data.length - offset);
    if (written <= 0) throw new Error(`the system wrote nothing of ${data.length - offset} bytes`);
    offset += written;
  }
}

function syncDirectory(files: JournalFiles, path: string): void {
  const fd = files.open(path, 'r');
  try {
    files.fsync(fd);
  } finally {
    files.close(fd);
  }
}

function closeQuietly(files: JournalFiles, fd: number): void {
  try {
    files.close(fd);
  } catch {
    // The descriptor is released either way; the error that brought us here is the one to report.
  }
}

function systemCodeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}
