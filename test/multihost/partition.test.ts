import { common } from '@hyperledger/fabric-protos';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareFleet, writeFleetBundles, type BenchMeter } from '../../bench/support/fleet';
import { MeasurementClient } from '../../client/src/contracts/MeasurementClient';
import { chaincodeChannel } from '../../client/src/contracts/invoke';
import { mayRepeat } from '../../client/src/errors';
import { openGateway } from '../../client/src/gateway';
import { Gateways, isoSeconds as iso, submitJson } from '../support/chaincode';
import { CHANNEL, exampleTariff, INTERVAL } from '../support/household';
import { hostsCommand, hostOfNode } from '../support/hosts';
import { MeterSimProcess, type LogEvent } from '../support/meterSim';
import {
  CHAINCODE,
  eventually,
  ordererChannelInfo,
  portListening,
  profile,
  topologyNodes,
} from '../support/network';

/**
 * Issue 21, part 4: a partition. The authority's host loses its link (its veth goes down) while meters report at
 * speed. Endorsement needs the distributor's peer AND the authority's, so nothing can be endorsed during the cut:
 * the meters keep their readings in their outboxes and retry, and after the link is back every reading commits
 * once, the authority's peer catches up and the orderers agree.
 */
const HOUR = 3600;
const METERS = 3;
const HOURS = 20;
/** The link stays down at least this long, and past the meters' first failure by BACKLOG_MS. */
const CUT_MS = 20_000;
const BACKLOG_MS = 10_000;
const AUTHORITY_HOST = 'host-authority';
const gateways = new Gateways();
let meterSim: MeterSimProcess | undefined;

afterAll(async () => {
  gateways.closeAll();
  meterSim?.kill('SIGKILL');
  await meterSim?.exited;
  // Never leave the authority cut off, whatever failed.
  await hostsCommand('heal', AUTHORITY_HOST);
});

