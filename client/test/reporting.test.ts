import { common } from '@hyperledger/fabric-protos';
import { transactionsOf, type BlockTransaction } from '../src/reporting/blocks';
import { bucketLoad, groupSubscriptions, missingReadings } from '../src/reporting/reports';
import type { Network } from '@hyperledger/fabric-gateway';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChaincodeChannel } from '../src/contracts/invoke';
import {
  applyChanges,
  changesForTransactions,
  syncChannel,
  type SkipKind,
  type SyncSources,
} from '../src/reporting/sync';
import { blockOf, MemoryStore, reading, sessionKey, subscription } from './support/reportingFixtures';

function sources(key: Buffer | null = sessionKey): SyncSources & { skipped: string[] } {
  const skipped: string[] = [];
  return {
    channel: 'northgrid',
    chaincodeName: 'smartmeter',
    subscription: async () => subscription,
    sessionKey: () => key ?? { unavailable: 'no private key' },
    skipReading: (id) => skipped.push(id),
    skipped,
  };
}

const blocks = () => [
  transactionsOf(blockOf([{ txId: 'a', code: 0, writes: [{ key: 'sub', value: subscription }] }])),
  transactionsOf(
    blockOf([
      {
        txId: 'b',
        code: 0,
        writes: [
          { key: 'r1', value: reading(1, 120) },
          { key: 'r2', value: reading(2, 80) },
          {
            key: 'c',
            value: {
              docType: 'readingCursor',
              subscriptionId: 'sub_a',
              lastSequence: 2,
              lastPeriodStart: '2026-11-01T00:30:00Z',
              readingCount: 2,
            },
          },
        ],
      },
      { txId: 'bad', code: 11, writes: [{ key: 'r3', value: reading(3, 999) }] },
    ]),
  ),
];

async function syncAll(store: MemoryStore, txBlocks: BlockTransaction[][]) {
  for (const transactions of txBlocks)
    await applyChanges(store, await changesForTransactions(transactions, sources(), () => undefined));
}

describe('report sync', () => {
  it('when a block is parsed then each endorser transaction comes with its writes and validation code', () => {
    const [, second] = blocks();
    expect(second.map((t) => [t.txId, t.validationCode, t.writes.map((w) => w.key)])).toEqual([
      ['b', 0, ['r1', 'r2', 'c']],
      ['bad', 11, ['r3']],
    ]);
  });

  it('when blocks are synced then the region load sums decrypted readings, and invalid transactions count for nothing', async () => {
    const store = new MemoryStore();
    await syncAll(store, blocks());
    const loads = store.content().filter((d) => d.docType === 'load');
    expect(loads.map((d) => [d._id, (d as { energyWh: number }).energyWh])).toEqual([
      ['load|north/d1|2026-11-01T00:00:00Z|northgrid', 120],
      ['load|north/d1|2026-11-01T00:30:00Z|northgrid', 80],
    ]);
    expect(store.docs.get('subscription|northgrid|sub_a')).toMatchObject({
      status: 'ACTIVE',
      readingCount: 2,
      regionCode: 'north/d1',
    });
    expect(JSON.stringify(store.content())).not.toMatch(/ciphertext/);
  });

  it('when a block is applied again after a crash before its checkpoint then the database is the same', async () => {
    const once = new MemoryStore();
    await syncAll(once, blocks());
    const replayed = new MemoryStore();
    const [first, second] = blocks();
    await syncAll(replayed, [first, second, second]);
    expect(replayed.content()).toEqual(once.content());
  });

  it('when a reading key cannot be unwrapped then the reading is reported as skipped, not counted', async () => {
    const store = new MemoryStore();
    const without = sources(null);
    for (const transactions of blocks())
      await applyChanges(store, await changesForTransactions(transactions, without, () => undefined));
    expect(without.skipped).toEqual(['sub_a', 'sub_a']);
    expect(store.content().filter((d) => d.docType === 'load')).toEqual([]);
  });
});

