import { createBroker, type AuthenticateError, type Client } from 'aedes';
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from './log';
import { PacketSizeLimit } from './packetLimit';
import {
  AGGREGATOR_CLIENT_ID_PREFIX,
  AGGREGATOR_USERNAME,
  MAX_SHARE_PAYLOAD_BYTES,
  aggregatorMaySubscribe,
  regionOfTopic,
} from './topics';

/**
 * The embedded MQTT broker of the aggregate privacy mode (aedes over TLS). Meters connect without credentials,
 * so the broker cannot tell them apart by anything they present, and may only publish shares; only the
 * aggregator (user "aggregator") may subscribe, and only to grid/… filters. aggregator/mosquitto/ has the same
 * rules for Eclipse Mosquitto.
 */
export interface BrokerOptions {
  /** Address to listen on; 127.0.0.1 unless meters reach it from elsewhere. */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  certPem: Buffer;
  keyPem: Buffer;
  aggregatorPassword: string;
  log: Logger;
}

export interface RunningBroker {
  readonly host: string;
  readonly port: number;
  /** Clients connected right now. */
  connectedClients(): number;
  close(): Promise<void>;
}

/** Refusal codes, one JSON log line each (event broker.refused). */
export type BrokerRefusal =
  | 'BAD_CREDENTIALS'
  | 'CLIENT_ID_RESERVED'
  | 'SUBSCRIBE_NOT_ALLOWED'
  | 'PUBLISH_NOT_ALLOWED'
  | 'TOPIC_NOT_ALLOWED'
  | 'RETAIN_NOT_ALLOWED'
  | 'QOS_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'NO_SUBSCRIBER'
  | 'PACKET_TOO_LARGE'
  | 'MALFORMED_PACKET';

/**
 * The largest MQTT packet any client may send: a share's PUBLISH (payload, topic of at most 120 bytes, headers)
 * or the aggregator's CONNECT and SUBSCRIBE. A bigger one ends the connection before it is buffered.
 */