/** What the meter's durable outbox holds and has not seen committed (meter-sim/src/outbox.ts lines). */
function pendingInOutbox(stateDir: string, subscriptionId: string): string[] {
  const lines = readFileSync(join(stateDir, subscriptionId, 'outbox.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map(
      (line) =>
        JSON.parse(line) as {
          kind: string;
          reading?: { submission: { periodStart: string } };
          periodStarts?: string[];
        },
    );
  const committed = new Set(lines.flatMap((line) => line.periodStarts ?? []));
  return lines
    .map((line) => line.reading?.submission.periodStart)
    .filter((periodStart): periodStart is string => periodStart !== undefined && !committed.has(periodStart));
}

/** Height and current block hash of a channel on the peer that an org's gateway uses (qscc GetChainInfo). */
async function chainInfo(org: string): Promise<{ height: number; hash: string }> {
  const info = await gateways
    .gateway(org)
    .getNetwork(CHANNEL)
    .getContract('qscc')
    .evaluateTransaction('GetChainInfo', CHANNEL);
  const decoded = common.BlockchainInfo.deserializeBinary(info);
  return {
    height: decoded.getHeight(),
    hash: Buffer.from(decoded.getCurrentblockhash_asU8()).toString('hex'),
  };
}

function writeBundles(meters: BenchMeter[], dir: string): void {
  writeFleetBundles(dir, meters, '{"name":"P. Artition"}');
}

const during = (events: LogEvent[], from: number, to: number) =>
  events.filter((event) => Date.parse(event.time) >= from && Date.parse(event.time) < to);

describe("a partition of the authority's host", () => {
  // A day back and more: the simulated hours lie in the past, where the ledger accepts them.
  const start = Math.floor(Date.now() / 1000 / 21_600) * 21_600 - 2 * 86_400;
  const dir = mkdtempSync(join(tmpdir(), 'multihost-partition-'));
  const bundles = join(dir, 'bundles');
  const stateDir = join(dir, 'state');
  let meters: BenchMeter[];

  beforeAll(async () => {
    mkdirSync(bundles);
    meters = await prepareFleet(gateways, {
      count: METERS,
      intervalSeconds: INTERVAL,
      startSeconds: start,
      pair: false,
    });
    writeBundles(meters, bundles);
  });

  it('when the link is cut under load then endorsement fails cleanly, readings wait, and after healing every one commits once and the ledgers agree', async () => {
    const authority = hostOfNode('peer0.authority');
    // 1000×: a half hour every 1.8 s, so each meter measures about 11 periods while the link is cut.
    meterSim = new MeterSimProcess([
      '--bundle-dir',
      bundles,
      '--meters',
      String(METERS),
      '--state-dir',
      stateDir,
      '--speed',
      '1000',
      '--refresh',
      '2',
      '--until',
      iso(start + HOURS * HOUR),
    ]);
    const meter = meterSim;
    await meter.waitFor(() => meter.committed().length >= 2 * METERS);

    const cutAt = Date.now();
    await hostsCommand('cut', AUTHORITY_HOST);
    let healedAt = 0;
    try {
      // The runner no longer reaches the authority's peer.
      await expect(portListening(authority.address, 9051)).resolves.toBe(false);
      // A transaction needs the authority's endorsement: it fails, with an error a client may retry.
      const operator = openGateway(profile('distributor1'), { deadlines: { endorseMs: 8000 } });
      try {
        const tariff = {
          ...exampleTariff,
          tariffId: `cut-${Date.now().toString(36)}`,
          effectiveFrom: iso(start),
        };
        const failure = await submitJson(
          operator.gateway.getNetwork(CHANNEL).getContract(CHAINCODE, 'Pricing'),
          'PublishTariff',
          JSON.stringify(tariff),
        ).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(failure).toBeInstanceOf(Error);
        expect([String(failure), mayRepeat(failure)]).toEqual([String(failure), true]);
      } finally {
        operator.close();
      }
      // The gateway gives up on the authority's peer once gossip declares it gone; then every meter says it
      // cannot submit and keeps measuring into its outbox for a while longer.
      for (const m of meters) {
        await meter.waitFor(
          (event) =>
            event.event === 'ledger.unreachable' &&
            event.meterId === m.meterId &&
            Date.parse(event.time) >= cutAt,
          60_000,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(BACKLOG_MS, cutAt + CUT_MS - Date.now())));
      // Measured during the cut and kept, durably, until the ledger takes them.
      const waiting = meters.map((m) => pendingInOutbox(stateDir, m.subscriptionId).length);
      expect(Math.min(...waiting)).toBeGreaterThanOrEqual(4);
    } finally {
      await hostsCommand('heal', AUTHORITY_HOST);
      healedAt = Date.now();
    }

    expect(await meter.exited).toEqual({ code: 0, signal: null });
    // Nothing endorsed while the authority was cut off (a few seconds' grace for transactions already in flight).
    expect(during(meter.committed(), cutAt + 5000, healedAt)).toEqual([]);
    // Only transient failures: no reading refused or dropped, no meter given up.
    const bad = meter.events.filter((e) =>
      ['reading.refused', 'reading.dropped', 'meter.failed'].includes(e.event),
    );
    expect(bad).toEqual([]);
    const warnings = new Set(meter.events.filter((e) => e.level !== 'info').map((e) => e.event));
    expect([...warnings].filter((event) => event !== 'ledger.unreachable')).toEqual([]);
    expect(
      meter.events.some((e) => e.event === 'ledger.reachable' && Date.parse(e.time) >= healedAt - 1000),
    ).toBe(true);
    expect(meter.events.at(-1)).toMatchObject({
      event: 'summary',
      generated: METERS * HOURS * 2,
      committed: METERS * HOURS * 2,
      dropped: 0,
    });

    // Every period of every meter on the ledger exactly once, in sequence.
    const measurements = new MeasurementClient(
      chaincodeChannel(gateways.gateway('distributor1'), CHANNEL, CHAINCODE),
    );
    const periods = Array.from({ length: HOURS * 2 }, (_, i) => iso(start + i * INTERVAL));
    for (const m of meters) {
      const readings = await measurements.all(m.subscriptionId, iso(start), iso(start + HOURS * HOUR));
      expect(readings.map((r) => r.periodStart)).toEqual(periods);
      expect(readings.map((r) => r.sequence)).toEqual(periods.map((_, i) => i + 1));
      expect(pendingInOutbox(stateDir, m.subscriptionId)).toEqual([]);
    }

    // The authority's peer caught up: same height and same last block as the distributor's peer.
    const distributor = await chainInfo('distributor1');
    const caughtUp = await eventually(
      () => chainInfo('authority'),
      (info) => info.hash === distributor.hash,
      30_000,
      'the authority peer catching up',
    );
    expect(caughtUp).toEqual(distributor);
    // The orderers agree too, and are at least where the peers are.
    const orderers = topologyNodes().filter((node) => node.kind === 'orderer');
    const heights = await Promise.all(
      orderers.map(async (o) => (await ordererChannelInfo(o, CHANNEL)).height),
    );
    expect(new Set(heights).size).toBe(1);
    expect(heights[0]).toBeGreaterThanOrEqual(distributor.height);
  });
});
