import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { checkpointers, GatewayError, type Network } from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChaincodeChannel } from '../src/contracts/invoke';
import { describeFailure, ServiceRefusal } from '../src/errors';
import type { OutageEvent } from '../src/reporting/outage';
import { chainCheckpointPath, syncChannel, type SyncOptions, type SyncResult } from '../src/reporting/sync';
import { blockOf, CouchLikeStore, reading, sessionKey, subscription } from './support/reportingFixtures';

/**
 * The chain: a subscription; two readings and their cursor; a reading moved out of its slot (not counted) and a
 * third reading.
 */
function chain(): common.Block[] {
  const moved = { ...reading(3, 50), periodStart: '2026-11-01T01:30:00Z', sequence: 4 };
  const cursor = (readingCount: number, lastPeriodStart: string) => ({
    docType: 'readingCursor',
    subscriptionId: 'sub_a',
    lastSequence: readingCount,
    lastPeriodStart,
    readingCount,
  });
  const blocks = [
    blockOf([{ txId: 'a', code: 0, writes: [{ key: 'sub', value: subscription }] }]),
    blockOf([
      {
        txId: 'b',
        code: 0,
        writes: [
          { key: 'r1', value: reading(1, 120) },
          { key: 'r2', value: reading(2, 80) },
          { key: 'c', value: cursor(2, '2026-11-01T00:30:00Z') },
        ],
      },
    ]),
    blockOf([
      {
        txId: 'c',
        code: 0,
        writes: [
          { key: 'r4', value: moved },
          { key: 'r3', value: reading(3, 40) },
          { key: 'c', value: cursor(3, '2026-11-01T01:00:00Z') },
        ],
      },
    ]),
  ];
  blocks.forEach((block, number) => {
    const header = new common.BlockHeader();
    header.setNumber(number);
    block.setHeader(header);
  });
  return blocks;
}

const grpcCause = new Error('grpc') as ServiceError;
const peerError = (code: number) =>
  new GatewayError({ code, details: [], cause: grpcCause, message: `${code} ${GrpcStatus[code]}` });

interface PeerScript {
  /** The n-th stream opened breaks (gRPC UNAVAILABLE) after delivering breakAfter[n] blocks; others follow. */
  breakAfter?: (number | undefined)[];
  /** Answers to qscc GetChainInfo in turn, the first at start; 'down' is UNAVAILABLE. Then always 'up'. */
  heights?: ('up' | 'down')[];
}

/**
 * The channel as the gateway peer shows it: its blocks as block events from the checkpoint, a stream that
 * follows (waits for blocks that never come) until it is closed, and breaks as scripted.
 */
function peerWith(blocks: common.Block[], script: PeerScript = {}) {
  const opened: bigint[] = [];
  const heights = [...(script.heights ?? [])];
  const info = new common.BlockchainInfo();
  info.setHeight(blocks.length);
  const evaluateTransaction = async (fn: string) => {
    if (fn === 'GetChainInfo' && heights.shift() === 'down') throw peerError(GrpcStatus.UNAVAILABLE);
    return info.serializeBinary();
  };
  const getBlockEvents = async (options: { checkpoint?: { getBlockNumber(): bigint | undefined } }) => {
    const from = options.checkpoint?.getBlockNumber() ?? 0n;
    const breakAfter = script.breakAfter?.[opened.length];
    opened.push(from);
    let close: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (close = resolve));
    async function* events() {
      for (let n = Number(from), delivered = 0; n < blocks.length; n += 1, delivered += 1) {
        if (delivered === breakAfter) throw peerError(GrpcStatus.UNAVAILABLE);
        yield blocks[n];
      }
      if (breakAfter !== undefined) throw peerError(GrpcStatus.UNAVAILABLE);
      await closed;
      throw peerError(GrpcStatus.CANCELLED);
    }
    return Object.assign(events(), {
      close: () => {
        close();
      },
    });
  };
  const network = {
    getName: () => 'northgrid',
    getContract: () => ({ evaluateTransaction }),
    getBlockEvents,
  } as unknown as Network;
  return { channel: { network, chaincodeName: 'smartmeter' } as ChaincodeChannel, opened };
}

