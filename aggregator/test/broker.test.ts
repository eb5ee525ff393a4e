import type { MqttClient } from 'mqtt';
import { randomBytes } from 'node:crypto';
import {
  brokersUnderTest,
  closeAll,
  connectOnce,
  connected,
  publishSoon,
  startTestBroker,
  subscribeCodes,
  type TestBroker,
} from './support/brokers';
import { makeTestFiles, type TestFiles } from './support/tls';
import { topicMatches } from '../src/broker';

/**
 * The access rules of the aggregate mode's broker, against the embedded broker (aedes) and Eclipse Mosquitto
 * configured by aggregator/scripts/mosquitto.sh. MQTT_TEST_BROKERS=aedes tests the embedded broker only.
 */
describe.each(brokersUnderTest())('the %s broker', (kind) => {
  let files: TestFiles;
  let broker: TestBroker;
  let started = false;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    files = makeTestFiles();
    try {
      broker = await startTestBroker(kind, files);
      started = true;
    } catch (err) {
      files.remove();
      throw err;
    }
  });

  afterEach(async () => {
    await closeAll(clients.splice(0));
  });

  afterAll(async () => {
    if (!started) return;
    await broker.stop();
    files.remove();
  });

  const track = (client: MqttClient): MqttClient => {
    clients.push(client);
    return client;
  };
  const meter = async () => track(await connected(broker.url, files));
  /** The aggregator, subscribed to grid/#, and what it receives. */
  const aggregator = async () => {
    const client = track(
      await connected(broker.url, files, {
        username: 'aggregator',
        password: files.password,
        clientId: `aggregator-test-${randomBytes(4).toString('hex')}`,
      }),
    );
    const received: { topic: string; payload: string; retain: boolean }[] = [];
    client.on('message', (topic, payload, packet) => {
      received.push({ topic, payload: payload.toString(), retain: packet.retain });
    });
    const granted = await client.subscribeAsync('grid/#', { qos: 1 });
    expect(granted[0].qos).toBe(1);
    return { client, received };
  };
  /** Publishes a marker from a well-behaved meter and waits until the aggregator has it. */
  const sentinel = async (received: { payload: string }[]) => {
    const marker = `sentinel-${randomBytes(4).toString('hex')}`;
    expect(await publishSoon(await meter(), 'grid/north/shares', marker)).toBe('acked');
    const deadline = Date.now() + 5000;
    while (!received.some((message) => message.payload === marker)) {
      if (Date.now() > deadline) throw new Error('the sentinel never arrived');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Anything published before the sentinel would have arrived by now.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return marker;
  };

  test('when a meter connects without credentials and publishes to grid/<region>/shares then the aggregator receives it', async () => {
    const { received } = await aggregator();
    const client = await meter();
    expect(await publishSoon(client, 'grid/north/d3/shares', 'one', { qos: 1 })).toBe('acked');
    expect(await publishSoon(client, 'grid/a/b/c/d/e/f/shares', 'six levels', { qos: 0 })).toBe('acked');
    await sentinel(received);
    expect(received.map((message) => [message.topic, message.payload])).toEqual(
      expect.arrayContaining([
        ['grid/north/d3/shares', 'one'],
        ['grid/a/b/c/d/e/f/shares', 'six levels'],
      ]),
    );
  });

  test('when an anonymous client subscribes then it is refused and receives nothing', async () => {
    const { received } = await aggregator();
    const snoop = await meter();
    const snooped: string[] = [];
    snoop.on('message', (topic) => snooped.push(topic));
    const granted = await subscribeCodes(snoop, ['grid/#', '#', 'grid/north/shares']);
    // Mosquitto 2.0 grants a MQTT 3.1.1 SUBSCRIBE and applies its ACL when delivering; aedes refuses it.
    if (kind === 'aedes') expect(granted).toEqual([128, 128, 128]);
    await sentinel(received);
    expect(snooped).toEqual([]);
  });

  test('when a meter publishes to any other topic then nothing is delivered', async () => {
    const { received } = await aggregator();
    for (const topic of [
      'grid/north/d3/other',
      'grid/north',
      'grid/shares',
      'other/topic',
      'grid/a/b/c/d/e/f/g/shares',
    ]) {
      await publishSoon(await meter(), topic, `forbidden ${topic}`);
    }
    const marker = await sentinel(received);
    expect(received.map((message) => message.payload)).toEqual([marker]);
    if (kind === 'aedes') {
      expect(broker.logs.of('broker.refused', { reason: 'TOPIC_NOT_ALLOWED' }).length).toBeGreaterThanOrEqual(
        5,
      );
    }
  });

  test('when a meter publishes a retained share, or with QoS 2, then it is disconnected and nothing is delivered', async () => {
    const { received } = await aggregator();
    const retaining = await meter();
    expect(await publishSoon(retaining, 'grid/north/shares', 'retained', { retain: true })).toBe('no ack');
    const qos2 = await meter();
    expect(await publishSoon(qos2, 'grid/north/shares', 'qos 2', { qos: 2 })).toBe('no ack');
    const marker = await sentinel(received);
    expect(retaining.connected).toBe(false);
    expect(qos2.connected).toBe(false);
    expect(received.map((message) => message.payload)).toEqual([marker]);
    // A later subscriber gets no retained share either.
    const later = await aggregator();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(later.received).toEqual([]);
  });

  test('when a payload exceeds 2048 bytes then it is not delivered', async () => {
    const { received } = await aggregator();
    const client = await meter();
    await publishSoon(client, 'grid/north/shares', 'x'.repeat(2049));
    const huge = await meter();
    await publishSoon(huge, 'grid/north/shares', 'y'.repeat(200_000));
    expect(await publishSoon(await meter(), 'grid/north/shares', 'z'.repeat(2048))).toBe('acked');
    const marker = await sentinel(received);
    expect(huge.connected).toBe(false);
    expect(received.map((message) => message.payload.length)).toEqual([2048, marker.length]);
    if (kind === 'aedes') {
      expect(broker.logs.of('broker.refused', { reason: 'PAYLOAD_TOO_LARGE' })).toHaveLength(1);
      expect(broker.logs.of('broker.refused', { reason: 'PACKET_TOO_LARGE' })).toHaveLength(1);
    }
  });

  test('when a client presents credentials that are not the aggregator’s then the connection is refused', async () => {
    for (const options of [
      { username: 'aggregator', password: 'not-the-password-at-all' },
      { username: 'aggregator' },
      { username: 'meter-1', password: files.password },
      { username: 'meter-1' },
    ]) {
      const result = await connectOnce(broker.url, files, options);
      track(result.client);
      expect(result.ok).toBe(false);
      if (!result.ok) expect([4, 5]).toContain(result.code);
    }
    if (kind === 'aedes')
      expect(broker.logs.of('broker.refused', { reason: 'BAD_CREDENTIALS' })).toHaveLength(4);
  });

  test('when the aggregator publishes then nothing is delivered: it only reads', async () => {
    const { received } = await aggregator();
    const other = await aggregator();
    await publishSoon(other.client, 'grid/north/shares', 'from the aggregator');
    const marker = await sentinel(received);
    expect(received.map((message) => message.payload)).toEqual([marker]);
  });

  if (kind === 'aedes') {
    test('when an anonymous client takes an aggregator-* client id then it is refused', async () => {
      const result = await connectOnce(broker.url, files, { clientId: 'aggregator-main' });
      track(result.client);
      expect(result.ok).toBe(false);
      expect(broker.logs.of('broker.refused', { reason: 'CLIENT_ID_RESERVED' })).toHaveLength(1);
    });

    test('when the aggregator subscribes outside grid/ then that filter is refused', async () => {
      const { client } = await aggregator();
      const granted = await subscribeCodes(client, [
        '#',
        '$SYS/#',
        'other/+',
        'grid/+/shares',
        'grid/north/#',
      ]);
      expect(granted).toEqual([128, 128, 128, 1, 1]);
    });

    test('refusals are logged as JSON lines without payloads', async () => {
      const secret = `payload-${randomBytes(8).toString('hex')}`;
      await publishSoon(await meter(), 'not/a/share/topic', secret);
      await publishSoon(await meter(), 'grid/north/shares', `${secret}${'x'.repeat(3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(broker.logs.raw.some((line) => line.includes(secret))).toBe(false);
      for (const line of broker.logs.of('broker.refused')) {
        expect(line).toEqual(
          expect.objectContaining({ level: 'warn', reason: expect.any(String) as unknown }),
        );
      }
    });
  }
});

describe('the embedded broker after a restart (no aggregator session yet)', () => {
  let files: TestFiles;
  let broker: TestBroker;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    files = makeTestFiles();
    broker = await startTestBroker('aedes', files);
  });

  afterAll(async () => {
    await closeAll(clients.splice(0));
    await broker.stop();
    files.remove();
  });

  const track = (client: MqttClient): MqttClient => {
    clients.push(client);
    return client;
  };

  test('a share for a region no aggregator session has subscribed to is refused (the meter keeps it), then taken once one has', async () => {
    const early = track(await connected(broker.url, files));
    expect(await publishSoon(early, 'grid/north/shares', 'before the aggregator')).toBe('no ack');
    expect(broker.logs.of('broker.refused', { reason: 'NO_SUBSCRIBER' })).toHaveLength(1);

    // A persistent session (clean: false), as the aggregator keeps: it outlives the connection.
    const aggregator = track(
      await connected(broker.url, files, {
        username: 'aggregator',
        password: files.password,
        clientId: `aggregator-gate-${randomBytes(4).toString('hex')}`,
        clean: false,
      }),
    );
    await aggregator.subscribeAsync('grid/north/#', { qos: 1 });
    expect(
      await publishSoon(track(await connected(broker.url, files)), 'grid/north/d1/shares', 'taken'),
    ).toBe('acked');
    // Another region still has no aggregator.
    expect(await publishSoon(track(await connected(broker.url, files)), 'grid/south/shares', 'nobody')).toBe(
      'no ack',
    );
    // While the aggregator is away its session stays, and so do the shares queued for it.
    await aggregator.endAsync();
    expect(await publishSoon(track(await connected(broker.url, files)), 'grid/north/shares', 'queued')).toBe(
      'acked',
    );
    expect(broker.logs.of('broker.refused', { reason: 'NO_SUBSCRIBER' })).toHaveLength(2);
  });
});

describe('topicMatches', () => {
  test.each([
    ['grid/north/#', 'grid/north/shares', true],
    ['grid/north/#', 'grid/north/d1/shares', true],
    ['grid/north/#', 'grid/northern/shares', false],
    ['grid/+/shares', 'grid/south/shares', true],
    ['grid/+/shares', 'grid/south/d2/shares', false],
    ['grid/#', 'grid', true],
    ['grid/north', 'grid/north/shares', false],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});
