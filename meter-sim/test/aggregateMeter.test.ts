import { periodSecrets, verifyShareSignature, type GridShare } from '@smartmeter/crypto';
import type { AedesPublishPacket } from 'aedes';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JournalFiles } from '../src/journal';
import { Meter, type AggregateChannel, type MeterSettings } from '../src/meter';
import { Outbox } from '../src/outbox';
import {
  PER_SHARE_CONNECTIONS,
  PerShareMqttPublisher,
  PersistentMqttPublisher,
  startSharePublisher,
  type MqttConnectionMode,
  type SharePublisher,
} from '../src/publisher';
import { ShareOutbox } from '../src/shareOutbox';
import { HouseholdSource } from '../src/sources/household';
import {
  AggregateLedger,
  aggregateHousehold,
  collectingLogger,
  FakePublisher,
  iso,
  unmasked,
  type AggregateHousehold,
} from './support/aggregate';
import { FailingFiles } from './support/failingFiles';
import { brokerCertificate } from './support/tls';

const HALF_HOUR = 1800;
/** Six half-hours ago, on a half-hour boundary: four periods to report, all ended, all recent. */
const start = Math.floor(Date.now() / 1000 / HALF_HOUR) * HALF_HOUR - 6 * HALF_HOUR;
const settings: MeterSettings = {
  speed: 1_000_000,
  maxJitterSeconds: 60,
  batchSize: 96,
  refreshSeconds: 0.2,
  shareWindowSeconds: 240,
  minShareGapSeconds: 20,
  walletPollSeconds: 60,
  untilSeconds: start + 4 * HALF_HOUR,
};

function meterFor(
  household: AggregateHousehold,
  publisher: () => SharePublisher,
  options: { stateDir?: string; settings?: Partial<MeterSettings>; shareFiles?: JournalFiles } = {},
) {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'aggregate-meter-'));
  const ledger = new AggregateLedger(household.record);
  const log = collectingLogger();
  const source = new HouseholdSource({
    seed: household.bundle.meterId,
    utility: 'electricity',
    utcOffsetMinutes: 0,
  });
  const channel: AggregateChannel = {
    openOutbox: () => ShareOutbox.open(join(stateDir, 'shares.jsonl'), options.shareFiles),
    connect: publisher,
    brokerUrl: 'mqtt://test',
  };
  const meter = new Meter(
    household.bundle,
    household.sessionKey,
    ledger,
    source,
    Outbox.open(join(stateDir, 'outbox.jsonl')),
    log,
    { ...settings, ...options.settings },
    channel,
  );
  return { meter, ledger, log, source, stateDir };
}

const measured = (source: HouseholdSource, periodStart: string) =>
  BigInt(source.measure(Date.parse(periodStart) / 1000, HALF_HOUR).quantity);

