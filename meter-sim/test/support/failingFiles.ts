import { nodeFiles, type JournalFiles } from '../../src/journal';

type Operation = 'write' | 'fsync' | 'truncate' | 'rename' | 'open';

/** An error as node:fs throws it: ENOSPC and the like in `code`. */
export function systemError(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated failure, ${syscall}`), { code, syscall, errno: -1 });
}

/**
 * The real file operations, except those told to fail, as a full disk or a failing card would. A failing
 * write first writes half of what it was given (the system's short write when the disk fills mid-way), then
 * fails on the next call: the journal must cut those bytes off again.
 */
export class FailingFiles implements JournalFiles {
  /** The error code each operation fails with while set. */
  readonly failing: Partial<Record<Operation, string>> = {};
  /** Operations that failed so far. */
  failures = 0;
  /** Bytes of failed writes that reached the file before they failed. */
  partialBytes = 0;
  private shortWritten = false;

  /** A full disk: writes fail with ENOSPC (or `code`), the rest works. */
  fill(code = 'ENOSPC'): void {
    this.failing.write = code;
  }

  free(): void {
    delete this.failing.write;
  }

  read(path: string): Buffer | undefined {
    return nodeFiles.read(path);
  }

  open(path: string, flags: 'a' | 'w' | 'r' | 'r+'): number {
    this.check('open');
    return nodeFiles.open(path, flags);
  }

  write(fd: number, data: Buffer, offset: number, length: number): number {
    if (this.failing.write !== undefined) {
      if (!this.shortWritten && length > 1) {
        this.shortWritten = true;
        const half = Math.floor(length / 2);
        this.partialBytes += half;
        return nodeFiles.write(fd, data, offset, half);
      }
      this.shortWritten = false;
      this.check('write');
    }
    return nodeFiles.write(fd, data, offset, length);
  }

  fsync(fd: number): void {
    this.check('fsync');
    nodeFiles.fsync(fd);
  }

  size(fd: number): number {
    return nodeFiles.size(fd);
  }

  truncate(fd: number, length: number): void {
    this.check('truncate');
    nodeFiles.truncate(fd, length);
  }

  close(fd: number): void {
    nodeFiles.close(fd);
  }

  rename(from: string, to: string): void {
    this.check('rename');
    nodeFiles.rename(from, to);
  }

  remove(path: string): void {
    nodeFiles.remove(path);
  }

  private check(operation: Operation): void {
    const code = this.failing[operation];
    if (code === undefined) return;
    this.failures += 1;
    throw systemError(code, operation);
  }
}