/** The channel as syncChannel sees it: its height from qscc and these blocks, numbered from 0, as events. */
function channelOf(blockList: common.Block[]): ChaincodeChannel {
  blockList.forEach((block, number) => {
    const header = new common.BlockHeader();
    header.setNumber(number);
    block.setHeader(header);
  });
  const info = new common.BlockchainInfo();
  info.setHeight(blockList.length);
  const network = {
    getName: () => 'northgrid',
    getContract: () => ({ evaluateTransaction: async () => info.serializeBinary() }),
    getBlockEvents: async () => {
      async function* events() {
        yield* blockList;
      }
      return Object.assign(events(), { close: () => undefined });
    },
  };
  return { network: network as unknown as Network, chaincodeName: 'smartmeter' } as ChaincodeChannel;
}

describe('report sync of a channel: what cannot be counted is summed, not told reading by reading', () => {
  const moved = { ...reading(3, 50), periodStart: '2026-11-01T01:30:00Z', sequence: 4 };
  const channelBlocks = () => [
    blockOf([{ txId: 'a', code: 0, writes: [{ key: 'sub', value: subscription }] }]),
    blockOf([
      {
        txId: 'b',
        code: 0,
        writes: [
          { key: 'r1', value: reading(1, 120) },
          { key: 'r2', value: reading(2, 80) },
        ],
      },
    ]),
    blockOf([{ txId: 'c', code: 0, writes: [{ key: 'r4', value: moved }] }]),
  ];
  const checkpoint = () => join(mkdtempSync(join(tmpdir(), 'sync-')), 'checkpoint.json');

  it("when the keystore cannot unwrap a subscription's key then its readings are one summary entry and onSkip is told once", async () => {
    const store = new MemoryStore();
    const told: [string, SkipKind][] = [];
    const starts: [bigint, bigint][] = [];
    const progress: bigint[] = [];

    const result = await syncChannel(
      channelOf(channelBlocks()),
      store,
      () => ({ unavailable: 'no private key for version 2', kind: 'no-private-key' }),
      {
        checkpointPath: checkpoint(),
        follow: false,
        onStart: (from, height) => starts.push([from, height]),
        onBlock: (block) => progress.push(block),
        onSkip: (id, _reason, kind) => told.push([id, kind]),
      },
    );

    expect(result).toMatchObject({ blocks: 3, height: 3n, skippedReadings: 3 });
    expect(result.skipped).toEqual([
      {
        kind: 'no-private-key',
        readings: 3,
        subscriptionIds: ['sub_a'],
        reason: 'no private key for version 2',
      },
    ]);
    expect(told).toEqual([['sub_a', 'no-private-key']]);
    expect(starts).toEqual([[0n, 3n]]);
    expect(progress).toEqual([0n, 1n, 2n]);
    expect(store.content().filter((d) => d.docType === 'load')).toEqual([]);
  });

  it('when a reading does not decrypt in its slot then the sync goes on, counts the others and sums it as invalid', async () => {
    const store = new MemoryStore();

    const result = await syncChannel(channelOf(channelBlocks()), store, () => sessionKey, {
      checkpointPath: checkpoint(),
      follow: false,
    });

    expect(result.skipped).toEqual([
      {
        kind: 'invalid-reading',
        readings: 1,
        subscriptionIds: ['sub_a'],
        reason: expect.stringMatching(
          /^the reading of 2026-11-01T01:30:00Z does not decrypt in its slot: /,
        ) as unknown,
      },
    ]);
    const loads = store.content().filter((d) => d.docType === 'load');
    expect(loads.map((d) => (d as { energyWh: number }).energyWh)).toEqual([120, 80]);
  });
});

