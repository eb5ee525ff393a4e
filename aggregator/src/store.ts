import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { GridShare } from '@smartmeter/crypto';

/**
 * The aggregator's durable state, in --state-dir: one append-only JSON-lines file per open round (its header,
 * then every accepted share), one per region and day whose filters are not on the ledger yet (shares waiting
 * for them), and the list of rounds it closed. Every line is written and fsynced before the share's PUBACK is
 * sent, so a share the broker has forgotten is always in one of these files. A line cut short by a crash is
 * discarded when the file is read back.
 */

/** What a round file starts with: enough to schedule and close the round without asking the ledger again. */
export interface RoundHeader {
  kind: 'round';
  region: string;
  periodStart: string;
  periodSeconds: number;
  expectedShares: number;
  /** When its first share was accepted (ISO, milliseconds): the round closes collect-seconds after it. */
  openedAt: string;
}

export interface PendingHeader {
  kind: 'pending';
  region: string;
  day: string;
}

export interface PendingShare {
  share: GridShare;
  /** When it arrived (epoch ms): it waits at most --filters-wait-seconds from then. */
  receivedAtMs: number;
}

export interface ClosedRound {
  region: string;
  periodStart: string;
  status: string;
  closedAt: string;
}

type Line<H> = H | { kind: 'share'; share: GridShare; receivedAtMs?: number };

/** An append-only JSON-lines file whose every append is on disk when append returns. */
export class JsonLinesFile {
  private fd: number;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Creates the file with its first lines, durably (the file and its folder entry). */
  static create(path: string, lines: readonly unknown[]): JsonLinesFile {
    const fd = openSync(path, 'wx', 0o600);
    const file = new JsonLinesFile(path, fd);
    file.append(lines);
    syncDirectory(dirname(path));
    return file;
  }

  /** Opens an existing file for appending; rewrites it first when its last line was torn by a crash. */
  static reopen(path: string, lines: readonly unknown[], torn: boolean): JsonLinesFile {
    if (torn) replaceFile(path, lines);
    return new JsonLinesFile(path, openSync(path, 'a', 0o600));
  }

