import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
  type PathLike,
} from 'node:fs';
import { dirname } from 'node:path';

/**
 * An append-only file of JSON lines (0600), the storage of the meter's outboxes. Every append is fsynced
 * before it returns; a line cut short by a crash is discarded on open; a rewrite goes through a new file
 * renamed over the old one, so a crash at any point leaves one complete version.
 */
export class Journal<Line> {
  private fd = -1;

  private constructor(private readonly path: string) {}

  /**
   * Replays the file line by line through `replay`, then opens it for appending. `torn` says whether the
   * last line was cut short by a crash (the caller should rewrite the file then).
   */
  static open<Line>(path: string, replay: (line: Line) => void): { journal: Journal<Line>; torn: boolean } {
    const journal = new Journal<Line>(path);
    const torn = journal.load(replay);
    return { journal, torn };
  }

  /** Opens the file for appending; call after any rewrite the replay called for. */
  start(): void {
    this.fd = openSync(this.path, 'a', 0o600);
  }

  append(lines: Line[]): void {
    if (lines.length === 0) return;
    writeSync(this.fd, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    fsyncSync(this.fd);
  }

  /** Replaces the file's whole content with `lines`, atomically. */
  rewrite(lines: Line[]): void {
    const temporary = `${this.path}.tmp`;
    const fd = openSync(temporary, 'w', 0o600);
    writeSync(fd, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    fsyncSync(fd);
    closeSync(fd);
    const wasOpen = this.fd >= 0;
    if (wasOpen) closeSync(this.fd);
    renameSync(temporary, this.path);
    syncDirectory(dirname(this.path));
    if (wasOpen) this.fd = openSync(this.path, 'a', 0o600);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Replays the file; returns whether its last line was cut short by a crash. */
  private load(replay: (line: Line) => void): boolean {
    if (!existsSync(this.path)) return false;
    const lines = readFileSync(this.path, 'utf8').split('\n');
    // Everything up to the last newline was written whole; anything after it is a torn write.
    for (const line of lines.slice(0, -1)) {
      if (line !== '') replay(JSON.parse(line) as Line);
    }
    return lines.at(-1) !== '';
  }
}

function syncDirectory(path: PathLike): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