describe('report sync of the aggregate mode', () => {
  const round = (status: string, load?: string, missing: string[] = []) => ({
    docType: 'aggregationRound',
    regionCode: 'north/d1',
    periodStart: '2026-11-01T00:00:00Z',
    periodSeconds: 1800,
    distributorMspId: 'Distributor1MSP',
    status,
    shareCount: 12,
    expectedShares: 12,
    shareSum: '0',
    pridSum: '00',
    closedAt: '2026-11-01T00:40:00Z',
    ...(load === undefined ? {} : { load }),
    ...(missing.length > 0
      ? { resolution: { missingMeters: missing, excludedPrids: [], correctedMaskSum: '0', resolvedAt: 'x' } }
      : {}),
  });

  it('when a round has a load then it joins the region load with its meters counted; a FAULT round adds nothing', async () => {
    const store = new MemoryStore();
    await syncAll(store, [
      ...blocks(),
      transactionsOf(blockOf([{ txId: 'f', code: 0, writes: [{ key: 'rf', value: round('FAULT') }] }])),
    ]);
    const before = store.content().filter((doc) => doc._id.endsWith('|aggregate'));
    expect(before).toEqual([]);
    await syncAll(store, [
      transactionsOf(
        blockOf([{ txId: 'g', code: 0, writes: [{ key: 'rf', value: round('RESOLVED', '5400', ['m7']) }] }]),
      ),
    ]);
    const [doc] = store.content().filter((d) => d._id.endsWith('|aggregate'));
    expect(doc).toEqual(
      expect.objectContaining({ docType: 'load', energyWh: 5400, aggregateMeters: 5, households: [] }),
    );
    const rows = bucketLoad(
      store.content().filter((d) => d.docType === 'load'),
      '2026-11-01T00:00:00Z',
      '2026-11-01T01:00:00Z',
      3600,
      5,
    );
    // 5,400 Wh from 5 aggregate meters plus the disclosed household's 200 Wh: 6 households, shown.
    expect(rows[0]).toEqual(expect.objectContaining({ energyWh: 5600, households: 6, suppressed: false }));
  });

  it('when shares, filters and findings are written then none of them reaches the reporting database', async () => {
    const block = transactionsOf(
      blockOf([
        {
          txId: 's',
          code: 0,
          writes: [
            { key: 'gs', value: { docType: 'gridShare', regionCode: 'north/d1', prid: 'ab', value: '1' } },
            {
              key: 'af',
              value: { docType: 'aggregationFilters', regionCode: 'north/d1', day: '2026-11-01' },
            },
            { key: 'fm', value: { docType: 'faultyMeter', meterId: 'm7', regionCode: 'north/d1' } },
          ],
        },
      ]),
    );
    expect(await changesForTransactions(block, sources(), () => undefined)).toEqual([]);
  });
});

describe('report sync fails closed', () => {
  it('when a write holds a record type this client does not know then the sync stops and names the key', async () => {
    const [block] = [
      transactionsOf(
        blockOf([
          { txId: 'n', code: 0, writes: [{ key: 'voucher/1', value: { docType: 'voucher', balance: 5 } }] },
        ]),
      ),
    ];
    await expect(changesForTransactions(block, sources(), () => undefined)).rejects.toThrow(
      /the write of "voucher\/1" holds no record of a known type \(docType "voucher"\)/,
    );
  });

  it('when a write holds JSON without a docType then the sync stops too', async () => {
    const block = transactionsOf(
      blockOf([{ txId: 'n', code: 0, writes: [{ key: 'x', value: { version: 3 } }] }]),
    );
    await expect(changesForTransactions(block, sources(), () => undefined)).rejects.toThrow(
      /docType undefined/,
    );
  });

  it('when records of types the report leaves out and index entries are written then nothing is reported', async () => {
    const block = transactionsOf(
      blockOf([
        {
          txId: 'k',
          code: 0,
          writes: [
            { key: 'ok', value: { docType: 'orgKeyPointer', mspId: 'Distributor1MSP', version: 2 } },
            {
              key: 'p',
              value: {
                docType: 'priceSignal',
                regionCode: 'north/d1',
                periodStart: 'x',
                priceMicroPerKwh: 1,
                publishedAt: 'x',
              },
            },
          ],
        },
      ]),
    );
    expect(await changesForTransactions(block, sources(), () => undefined)).toEqual([]);
  });

  it('when a block carries no validation code for a transaction then parsing it refuses', () => {
    const block = blockOf([{ txId: 'a', code: 0, writes: [] }]);
    const metadata = new common.BlockMetadata();
    metadata.setMetadataList([new Uint8Array(), new Uint8Array(), new Uint8Array()]);
    block.setMetadata(metadata);
    expect(() => transactionsOf(block)).toThrow(
      /has no validation code for transaction 0: not a committed block/,
    );
  });
});