const MAX_PACKET_BYTES = MAX_SHARE_PAYLOAD_BYTES + 512;
/** MQTT 3.1.1 CONNACK return codes (aedes' AuthErrorCode, a const enum). */
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const { log } = options;
  const passwordDigest = digest(options.aggregatorPassword);
  /** Clients that authenticated as the aggregator; every other client is anonymous. */
  const aggregators = new WeakSet<Client>();
  /**
   * The share filters of aggregator sessions that outlive a disconnection (clean: false), by client id. This
   * broker keeps sessions in memory: after a restart it has none, and a share acknowledged to a meter then
   * would reach nobody. So a share is taken only for a region some aggregator session has subscribed to since
   * this broker started; until then the meter keeps it in its outbox and tries again.
   */
  const sessions = new Map<string, Set<string>>();
  const someoneListens = (topic: string) =>
    [...sessions.values()].some((filters) => [...filters].some((filter) => topicMatches(filter, topic)));
  const refuse = (
    reason: BrokerRefusal,
    client: Client | null,
    fields: Record<string, string | number> = {},
  ) => {
    log.log('warn', 'broker.refused', refusalText(reason), {
      reason,
      clientId: client?.id,
      ...fields,
    });
  };

  const broker = createBroker({
    authenticate(client, username, password, done) {
      if (username === undefined && password === undefined) {
        if (client.id.startsWith(AGGREGATOR_CLIENT_ID_PREFIX)) {
          refuse('CLIENT_ID_RESERVED', client);
          done(authError('client id reserved for the aggregator', NOT_AUTHORIZED), false);
          return;
        }
        done(null, true);
        return;
      }
      if (username === AGGREGATOR_USERNAME && password && timingSafeEqual(digest(password), passwordDigest)) {
        aggregators.add(client);
        done(null, true);
        return;
      }
      refuse('BAD_CREDENTIALS', client, { username: username === AGGREGATOR_USERNAME ? username : 'other' });
      done(authError('bad user name or password', BAD_USERNAME_OR_PASSWORD), false);
    },
    // MQTT 3.1.1 has no negative PUBACK: aedes ends the connection of a client whose publish is refused.
    authorizePublish(client, packet, done) {
      const reason =
        publishRefusal(client !== null && aggregators.has(client), packet) ??
        (someoneListens(packet.topic) ? undefined : 'NO_SUBSCRIBER');
      if (reason) {
        refuse(reason, client, {
          topic: packet.topic.slice(0, 200),
          qos: packet.qos,
          bytes: packet.payload.length,
        });
        done(new Error(reason));
        return;
      }
      done(null);
    },
    // A refused filter gets SUBACK return code 0x80; the client stays connected.
    authorizeSubscribe(client, subscription, done) {
      if (aggregators.has(client) && aggregatorMaySubscribe(subscription.topic)) {
        done(null, { ...subscription, qos: Math.min(subscription.qos, 1) as 0 | 1 });
        return;
      }
      refuse('SUBSCRIBE_NOT_ALLOWED', client, { filter: subscription.topic.slice(0, 200) });
      done(null, null);
    },
    // Defence in depth: nothing is ever delivered to a client that is not the aggregator.
    authorizeForward(client, packet) {
      return aggregators.has(client) ? packet : null;
    },
  });

  broker.on('subscribe', (subscriptions, client) => {
    if (!aggregators.has(client)) return;
    const filters = sessions.get(client.id) ?? new Set<string>();
    subscriptions.forEach((subscription) => filters.add(subscription.topic));
    sessions.set(client.id, filters);
  });
  broker.on('unsubscribe', (unsubscriptions, client) => {
    unsubscriptions.forEach((filter) => sessions.get(client.id)?.delete(filter));
  });
  broker.on('clientDisconnect', (client) => {
    // A clean session ends with its connection, and with it everything queued for it.
    if (client.clean) sessions.delete(client.id);
  });

  const server: Server = createServer(
    { cert: options.certPem, key: options.keyPem, minVersion: 'TLSv1.2', handshakeTimeout: 10_000 },
    (socket: TLSSocket) => {
      // Small packets both ways (PUBLISH, then PUBACK): without this, Nagle's algorithm and delayed ACKs add
      // tens of milliseconds to every share.
      socket.setNoDelay(true);
      const limited = new PacketSizeLimit(socket, MAX_PACKET_BYTES, (reason, bytes) => {
        log.log('warn', 'broker.refused', refusalText(reason), { reason, bytes });
      });
      broker.handle(limited);
    },
  );
  server.on('tlsClientError', (err) => {
    log.log('warn', 'broker.tls_error', 'a TLS handshake failed', { error: err.message.slice(0, 200) });
  });
  broker.on('clientError', (client, err) => {
    log.log('info', 'broker.client_error', 'a client connection ended with an error', {
      clientId: client.id,
      error: err.message.slice(0, 200),
    });
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  log.log('info', 'broker.listening', `MQTT over TLS on ${address.address}:${address.port}`, {
    host: address.address,
    port: address.port,
  });
  return {
    host: address.address,
    port: address.port,
    connectedClients: () => broker.connectedClients,
    close: async () => {
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      await new Promise<void>((resolve) => {
        broker.close(() => {
          resolve();
        });
      });
      await closed;
    },
  };
}

/** What a client may publish: nothing for the aggregator; for anyone else one share to a share topic. */
export function publishRefusal(
  fromAggregator: boolean,
  packet: { topic: string; qos: number; retain: boolean; payload: Buffer | string },
): BrokerRefusal | undefined {
  if (fromAggregator) return 'PUBLISH_NOT_ALLOWED';
  if (regionOfTopic(packet.topic) === undefined) return 'TOPIC_NOT_ALLOWED';
  if (packet.retain) return 'RETAIN_NOT_ALLOWED';
  if (packet.qos > 1) return 'QOS_NOT_ALLOWED';
  if (Buffer.byteLength(packet.payload) > MAX_SHARE_PAYLOAD_BYTES) return 'PAYLOAD_TOO_LARGE';
  return undefined;
}

/** MQTT topic filter matching: `+` one level, a trailing `#` any number of levels (also none). */
export function topicMatches(filter: string, topic: string): boolean {
  const want = filter.split('/');
  const have = topic.split('/');
  for (const [i, level] of want.entries()) {
    if (level === '#') return i === want.length - 1;
    if (i >= have.length || (level !== '+' && level !== have[i])) return false;
  }
  return want.length === have.length;
}

function refusalText(reason: BrokerRefusal): string {
  switch (reason) {
    case 'NO_SUBSCRIBER':
      return 'publish refused: no aggregator has subscribed to this region since the broker started (the meter keeps the share and tries again)';
    case 'BAD_CREDENTIALS':
      return 'connect refused: only the aggregator presents credentials, and these are not its';
    case 'CLIENT_ID_RESERVED':
      return 'connect refused: client ids aggregator-* are the aggregator’s';
    case 'SUBSCRIBE_NOT_ALLOWED':
      return 'subscribe refused: only the aggregator subscribes, and only to grid/…';
    case 'PUBLISH_NOT_ALLOWED':
      return 'publish refused: the aggregator only reads';
    case 'TOPIC_NOT_ALLOWED':
      return 'publish refused: clients publish only to grid/<region>/shares';
    case 'RETAIN_NOT_ALLOWED':
      return 'publish refused: shares are never retained';
    case 'QOS_NOT_ALLOWED':
      return 'publish refused: QoS 0 or 1 only';
    case 'PAYLOAD_TOO_LARGE':
      return `publish refused: a share is at most ${MAX_SHARE_PAYLOAD_BYTES} bytes`;
    case 'PACKET_TOO_LARGE':
      return `connection cut: an MQTT packet of more than ${MAX_PACKET_BYTES} bytes`;
    case 'MALFORMED_PACKET':
      return 'connection cut: a malformed MQTT packet length';
  }
}

function authError(
  message: string,
  returnCode: typeof BAD_USERNAME_OR_PASSWORD | typeof NOT_AUTHORIZED,
): AuthenticateError {
  // aedes types the code as a const enum of its declarations, which has no runtime value to import.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
  return Object.assign(new Error(message), { returnCode });
}

/** Passwords are compared as digests, so the comparison takes the same time whatever their lengths. */
function digest(password: string | Buffer): Buffer {
  return createHash('sha256').update(password).digest();
}