  append(lines: readonly unknown[]): void {
    writeSync(this.fd, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Closes and deletes the file, durably. */
  remove(): void {
    this.close();
    if (existsSync(this.path)) unlinkSync(this.path);
    syncDirectory(dirname(this.path));
  }
}

/** Reads a JSON-lines file: its whole lines and whether a torn last line was left out. */
export function readJsonLines(path: string): { lines: unknown[]; torn: boolean } {
  const parts = readFileSync(path, 'utf8').split('\n');
  const lines: unknown[] = [];
  let torn = parts.at(-1) !== '';
  for (const [index, part] of parts.slice(0, -1).entries()) {
    if (part === '') continue;
    try {
      lines.push(JSON.parse(part));
    } catch {
      // Only the last line can be torn (a crash during its write); anything else is a broken file.
      if (index !== parts.length - 2) throw new Error(`${path}: line ${index + 1} is not JSON`);
      torn = true;
    }
  }
  return { lines, torn };
}

export interface LoadedRound {
  header: RoundHeader;
  shares: GridShare[];
  file: JsonLinesFile;
}

export interface LoadedPending {
  header: PendingHeader;
  shares: PendingShare[];
  file: JsonLinesFile;
}

export class StateStore {
  readonly roundsDir: string;
  readonly pendingDir: string;
  private readonly closedPath: string;
  private readonly lockPath: string;
  private closedFile: JsonLinesFile | undefined;

  constructor(readonly dir: string) {
    this.roundsDir = join(dir, 'rounds');
    this.pendingDir = join(dir, 'pending');
    this.closedPath = join(dir, 'closed.jsonl');
    this.lockPath = join(dir, 'aggregator.pid');
  }

  /** Creates the folders (0700) and takes the state folder for this process. */
  open(): void {
    for (const dir of [this.dir, this.roundsDir, this.pendingDir])
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (existsSync(this.lockPath)) {
      const pid = Number(readFileSync(this.lockPath, 'utf8').trim());
      if (Number.isSafeInteger(pid) && pid !== process.pid && isAlive(pid)) {
        throw new Error(`another aggregator (PID ${pid}) uses the state folder ${this.dir}`);
      }
    }
    writeFileSync(this.lockPath, `${process.pid}\n`, { mode: 0o600 });
  }

  close(): void {
    this.closedFile?.close();
    this.closedFile = undefined;
    if (existsSync(this.lockPath) && readFileSync(this.lockPath, 'utf8').trim() === String(process.pid)) {
      unlinkSync(this.lockPath);
    }
  }

  // --- rounds ---------------------------------------------------------------------------------------------
  createRound(header: RoundHeader, first: GridShare): JsonLinesFile {
    const path = join(this.roundsDir, `${fileStem(header.region)}@${compactTime(header.periodStart)}.jsonl`);
    return JsonLinesFile.create(path, [header, { kind: 'share', share: first }]);
  }

  loadRounds(): LoadedRound[] {
    return this.jsonlFiles(this.roundsDir).map((path) => {
      const { lines, torn } = readJsonLines(path);
      const [header, ...rest] = lines as Line<RoundHeader>[];
      if (header.kind !== 'round') throw new Error(`${path} does not start with a round header`);
      const shares = rest.flatMap((line) => (line.kind === 'share' ? [line.share] : []));
      return { header, shares, file: JsonLinesFile.reopen(path, lines, torn) };
    });
  }

  // --- shares waiting for filters -------------------------------------------------------------------------
  createPending(header: PendingHeader, first: PendingShare): JsonLinesFile {
    const path = join(this.pendingDir, `${fileStem(header.region)}@${header.day}.jsonl`);
    return JsonLinesFile.create(path, [header, pendingLine(first)]);
  }

  /** Replaces a pending file with the shares still waiting; deletes it when none is. */
  rewritePending(
    file: JsonLinesFile,
    header: PendingHeader,
    shares: readonly PendingShare[],
  ): JsonLinesFile | undefined {
    if (shares.length === 0) {
      file.remove();
      return undefined;
    }
    file.close();
    replaceFile(file.path, [header, ...shares.map(pendingLine)]);
    return JsonLinesFile.reopen(file.path, [], false);
  }

  loadPending(): LoadedPending[] {
    return this.jsonlFiles(this.pendingDir).map((path) => {
      const { lines, torn } = readJsonLines(path);
      const [header, ...rest] = lines as Line<PendingHeader>[];
      if (header.kind !== 'pending') throw new Error(`${path} does not start with a pending header`);
      const shares = rest.flatMap((line) =>
        line.kind === 'share' ? [{ share: line.share, receivedAtMs: line.receivedAtMs ?? Date.now() }] : [],
      );
      return { header, shares, file: JsonLinesFile.reopen(path, lines, torn) };
    });
  }

  // --- closed rounds --------------------------------------------------------------------------------------
  /** The rounds closed since keepAfter (ISO); the file is compacted to them. */
  loadClosed(keepAfter: string): ClosedRound[] {
    let kept: ClosedRound[] = [];
    if (existsSync(this.closedPath)) {
      kept = (readJsonLines(this.closedPath).lines as ClosedRound[]).filter(
        (entry) => entry.periodStart >= keepAfter,
      );
    }
    replaceFile(this.closedPath, kept);
    this.closedFile = JsonLinesFile.reopen(this.closedPath, [], false);
    return kept;
  }

  recordClosed(entry: ClosedRound): void {
    if (!this.closedFile) throw new Error('loadClosed first');
    this.closedFile.append([entry]);
  }

  private jsonlFiles(dir: string): string[] {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.jsonl'))
      .sort()
      .map((name) => join(dir, name));
  }
}

function pendingLine(entry: PendingShare): Line<PendingHeader> {
  return { kind: 'share', share: entry.share, receivedAtMs: entry.receivedAtMs };
}

/** north/d3 → north.d3 ('.' is no region character, so the name is unambiguous). */
function fileStem(region: string): string {
  return region.replaceAll('/', '.');
}

/** 2026-01-15T10:00:00Z → 20260115T100000Z. */
function compactTime(iso: string): string {
  return iso.replace(/[-:]/g, '');
}

/** Writes a whole file through a temporary one renamed over it: a crash leaves the old or the new version. */
function replaceFile(path: string, lines: readonly unknown[]): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  syncDirectory(dirname(path));
}

function syncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