const newCheckpointPath = () => join(mkdtempSync(join(tmpdir(), 'sync-follow-')), 'checkpoint.json');
const fastRetry = { baseMs: 2, capMs: 8, random: () => 0.5 };
/** Back-off long enough that a test can only end in time if the abort cuts it short. */
const slowRetry = { baseMs: 60_000, capMs: 60_000, random: () => 0.5 };

/** What a follower did: the outages it told, and its writes and checkpoints in order. */
interface FollowRun {
  result: SyncResult;
  outages: OutageEvent[];
  log: string[];
}

interface FollowOptions extends Partial<SyncOptions> {
  /** Stop (as SIGINT would) this long after the first outage is told, instead of after the last block. */
  stopAfterOutageMs?: number;
  /** Stop this long after the start. */
  stopAfterMs?: number;
}

/**
 * Follows the channel into the store until the last block (2) is checkpointed, then stops it as SIGINT would;
 * the log says after which write attempts each block's documents were written, and when it was checkpointed.
 */
async function follow(
  channel: ChaincodeChannel,
  store: CouchLikeStore,
  extra: FollowOptions = {},
): Promise<FollowRun> {
  const abort = new AbortController();
  const outages: OutageEvent[] = [];
  const log: string[] = [];
  const { stopAfterOutageMs, stopAfterMs, ...options } = extra;
  const stopIn = (ms: number) =>
    setTimeout(() => {
      abort.abort();
    }, ms);
  const timer = stopAfterMs === undefined ? undefined : stopIn(stopAfterMs);
  try {
    const result = await syncChannel(channel, store, () => sessionKey, {
      checkpointPath: newCheckpointPath(),
      follow: true,
      signal: abort.signal,
      retry: fastRetry,
      afterBlockWritten: (n) => {
        log.push(`written ${n} after ${store.attempts.join(',')}`);
      },
      onBlock: (n) => {
        log.push(`checkpointed ${n}`);
        if (n === 2n) abort.abort();
      },
      onOutage: (event) => {
        outages.push(event);
        if (stopAfterOutageMs !== undefined && outages.length === 1) stopIn(stopAfterOutageMs);
      },
      ...options,
    });
    return { result, outages, log };
  } finally {
    clearTimeout(timer);
  }
}

/** One clean sync from block 0: its documents, how often each was stored, and its result. */
async function cleanRun() {
  const store = new CouchLikeStore();
  const result = await syncChannel(peerWith(chain()).channel, store, () => sessionKey, {
    checkpointPath: newCheckpointPath(),
    follow: false,
  });
  return { docs: store.content(), versions: store.versions, result };
}

/** The block the checkpoint file says comes next: where a sync started again would begin. */
async function nextBlock(channel: ChaincodeChannel, path: string): Promise<bigint | undefined> {
  const file = await checkpointers.file(await chainCheckpointPath(channel.network, path));
  return file.getBlockNumber();
}

const waiting = (service: string, reason: string) => ({ kind: 'waiting', service, reason });
const back = (service: string) => ({ kind: 'back', service, awayMs: expect.any(Number) as unknown });
const energies = (store: CouchLikeStore) =>
  store
    .content()
    .filter((d) => d.docType === 'load')
    .map((d) => (d as { energyWh: number }).energyWh);