describe('meter in aggregate mode', () => {
  it('when the share outbox cannot take new shares then nothing goes out, outbox.full is said once, and every period is published once there is room', async () => {
    const household = aggregateHousehold(9, start);
    const publisher = new FakePublisher();
    const files = new FailingFiles();
    files.fill();
    const { meter, log, source } = meterFor(household, () => publisher, { shareFiles: files });
    const run = meter.run(new AbortController().signal);
    while (files.failures < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(publisher.sent).toEqual([]);

    files.free();
    await expect(run).resolves.toBe('until');
    const shares = publisher.shares();
    expect(shares).toHaveLength(8);
    for (const i of [0, 1, 2, 3]) {
      const periodStart = iso(start + i * HALF_HOUR);
      const pair = shares.filter((share) => share.periodStart === periodStart);
      expect(unmasked(household.sessionKey, pair)).toBe(measured(source, periodStart));
    }
    expect(log.lines.filter((line) => line.includes('outbox.full'))).toEqual([
      expect.stringMatching(
        /^error outbox.full cannot write .*shares\.jsonl: no space is left on the device \(ENOSPC\): new readings are paused/,
      ),
    ]);
    expect(log.lines.filter((line) => line.includes('outbox.resumed'))).toHaveLength(1);
  });

  it('when the subscription is in aggregate mode then the meter neither pairs nor submits, and publishes two shares a period that add up to its readings', async () => {
    const household = aggregateHousehold(1, start);
    const publisher = new FakePublisher();
    const { meter, ledger, log, source, stateDir } = meterFor(household, () => publisher);
    await expect(meter.run(new AbortController().signal)).resolves.toBe('until');

    expect(ledger.confirmPairingCalls).toBe(0);
    expect(ledger.submitReadingsCalls).toBe(0);
    expect(Outbox.open(join(stateDir, 'outbox.jsonl')).pending()).toEqual([]);
    expect(new Set(publisher.sent.map((sent) => sent.topic))).toEqual(new Set(['grid/north/d3/shares']));
    const shares = publisher.shares();
    expect(shares).toHaveLength(8);
    const periods = new Map<string, GridShare[]>();
    for (const share of shares)
      periods.set(share.periodStart, [...(periods.get(share.periodStart) ?? []), share]);
    expect([...periods.keys()].sort()).toEqual([0, 1, 2, 3].map((i) => iso(start + i * HALF_HOUR)));
    for (const [periodStart, pair] of periods) {
      expect(pair).toHaveLength(2);
      expect(unmasked(household.sessionKey, pair)).toBe(measured(source, periodStart));
      pair.forEach((share) => {
        expect(verifyShareSignature(share)).toBe(true);
        expect(Date.parse(share.sentAt)).toBeGreaterThanOrEqual(Date.parse(periodStart) + HALF_HOUR * 1000);
      });
    }
    expect(meter.stats).toMatchObject({ generated: 4, committed: 0, transactions: 0, sharesPublished: 8 });
    // Nothing in the log gives a share away: no PRID, no value.
    const logged = log.lines.join('\n');
    for (const share of shares) {
      expect(logged).not.toContain(share.prid);
      expect(logged).not.toContain(`"${share.value}"`);
    }
    expect(log.lines.filter((line) => line.includes('shares.published'))).toHaveLength(4);
    expect(log.lines[0]).toContain('aggregate mode: shares to grid/north/d3/shares');
    expect(ShareOutbox.open(join(stateDir, 'shares.jsonl')).size).toBe(0);
  });

  it('when the meter is restarted then it resumes after the last period it split and publishes nothing twice', async () => {
    const household = aggregateHousehold(2, start);
    const stateDir = mkdtempSync(join(tmpdir(), 'aggregate-meter-'));
    const first = new FakePublisher();
    await meterFor(household, () => first, {
      stateDir,
      settings: { untilSeconds: start + 2 * HALF_HOUR },
    }).meter.run(new AbortController().signal);
    const second = new FakePublisher();
    await expect(
      meterFor(household, () => second, { stateDir }).meter.run(new AbortController().signal),
    ).resolves.toBe('until');
    expect(
      first
        .shares()
        .map((share) => share.periodStart)
        .sort(),
    ).toEqual([0, 0, 1, 1].map((i) => iso(start + i * HALF_HOUR)));
    expect(
      second
        .shares()
        .map((share) => share.periodStart)
        .sort(),
    ).toEqual([2, 2, 3, 3].map((i) => iso(start + i * HALF_HOUR)));
  });

  it('when the subscription started more than 2 days ago then the periods too old for the ledger are skipped with a warning', async () => {
    const early = start - 3 * 86_400;
    const household = aggregateHousehold(3, early);
    const publisher = new FakePublisher();
    const { meter, log } = meterFor(household, () => publisher);
    await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
    const skipped = log.lines.filter((line) => line.startsWith('warn periods.skipped'));
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped[0]).toContain(`from ${iso(early)}`);
    const shares = publisher.shares();
    expect(shares.length % 2).toBe(0);
    const oldest = Math.min(...shares.map((share) => Date.parse(share.periodStart) / 1000));
    expect(Date.now() / 1000 - (oldest + HALF_HOUR)).toBeLessThan(2 * 86_400);
    expect(meter.stats.dropped).toBeGreaterThan(48);
  });

  it('when the periods are not on 300-second slots then the meter says so and stops before splitting anything', async () => {
    const household = aggregateHousehold(5, start, 450);
    const publisher = new FakePublisher();
    const { meter, log } = meterFor(household, () => publisher);
    await expect(meter.run(new AbortController().signal)).resolves.toBe('failed');
    expect(log.lines.at(-1)).toContain('has periods of 450 s from');
    expect(publisher.sent).toHaveLength(0);
  });

  it('when the meter has no broker configured then it says so and stops', async () => {
    const household = aggregateHousehold(4, start);
    const log = collectingLogger();
    const meter = new Meter(
      household.bundle,
      household.sessionKey,
      new AggregateLedger(household.record),
      new HouseholdSource({ seed: 'x', utility: 'electricity', utcOffsetMinutes: 0 }),
      Outbox.open(join(mkdtempSync(join(tmpdir(), 'aggregate-meter-')), 'outbox.jsonl')),
      log,
      settings,
    );
    await expect(meter.run(new AbortController().signal)).resolves.toBe('failed');
    expect(log.lines.at(-1)).toMatch(
      /^error meter.failed subscription sub_0+4 is in aggregate mode, but this meter has no MQTT broker/,
    );
  });
});

