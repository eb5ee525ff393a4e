import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { Writer } from '../output';

/**
 * How far `meterctl report sync` has got, per channel, on stderr: a progress bar per channel on a terminal,
 * otherwise a plain line every `everyBlocks` blocks or `everyMs` milliseconds (logs and CI stay short).
 */
export interface SyncProgress {
  /** The channel's sync goes through `blocks` blocks to catch up (0: it is up to date). */
  started(channel: string, blocks: number): void;
  /** One more block is done; documents: written so far on this channel. */
  block(channel: string, documents: number): void;
  /** The channel's sync has ended (caught up, interrupted or failed). */
  finished(channel: string): void;
  /** A line of its own (a service gone away, or back), above the bars on a terminal. */
  note(text: string): void;
  /** Every channel is done: the bars are taken down, so that what follows is printed below them. */
  close(): void;
}

export interface SyncProgressOptions {
  /** A line at least every this many blocks (lines only). */
  everyBlocks: number;
  /** ... or when this much time has passed since the channel's last line. */
  everyMs: number;
  now: () => Date;
}

/** Bars when stderr is a terminal, lines otherwise. */
export function syncProgress(stderr: Writer, options: SyncProgressOptions): SyncProgress {
  return stderr.isTTY === true ? new BarProgress(stderr) : new LineProgress(stderr, options);
}

interface ChannelState {
  total: number;
  done: number;
  documents: number;
  /** What the last line said (done), and when. */
  linedAt: number;
  linedDone: number;
}

/** Plain lines: "northgrid: 100 of 480 blocks (20%), 312 documents written". */
export class LineProgress implements SyncProgress {
  private readonly channels = new Map<string, ChannelState>();

  constructor(
    private readonly stderr: Writer,
    private readonly options: SyncProgressOptions,
  ) {}

  started(channel: string, blocks: number): void {
    const now = this.options.now().getTime();
    this.channels.set(channel, { total: blocks, done: 0, documents: 0, linedAt: now, linedDone: 0 });
    this.stderr.write(blocks === 0 ? `${channel}: up to date\n` : `${channel}: ${blocks} blocks to sync\n`);
  }

  block(channel: string, documents: number): void {
    const state = this.state(channel);
    state.done += 1;
    state.total = Math.max(state.total, state.done);
    state.documents = documents;
    const now = this.options.now().getTime();
    if (
      state.done - state.linedDone >= this.options.everyBlocks ||
      now - state.linedAt >= this.options.everyMs
    )
      this.line(channel, state, now);
  }

  finished(channel: string): void {
    const state = this.state(channel);
    if (state.done > state.linedDone) this.line(channel, state, this.options.now().getTime());
  }

  note(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  close(): void {
    this.channels.clear();
  }

  private line(channel: string, state: ChannelState, now: number): void {
    const percent = state.total === 0 ? 100 : Math.floor((100 * state.done) / state.total);
    this.stderr.write(
      `${channel}: ${state.done} of ${state.total} blocks (${percent}%), ${state.documents} documents written\n`,
    );
    state.linedAt = now;
    state.linedDone = state.done;
  }

  private state(channel: string): ChannelState {
    const state = this.channels.get(channel);
    if (state) return state;
    const fresh = { total: 0, done: 0, documents: 0, linedAt: this.options.now().getTime(), linedDone: 0 };
    this.channels.set(channel, fresh);
    return fresh;
  }
}

/** A cli-progress bar per channel: blocks done of total, documents written, time left. */
export class BarProgress implements SyncProgress {
  private readonly bars: MultiBar;
  private readonly channels = new Map<string, { bar: SingleBar; total: number; done: number }>();

  constructor(stderr: Writer) {
    // cli-progress draws with write and the terminal's escape sequences (readline); a Writer that is a
    // terminal is enough for that.
    const stream = {
      write: (text: string) => {
        stderr.write(text);
        return true;
      },
      isTTY: true,
      columns: stderr.columns,
    } as unknown as NodeJS.WritableStream;
    this.bars = new MultiBar(
      {
        stream,
        format: '{channel} [{bar}] {value}/{total} blocks | {documents} documents | {eta_formatted} left',
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
      },
      Presets.shades_classic,
    );
  }

  started(channel: string, blocks: number): void {
    // A channel that is up to date shows a full bar: 0/0 blocks.
    const bar = this.bars.create(blocks, 0, { channel, documents: 0 });
    this.channels.set(channel, { bar, total: blocks, done: 0 });
  }

  block(channel: string, documents: number): void {
    const state = this.channels.get(channel);
    if (!state) return;
    state.done += 1;
    if (state.done > state.total) {
      state.total = state.done;
      state.bar.setTotal(state.total);
    }
    state.bar.update(state.done, { channel, documents });
  }

  finished(channel: string): void {
    this.channels.get(channel)?.bar.stop();
  }

  note(text: string): void {
    // Written through the bars, so that they are drawn again below it rather than over it; drawn now, since
    // stop() drops what is still waiting to be drawn.
    this.bars.log(`${text}\n`);
    this.bars.update();
  }

  close(): void {
    this.bars.stop();
  }
}