describe('report sync --follow when the reporting database goes away', () => {
  it('when the writes of a block are refused twice and answered 503 then that block is written once the database is back, checkpointed only after, and the documents are those of a clean run', async () => {
    const clean = await cleanRun();
    const store = new CouchLikeStore();
    store.script.push('ok', 'refused', 'refused', { status: 503 });

    const run = await follow(peerWith(chain()).channel, store);

    expect(run.log).toEqual([
      'written 0 after ok',
      'checkpointed 0',
      'written 1 after ok,refused,refused,503,ok',
      'checkpointed 1',
      'written 2 after ok,refused,refused,503,ok,ok',
      'checkpointed 2',
    ]);
    expect(run.outages).toEqual([waiting('reportDb', 'ECONNREFUSED'), back('reportDb')]);
    expect(store.content()).toEqual(clean.docs);
    // Each document was stored as often as in the clean run: the failed attempts stored nothing twice.
    expect(store.versions).toEqual(clean.versions);
    expect(run.result).toEqual(clean.result);
  });

  it('when a write lands but the connection breaks before the answer then the retry converges: no 409 for the old revisions, no reading counted twice', async () => {
    const clean = await cleanRun();
    const store = new CouchLikeStore();
    store.script.push('ok', 'written-then-reset');

    const run = await follow(peerWith(chain()).channel, store);

    expect(run.outages).toEqual([waiting('reportDb', 'ECONNRESET'), back('reportDb')]);
    expect(run.log).toContain('checkpointed 2');
    expect(energies(store)).toEqual([120, 80, 40]);
    expect(store.docs.get('subscription|northgrid|sub_a')).toMatchObject({ readingCount: 3 });
    expect(store.content()).toEqual(clean.docs);
    expect(store.versions).toEqual(clean.versions);
    expect(run.result).toMatchObject({ blocks: 3, skippedReadings: 1 });
  });

  it.each([
    [400, 'couch returned 400'],
    [401, 'Name or password is incorrect.'],
    [403, 'You are not allowed to access this db.'],
  ])(
    'when the database answers %d then the sync fails at once with REPORT_DB_REFUSED, and the block is not checkpointed',
    async (status, reason) => {
      const store = new CouchLikeStore();
      store.script.push('ok', { status });
      const { channel } = peerWith(chain());
      const checkpointPath = newCheckpointPath();
      const outages: OutageEvent[] = [];

      const sync = syncChannel(channel, store, () => sessionKey, {
        checkpointPath,
        follow: true,
        retry: fastRetry,
        onOutage: (event) => outages.push(event),
      });

      await expect(sync).rejects.toBeInstanceOf(ServiceRefusal);
      await expect(sync).rejects.toMatchObject({
        code: 'REPORT_DB_REFUSED',
        message: `the reporting database refused the documents of block 1 of northgrid (HTTP ${status}: ${reason})`,
      });
      expect(describeFailure(await sync.catch((err: unknown) => err))).toEqual({
        exitCode: 1,
        message: `REPORT_DB_REFUSED: the reporting database refused the documents of block 1 of northgrid (HTTP ${status}: ${reason})`,
      });
      expect(store.attempts).toEqual(['ok', String(status)]);
      expect(outages).toEqual([]);
      expect(await nextBlock(channel, checkpointPath)).toBe(1n);
    },
  );

  it('when the database is refused without --follow then the sync fails at once, as before', async () => {
    const store = new CouchLikeStore();
    store.script.push('ok', 'refused');

    const sync = syncChannel(peerWith(chain()).channel, store, () => sessionKey, {
      checkpointPath: newCheckpointPath(),
      follow: false,
      retry: fastRetry,
    });

    await expect(sync).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(store.attempts).toEqual(['ok', 'refused']);
  });
});