type Aedes = import('aedes').default;

/** aedes (the aggregator's broker, a dev dependency here): the real broker these tests publish to. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createBroker = (require('aedes') as typeof import('aedes')).createBroker;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port nothing listens on (yet). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => {
        resolve(port);
      });
    });
  });
}

function listen(server: Server | TlsServer, port = 0): Promise<number> {
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () => {
      resolve((server.address() as AddressInfo).port);
    }),
  );
}

function closeServer(server: Server | TlsServer): Promise<void> {
  return new Promise((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}

/** The publisher of a connection mode, as the fleet starts it. */
const publisherOf = (mode: MqttConnectionMode, url: string, log = collectingLogger()) =>
  startSharePublisher({ url, connection: mode }, log);

describe('meters and a real MQTT broker (aedes, in-process)', () => {
  let broker: Aedes;
  let server: Server;
  let url: string;
  const clients: { id: string; username: string | undefined; hasPassword: boolean }[] = [];
  /** Grid messages by the id of the client that published them. */
  const publishedBy = new Map<string, GridShare[]>();

  beforeAll(async () => {
    broker = createBroker();
    broker.authenticate = (client, username, password, done) => {
      clients.push({ id: client.id, username, hasPassword: password !== undefined });
      done(null, true);
    };
    broker.on('publish', (packet, client) => {
      if (!client || !packet.topic.startsWith('grid/')) return;
      const share = JSON.parse(packet.payload.toString()) as GridShare;
      publishedBy.set(client.id, [...(publishedBy.get(client.id) ?? []), share]);
    });
    server = createServer(broker.handle);
    url = `mqtt://127.0.0.1:${await listen(server)}`;
  });

  beforeEach(() => {
    clients.length = 0;
    publishedBy.clear();
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      broker.close(() => {
        resolve();
      });
    });
    await closeServer(server);
  });

  it.each([
    ['per-share', 24, 1],
    ['persistent', 3, 8],
  ] as const)(
    'when 3 meters report 4 periods with --mqtt-connection %s then exactly 24 shares arrive on grid/#, over %i anonymous connections of %i share(s) each; each pair adds up to its reading, no PRID twice',
    async (mode, connections, sharesEach) => {
      const mqtt = await import('mqtt');
      const subscriber = await mqtt.connectAsync(url, { clientId: 'test-subscriber', reconnectPeriod: 0 });
      const received: { topic: string; share: GridShare; retain: boolean; qos: number }[] = [];
      subscriber.on('message', (topic, payload, packet) => {
        received.push({
          topic,
          share: JSON.parse(payload.toString()) as GridShare,
          retain: packet.retain,
          qos: packet.qos,
        });
      });
      await subscriber.subscribeAsync('grid/#', { qos: 1 });
      const published: AedesPublishPacket[] = [];
      const onPublish = (packet: AedesPublishPacket, client: unknown) => {
        if (client && packet.topic.startsWith('grid/')) published.push(packet);
      };
      broker.on('publish', onPublish);
      clients.length = 0;

      const households = [1, 2, 3].map((n) =>
        aggregateHousehold(10 + n + (mode === 'persistent' ? 3 : 0), start),
      );
      const meters = households.map((household) => meterFor(household, () => publisherOf(mode, url)));
      try {
        const outcomes = await Promise.all(
          meters.map(({ meter }) => meter.run(new AbortController().signal)),
        );
        expect(outcomes).toEqual(['until', 'until', 'until']);
        // QoS 1 delivers to the subscriber after the meter's PUBACK: wait until all have arrived.
        for (let i = 0; i < 100 && received.length < 24; i += 1) await sleep(20);
        await sleep(100);
      } finally {
        broker.removeListener('publish', onPublish);
        await subscriber.endAsync();
      }

      expect(received).toHaveLength(24);
      expect(new Set(received.map((message) => message.topic))).toEqual(new Set(['grid/north/d3/shares']));
      expect(published).toHaveLength(24);
      expect(published.every((packet) => packet.qos === 1 && !packet.retain)).toBe(true);
      expect(new Set(received.map((message) => message.share.prid)).size).toBe(24);
      for (const [i, household] of households.entries()) {
        const { source } = meters[i];
        // Each meter's shares are told apart here only through its session key (as the distributor could).
        for (let p = 0; p < 4; p += 1) {
          const periodStart = iso(start + p * HALF_HOUR);
          const ofMeter = received
            .map((message) => message.share)
            .filter((share) => share.periodStart === periodStart && ownedBy(household, share));
          expect(ofMeter).toHaveLength(2);
          expect(unmasked(household.sessionKey, ofMeter)).toBe(measured(source, periodStart));
          ofMeter.forEach((share) => {
            expect(verifyShareSignature(share)).toBe(true);
          });
        }
      }
      // Anonymous connections, each with its own random client id: one per share, or one per meter.
      const meterClients = clients.filter((client) => client.id !== 'test-subscriber');
      expect(meterClients).toHaveLength(connections);
      expect(meterClients.every((client) => client.username === undefined && !client.hasPassword)).toBe(true);
      expect(new Set(meterClients.map((client) => client.id)).size).toBe(connections);
      meterClients.forEach((client) => {
        expect(client.id).toMatch(/^[0-9a-f]{22}$/);
      });
      expect(publishedBy.size).toBe(connections);
      for (const shares of publishedBy.values()) expect(shares).toHaveLength(sharesEach);
      if (mode === 'persistent') {
        // What per-share connections prevent: the broker sees each meter's pseudonyms come together.
        for (const shares of publishedBy.values())
          expect(
            households.filter((household) => shares.every((share) => ownedBy(household, share))),
          ).toHaveLength(1);
      }
    },
  );

  it('when a meter catches up over per-share connections then at most 4 are open at once, and each carries one share', async () => {
    const household = aggregateHousehold(25, start);
    let open = 0;
    let most = 0;
    const onConnection = (socket: Socket) => {
      open += 1;
      most = Math.max(most, open);
      socket.on('close', () => {
        open -= 1;
      });
    };
    server.on('connection', onConnection);
    const { meter } = meterFor(household, () => publisherOf('per-share', url), {
      settings: { untilSeconds: start + 6 * HALF_HOUR },
    });
    try {
      await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
    } finally {
      server.removeListener('connection', onConnection);
    }
    expect(meter.stats.sharesPublished).toBe(12);
    expect(publishedBy.size).toBe(12);
    expect([...publishedBy.values()].every((shares) => shares.length === 1)).toBe(true);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(PER_SHARE_CONNECTIONS);
  });

  it('when the broker drops the connection mid-way then the persistent meter reconnects under a new client id and every share arrives, resends byte for byte', async () => {
    const household = aggregateHousehold(30, start);
    /** Every version of each share that reached the broker, by PRID, and who sent it. */
    const versions = new Map<string, Set<string>>();
    const ids = new Set<string>();
    const delivered = new Set<string>();
    let cut = false;
    const allow = broker.authorizePublish;
    broker.authorizePublish = (client, packet, callback) => {
      if (client && packet.topic.startsWith('grid/')) {
        ids.add(client.id);
        const payload = packet.payload.toString();
        const { prid } = JSON.parse(payload) as GridShare;
        versions.set(prid, (versions.get(prid) ?? new Set()).add(payload));
        // The third share never gets its PUBACK: the broker cuts the meter off first.
        if (!cut && versions.size === 3) {
          cut = true;
          client.conn.destroy();
          callback(new Error('cut off'));
          return;
        }
      }
      callback(null);
    };
    const onPublish = (packet: AedesPublishPacket, client: unknown) => {
      if (client && packet.topic.startsWith('grid/'))
        delivered.add((JSON.parse(packet.payload.toString()) as GridShare).prid);
    };
    broker.on('publish', onPublish);
    const log = collectingLogger();
    const { meter } = meterFor(household, () => PersistentMqttPublisher.start({ url }, log));
    try {
      await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
    } finally {
      broker.authorizePublish = allow;
      broker.removeListener('publish', onPublish);
    }
    expect(cut).toBe(true);
    expect(delivered.size).toBe(8);
    expect(versions.size).toBe(8);
    for (const payloads of versions.values()) expect(payloads.size).toBe(1);
    expect(ids.size).toBe(2);
    expect(log.lines.filter((line) => line.includes('broker.unreachable'))).toHaveLength(1);
    expect(log.lines.filter((line) => line.includes('broker.reachable'))).toHaveLength(1);
  });

  it('when the broker goes away mid-backlog then the per-share meter waits it out with one unreachable and one reachable-again line, and every share arrives once or identically', async () => {
    const household = aggregateHousehold(31, start);
    const port = await freePort();
    let listener = createServer(broker.handle);
    await listen(listener, port);
    /** Every version of each share that reached the broker, by PRID. */
    const versions = new Map<string, Set<string>>();
    const ids: string[] = [];
    let outage: Promise<void> | undefined;
    const allow = broker.authorizePublish;
    broker.authorizePublish = (client, packet, callback) => {
      if (client && packet.topic.startsWith('grid/')) {
        ids.push(client.id);
        const payload = packet.payload.toString();
        const { prid } = JSON.parse(payload) as GridShare;
        versions.set(prid, (versions.get(prid) ?? new Set()).add(payload));
        // At the third share the broker goes: that share gets no PUBACK, and for 1.5 s nothing connects.
        if (!outage && ids.length === 3) {
          client.conn.destroy();
          callback(new Error('outage'));
          const down = listener;
          down.close();
          outage = sleep(1500).then(async () => {
            listener = createServer(broker.handle);
            await listen(listener, port);
          });
          return;
        }
      }
      callback(null);
    };
    const log = collectingLogger();
    const { meter } = meterFor(
      household,
      () => PerShareMqttPublisher.start({ url: `mqtt://127.0.0.1:${port}` }, log),
      { settings: { untilSeconds: start + 6 * HALF_HOUR } },
    );
    try {
      await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
      await outage;
    } finally {
      broker.authorizePublish = allow;
      await closeServer(listener);
    }
    const delivered = [...publishedBy.values()].flat();
    expect(new Set(delivered.map((share) => share.prid)).size).toBe(12);
    expect(versions.size).toBe(12);
    for (const payloads of versions.values()) expect(payloads.size).toBe(1);
    // Every attempt was a connection of its own, the cut one included.
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThan(12);
    expect(meter.stats.sharesPublished).toBe(12);
    expect(log.lines.filter((line) => line.includes('broker.unreachable'))).toHaveLength(1);
    expect(log.lines.filter((line) => line.includes('broker.reachable'))).toHaveLength(1);
    // Probes while it was down failed quietly: two lines for the whole outage, none per share.
    expect(log.lines.filter((line) => line.includes(' broker.'))).toHaveLength(3);
  });

  it.each(['per-share', 'persistent'] as const)(
    'when the broker is not there yet then the meter (--mqtt-connection %s) waits, and publishes once it is',
    async (mode) => {
      const household = aggregateHousehold(mode === 'persistent' ? 20 : 21, start);
      const late = createServer(broker.handle);
      const port = await freePort();
      const log = collectingLogger();
      const { meter } = meterFor(household, () => publisherOf(mode, `mqtt://127.0.0.1:${port}`, log));
      const run = meter.run(new AbortController().signal);
      while (!log.lines.some((line) => line.includes('broker.unreachable'))) await sleep(20);
      await listen(late, port);
      try {
        await expect(run).resolves.toBe('until');
        expect(meter.stats.sharesPublished).toBe(8);
        expect(log.lines.filter((line) => line.includes('broker.unreachable'))).toHaveLength(1);
        expect(log.lines.filter((line) => line.includes('broker.reachable'))).toHaveLength(1);
      } finally {
        await closeServer(late);
      }
    },
  );
});