describe('reports', () => {
  it('when loads are bucketed then sums land in epoch-aligned buckets and empty buckets are 0', () => {
    const docs = [
      { periodStart: '2026-11-01T00:00:00Z', energyWh: 100, readingCount: 1, households: ['h1'] },
      { periodStart: '2026-11-01T00:30:00Z', energyWh: 50, readingCount: 1, households: ['h2'] },
      { periodStart: '2026-11-01T02:00:00Z', energyWh: 7, readingCount: 1, households: ['h1'] },
    ];
    expect(bucketLoad(docs, '2026-11-01T00:00:00Z', '2026-11-01T03:00:00Z', 3600, 1)).toEqual([
      {
        periodStart: '2026-11-01T00:00:00Z',
        energyWh: 150,
        readingCount: 2,
        households: 2,
        suppressed: false,
      },
      { periodStart: '2026-11-01T01:00:00Z', energyWh: 0, readingCount: 0, households: 0, suppressed: false },
      { periodStart: '2026-11-01T02:00:00Z', energyWh: 7, readingCount: 1, households: 1, suppressed: false },
    ]);
    expect(() => bucketLoad([], '2026-01-01T00:00:00Z', '2026-12-01T00:00:00Z', 60)).toThrow(
      /larger --interval/,
    );
  });

  it('when a bucket covers fewer households than k then its sum is suppressed, and shown once it covers k', () => {
    const reading = (household: string, periodStart: string) => ({
      periodStart,
      energyWh: 100,
      readingCount: 1,
      households: [household],
    });
    const docs = [
      // one household all day long: its own consumption
      reading('h1', '2026-11-01T00:00:00Z'),
      reading('h1', '2026-11-01T00:30:00Z'),
      // five households in the next hour
      ...['h1', 'h2', 'h3', 'h4', 'h5'].map((h) => reading(h, '2026-11-01T01:00:00Z')),
    ];
    const rows = bucketLoad(docs, '2026-11-01T00:00:00Z', '2026-11-01T02:00:00Z', 3600);
    expect(rows).toEqual([
      {
        periodStart: '2026-11-01T00:00:00Z',
        energyWh: null,
        readingCount: 2,
        households: 1,
        suppressed: true,
      },
      {
        periodStart: '2026-11-01T01:00:00Z',
        energyWh: 500,
        readingCount: 5,
        households: 5,
        suppressed: false,
      },
    ]);
    // One daily bucket merges them: six readings of five households.
    expect(bucketLoad(docs, '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', 86_400)).toEqual([
      {
        periodStart: '2026-11-01T00:00:00Z',
        energyWh: 700,
        readingCount: 7,
        households: 5,
        suppressed: false,
      },
    ]);
  });

  const doc = (over: object) => ({
    docType: 'subscription' as const,
    channel: 'northgrid',
    subscriptionId: 's1',
    distributorMspId: 'Distributor1MSP',
    status: 'ACTIVE',
    regionCode: 'north/d1',
    intervalSeconds: 3600,
    startDate: '2026-11-01T00:00:00Z',
    requestedAt: '2026-11-01T00:00:00Z',
    updatedAt: '2026-11-01T00:00:00Z',
    readingCount: 0,
    ...over,
  });

  it('when readings are missing then expected counts only periods ended before now and the end', () => {
    const rows = missingReadings(
      [
        doc({ subscriptionId: 'a', readingCount: 5 }),
        doc({ subscriptionId: 'b', readingCount: 10 }),
        doc({
          subscriptionId: 'c',
          status: 'ENDED',
          endEffectiveAt: '2026-11-01T04:00:00Z',
          readingCount: 1,
        }),
        doc({ subscriptionId: 'd', status: 'REQUESTED' }),
      ],
      '2026-11-01T10:30:00Z',
    );
    expect(rows.map((r) => [r.subscriptionId, r.expected, r.received, r.missing])).toEqual([
      ['a', 10, 5, 5],
      ['c', 4, 1, 3],
    ]);
  });

  it('when subscriptions are grouped then each group is counted, sorted', () => {
    const docs = [
      doc({ status: 'ACTIVE' }),
      doc({ status: 'ENDED' }),
      doc({ status: 'ACTIVE', regionCode: undefined }),
    ];
    expect(groupSubscriptions(docs, 'status')).toEqual([
      { group: 'ACTIVE', subscriptions: 2 },
      { group: 'ENDED', subscriptions: 1 },
    ]);
    expect(groupSubscriptions(docs, 'region')).toEqual([
      { group: '(not approved)', subscriptions: 1 },
      { group: 'north/d1', subscriptions: 2 },
    ]);
  });
});