describe('report sync --follow when the peer goes away', () => {
  it('when the block stream breaks (UNAVAILABLE) then it is opened again at the checkpoint once the peer answers, and no block is doubled or skipped', async () => {
    const clean = await cleanRun();
    const store = new CouchLikeStore();
    // The first stream breaks after blocks 0 and 1; the peer does not answer the first time it is asked again.
    const peer = peerWith(chain(), { breakAfter: [2], heights: ['up', 'down'] });

    const run = await follow(peer.channel, store);

    expect(peer.opened).toEqual([0n, 2n]);
    expect(run.outages).toEqual([waiting('peer', 'UNAVAILABLE'), back('peer')]);
    expect(run.log.filter((line) => line.startsWith('checkpointed'))).toEqual([
      'checkpointed 0',
      'checkpointed 1',
      'checkpointed 2',
    ]);
    expect(store.content()).toEqual(clean.docs);
    expect(run.result).toEqual(clean.result);
  });

  it('when the peer goes away after a block is written but before its checkpoint then that block is read again and counted once, its skipped reading too', async () => {
    const clean = await cleanRun();
    const store = new CouchLikeStore();
    const peer = peerWith(chain());
    let failed = false;

    const run = await follow(peer.channel, store, {
      afterBlockWritten: (n) => {
        if (n === 2n && !failed) {
          failed = true;
          throw peerError(GrpcStatus.UNAVAILABLE);
        }
      },
    });

    expect(peer.opened).toEqual([0n, 2n]);
    expect(run.outages).toEqual([waiting('peer', 'UNAVAILABLE'), back('peer')]);
    expect(store.content()).toEqual(clean.docs);
    expect(store.versions).toEqual(clean.versions);
    expect(run.result).toMatchObject({ blocks: 3, skippedReadings: 1, skipped: clean.result.skipped });
  });

  it('when the stream fails with PERMISSION_DENIED then the follower fails at once', async () => {
    const store = new CouchLikeStore();
    const { channel } = peerWith(chain());
    channel.network.getBlockEvents = async () => {
      throw peerError(GrpcStatus.PERMISSION_DENIED);
    };

    await expect(follow(channel, store)).rejects.toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
  });

  it('when the stream breaks without --follow then the sync fails with the error, as before', async () => {
    const peer = peerWith(chain(), { breakAfter: [1] });

    const sync = syncChannel(peer.channel, new CouchLikeStore(), () => sessionKey, {
      checkpointPath: newCheckpointPath(),
      follow: false,
      retry: fastRetry,
    });

    await expect(sync).rejects.toMatchObject({ code: GrpcStatus.UNAVAILABLE });
    expect(peer.opened).toEqual([0n]);
  });
});

describe('report sync --follow stops promptly when interrupted', () => {
  const prompt = 2000;

  it('when interrupted while waiting for the database then it stops at once, without checkpointing the block', async () => {
    const store = new CouchLikeStore();
    store.script.push('ok', ...Array<'refused'>(20).fill('refused'));
    const { channel } = peerWith(chain());
    const checkpointPath = newCheckpointPath();
    const started = Date.now();

    const run = await follow(channel, store, { checkpointPath, retry: slowRetry, stopAfterOutageMs: 20 });

    expect(Date.now() - started).toBeLessThan(prompt);
    expect(run.outages).toEqual([waiting('reportDb', 'ECONNREFUSED')]);
    expect(store.attempts).toEqual(['ok', 'refused']);
    expect(run.result.blocks).toBe(1);
    expect(await nextBlock(channel, checkpointPath)).toBe(1n);
  });

  it('when interrupted while a write gets no answer then it stops at once, without checkpointing the block', async () => {
    const store = new CouchLikeStore();
    store.script.push('ok', 'hangs');
    const { channel } = peerWith(chain());
    const checkpointPath = newCheckpointPath();
    const started = Date.now();

    const run = await follow(channel, store, { checkpointPath, stopAfterMs: 50 });

    expect(Date.now() - started).toBeLessThan(prompt);
    expect(run.result.blocks).toBe(1);
    expect(await nextBlock(channel, checkpointPath)).toBe(1n);
  });

  it('when interrupted while waiting for the peer then it stops at once', async () => {
    const peer = peerWith(chain(), { breakAfter: [1], heights: ['up', 'down', 'down'] });
    const started = Date.now();

    const run = await follow(peer.channel, new CouchLikeStore(), { retry: slowRetry, stopAfterOutageMs: 20 });

    expect(Date.now() - started).toBeLessThan(prompt);
    expect(run.outages).toEqual([waiting('peer', 'UNAVAILABLE')]);
    expect(peer.opened).toEqual([0n]);
    expect(run.result.blocks).toBe(1);
  });
});