// Needs the openssl command for the throwaway certificate: without it the test fails and says so.
describe('a meter and a real MQTT broker over TLS', () => {
  it('when shares go per share over mqtts then each is a full handshake of its own: checked against --mqtt-ca, no TLS session resumed, one client id per share', async () => {
    const broker = createBroker();
    const { cert, key } = brokerCertificate();
    const handshakes: boolean[] = [];
    const ids = new Map<string, number>();
    broker.on('publish', (packet, client) => {
      if (client && packet.topic.startsWith('grid/')) ids.set(client.id, (ids.get(client.id) ?? 0) + 1);
    });
    const server = createTlsServer({ cert, key }, (socket) => {
      handshakes.push(socket.isSessionReused());
      broker.handle(socket);
    });
    const port = await listen(server);
    const household = aggregateHousehold(50, start);
    const log = collectingLogger();
    const { meter } = meterFor(household, () =>
      PerShareMqttPublisher.start({ url: `mqtts://127.0.0.1:${port}`, caPem: cert }, log),
    );
    // A meter that does not trust the broker's certificate never gets a share through.
    const untrustingLog = collectingLogger();
    const untrusting = meterFor(aggregateHousehold(51, start), () =>
      PerShareMqttPublisher.start({ url: `mqtts://127.0.0.1:${port}` }, untrustingLog),
    );
    const stop = new AbortController();
    try {
      const refused = untrusting.meter.run(stop.signal);
      await expect(meter.run(new AbortController().signal)).resolves.toBe('until');
      stop.abort();
      await expect(refused).resolves.toBe('stopped');
    } finally {
      await new Promise<void>((resolve) => {
        broker.close(() => {
          resolve();
        });
      });
      await closeServer(server);
    }
    expect(untrusting.meter.stats.sharesPublished).toBe(0);
    const unreachable = untrustingLog.lines.filter((line) => line.includes('broker.unreachable'));
    expect(unreachable).toHaveLength(1);
    expect(unreachable[0]).toMatch(/certificate/);
    expect(meter.stats.sharesPublished).toBe(8);
    expect(ids.size).toBe(8);
    expect([...ids.values()].every((count) => count === 1)).toBe(true);
    expect(handshakes).toHaveLength(8);
    expect(handshakes.every((reused) => !reused)).toBe(true);
    expect(log.lines.some((line) => line.includes('a new connection for each share'))).toBe(true);
  });
});

/** Whether the share is under one of the household's pseudonyms for its period. */
function ownedBy(household: AggregateHousehold, share: GridShare): boolean {
  const secrets = periodSecrets(household.sessionKey, Date.parse(share.periodStart) / 1000);
  return share.prid === secrets.first.prid || share.prid === secrets.second.prid;
}
