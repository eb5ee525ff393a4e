import { backoffDelayMs } from '@smartmeter/client/dist/errors';
import { randomBytes } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type * as Mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from './log';

/**
 * How a meter's shares travel to the broker. `per-share`: each share over its own new connection (connect,
 * publish, PUBACK, disconnect), so the broker (the untrusted aggregator's) cannot link a meter's pseudonyms
 * by connection. `persistent`: one connection for all of a meter's shares, fewer TLS handshakes, but the
 * broker sees which shares came over the same connection, and so which pseudonyms are one meter's.
 */
export const MQTT_CONNECTION_MODES = ['per-share', 'persistent'] as const;
export type MqttConnectionMode = (typeof MQTT_CONNECTION_MODES)[number];

/** Where a meter publishes its grid shares (aggregate mode). */
export interface MqttSettings {
  /** mqtt://host:port or mqtts://host:port, no credentials. */
  url: string;
  /** PEM of the CA that signed the broker's certificate (mqtts); the system's roots when absent. */
  caPem?: string;
  /** per-share when absent. */
  connection?: MqttConnectionMode;
}

/** The broker as a meter sees it: the MQTT client in production, a fake in tests. */
export interface SharePublisher {
  /** Whether shares may go now: publishing while not fails at once. */
  readonly connected: boolean;
  /** Publishes that may wait for their acknowledgement at once (the reporter keeps to it); 16 when absent. */
  readonly maxInFlight?: number;
  /** Publishes at QoS 1, retain false; resolves on the broker's PUBACK, rejects if the connection goes first. */
  publish(topic: string, payload: string): Promise<void>;
  /** Called whenever the connection comes up or goes down (or, per share, the broker becomes worth a try). */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}

/** The meter's publisher for the configured connection mode; throws only if mqtt.js cannot be loaded. */
export function startSharePublisher(
  settings: MqttSettings,
  log: Logger,
  fields: Record<string, string> = {},
): SharePublisher {
  return settings.connection === 'persistent'
    ? PersistentMqttPublisher.start(settings, log, fields)
    : PerShareMqttPublisher.start(settings, log, fields);
}

/** Shares on the one persistent connection published and not yet acknowledged, at most (pipelined). */
export const PERSISTENT_IN_FLIGHT = 16;
/**
 * One-share connections open at once, at most: a day's backlog of 15-minute periods (192 shares) goes in
 * seconds, and a meter never holds more than a few sockets.
 */
export const PER_SHARE_CONNECTIONS = 4;

const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

interface InFlight {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * `--mqtt-connection persistent`: a meter's one anonymous connection to the broker (mqtt.js, MQTT 3.1.1),
 * for all its shares: no username, password or client certificate, so the broker cannot tell meters apart;
 * a fresh random client id and a clean session on every connection; reconnects with exponential back-off and
 * full jitter. The broker can link every share that comes over one connection. mqtt.js is loaded on first
 * use, so a meter in disclosed mode never loads it.
 */
export class PersistentMqttPublisher implements SharePublisher {
  readonly maxInFlight = PERSISTENT_IN_FLIGHT;
  private client: MqttClient | undefined;
  private isConnected = false;
  private closing = false;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private downSince: number | undefined;
  private lastError: string | undefined;
  private readonly inFlight = new Set<InFlight>();
  private readonly listeners: (() => void)[] = [];

  private constructor(
    private readonly mqtt: typeof Mqtt,
    private readonly settings: MqttSettings,
    private readonly log: Logger,
    private readonly fields: Record<string, string>,
  ) {}

  /** Starts connecting (and goes on trying) in the background; throws only if mqtt.js cannot be loaded. */
  static start(
    settings: MqttSettings,
    log: Logger,
    fields: Record<string, string> = {},
  ): PersistentMqttPublisher {
    const publisher = new PersistentMqttPublisher(loadMqtt(), settings, log, fields);
    publisher.connect();
    return publisher;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  publish(topic: string, payload: string): Promise<void> {
    const client = this.client;
    if (!client || !this.isConnected) return Promise.reject(new Error('not connected to the broker'));
    return new Promise((resolve, reject) => {
      const entry: InFlight = { resolve, reject };
      this.inFlight.add(entry);
      client.publish(topic, payload, { qos: 1, retain: false }, (err) => {
        if (!this.inFlight.delete(entry)) return;
        if (err) reject(err);
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    this.abandonInFlight('the meter is stopping');
    const client = this.client;
    this.client = undefined;
    this.isConnected = false;
    if (client) await client.endAsync(true);
  }

  private connect(): void {
    const client = this.mqtt.connect(this.settings.url, clientOptions(this.settings));
    this.client = client;
    client.on('connect', () => {
      if (client !== this.client) return;
      this.isConnected = true;
      this.failures = 0;
      if (this.downSince === undefined) {
        this.say('info', 'broker.connected', `connected to the broker at ${this.settings.url}`);
      } else {
        const seconds = Math.round((Date.now() - this.downSince) / 1000);
        this.say('info', 'broker.reachable', `the broker is reachable again after ${seconds} s`);
        this.downSince = undefined;
      }
      this.changed();
    });
    client.on('error', (err) => {
      if (client === this.client) this.lastError = err.message;
    });
    client.on('close', () => {
      if (client !== this.client || this.closing) return;
      this.client = undefined;
      const wasConnected = this.isConnected;
      this.isConnected = false;
      this.abandonInFlight('the connection to the broker closed before its acknowledgement');
      client.end(true);
      if (this.downSince === undefined) {
        this.downSince = Date.now();
        this.say(
          'warn',
          'broker.unreachable',
          `${wasConnected ? 'lost the connection to' : 'cannot reach'} the broker at ${this.settings.url}` +
            `${this.lastError ? ` (${this.lastError})` : ''}; shares wait in the outbox`,
        );
      }
      this.lastError = undefined;
      const delay = backoffDelayMs(this.failures, FIRST_BACKOFF_MS, MAX_BACKOFF_MS);
      this.failures += 1;
      this.reconnectTimer = setTimeout(() => {
        this.connect();
      }, delay);
      if (wasConnected) this.changed();
    });
  }

  private abandonInFlight(reason: string): void {
    const pending = [...this.inFlight];
    this.inFlight.clear();
    for (const entry of pending) entry.reject(new Error(reason));
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private say(level: 'info' | 'warn', event: string, message: string): void {
    this.log.log(level, event, message, this.fields);
  }
}

/** Connecting and the acknowledgement of the one share, at most; then the attempt counts as failed. */
const PER_SHARE_TIMEOUT_MS = 60_000;
/** After the PUBACK: time for the DISCONNECT and the socket's close, then it is destroyed. */
const CLOSE_GRACE_MS = 2000;

/**
 * `--mqtt-connection per-share` (the default): every share over a connection of its own — connect (TLS,
 * anonymous, a new random client id, clean session), publish the share at QoS 1, wait for its PUBACK,
 * disconnect — so that what the broker sees of one connection is one share under a one-period pseudonym,
 * and a meter's pseudonyms cannot be linked through the connection they came by. At most
 * PER_SHARE_CONNECTIONS at once. No TLS session is resumed (mqtt.js passes none), since a session ticket
 * would link the connections again.
 *
 * Reachability is tracked across connections, with one log line when the broker becomes unreachable and one
 * when it is back, never one per share: after a failed attempt `connected` is false for a back-off with full
 * jitter (1 s doubling to 30 s), then a single share is let through as the probe (`maxInFlight` 1) until one
 * gets its PUBACK.
 */
export class PerShareMqttPublisher implements SharePublisher {
  /** up: shares go, several at once. down: waiting out the back-off. probing: one share tries the broker. */
  private state: 'up' | 'down' | 'probing' = 'up';
  private everAcknowledged = false;
  private failures = 0;
  private downSince: number | undefined;
  /**
   * Incremented each time the broker is found unreachable: an attempt that set out in an earlier epoch says
   * nothing about the broker now, so neither its success nor its failure changes the state.
   */
  private epoch = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closing = false;
  /** Every connection not yet closed (at most PER_SHARE_CONNECTIONS, a probe, and ones the reporter gave up). */
  private readonly clients = new Set<MqttClient>();
  private readonly listeners: (() => void)[] = [];
  /**
   * One TLS context (the broker's CA) for all connections: built once instead of for each share. It resumes
   * no session: Node resumes a client session only when handed one, and none is.
   */
  private readonly secureContext: SecureContext | undefined;

  private constructor(
    private readonly mqtt: typeof Mqtt,
    private readonly settings: MqttSettings,
    private readonly log: Logger,
    private readonly fields: Record<string, string>,
  ) {
    this.secureContext = settings.url.startsWith('mqtts:')
      ? createSecureContext(settings.caPem === undefined ? {} : { ca: settings.caPem })
      : undefined;
  }

  /** Connects only when a share goes; throws only if mqtt.js cannot be loaded. */
  static start(
    settings: MqttSettings,
    log: Logger,
    fields: Record<string, string> = {},
  ): PerShareMqttPublisher {
    return new PerShareMqttPublisher(loadMqtt(), settings, log, fields);
  }

  get connected(): boolean {
    return !this.closing && this.state !== 'down';
  }

  get maxInFlight(): number {
    return this.state === 'up' ? PER_SHARE_CONNECTIONS : 1;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  publish(topic: string, payload: string): Promise<void> {
    if (this.closing) return Promise.reject(new Error('the meter is stopping'));
    if (this.state === 'down') return Promise.reject(new Error('the broker is unreachable'));
    const epoch = this.epoch;
    const client = this.mqtt.connect(this.settings.url, {
      ...clientOptions(this.settings),
      ...(this.secureContext ? { secureContext: this.secureContext } : {}),
    });
    this.clients.add(client);
    return new Promise<void>((resolve, reject) => {
      let lastError: string | undefined;
      let settled = false;
      let acknowledged = false;
      const timer = setTimeout(() => {
        fail(`no acknowledgement within ${PER_SHARE_TIMEOUT_MS / 1000} s`);
      }, PER_SHARE_TIMEOUT_MS);
      const fail = (reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.end(true);
        reject(new Error(lastError ? `${reason} (${lastError})` : reason));
        this.failed(lastError ?? reason, epoch);
      };
      // mqtt.js emits errors (connection refused, TLS, a CONNACK refusal) before the socket closes.
      client.on('error', (err) => {
        lastError = err.message;
      });
      client.on('close', () => {
        this.clients.delete(client);
        if (acknowledged) resolve();
        else if (this.closing) {
          settled = true;
          clearTimeout(timer);
          reject(new Error('the meter is stopping'));
        } else fail('the connection to the broker closed before its acknowledgement');
      });
      client.on('connect', () => {
        client.publish(topic, payload, { qos: 1, retain: false }, (err) => {
          if (err) {
            fail(err.message);
            return;
          }
          if (settled) return;
          settled = true;
          acknowledged = true;
          clearTimeout(timer);
          this.succeeded(epoch);
          // Done with this connection: DISCONNECT; the share counts as sent once the socket has closed, so
          // that no more than PER_SHARE_CONNECTIONS sockets are ever open.
          const grace = setTimeout(() => {
            client.end(true);
          }, CLOSE_GRACE_MS);
          grace.unref();
          client.end(false, () => {
            clearTimeout(grace);
            resolve();
          });
        });
      });
    });
  }

  /** Ends every connection at once; shares not yet acknowledged stay in the outbox. */
  close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    for (const client of [...this.clients]) client.end(true);
    return Promise.resolve();
  }

  private succeeded(epoch: number): void {
    if (this.closing) return;
    if (!this.everAcknowledged) {
      this.everAcknowledged = true;
      if (this.downSince === undefined)
        this.say(
          'info',
          'broker.connected',
          `connected to the broker at ${this.settings.url} (a new connection for each share)`,
        );
    }
    if (this.state === 'up' || epoch < this.epoch) return;
    const seconds = Math.round((Date.now() - (this.downSince ?? Date.now())) / 1000);
    this.say('info', 'broker.reachable', `the broker is reachable again after ${seconds} s`);
    clearTimeout(this.retryTimer);
    this.state = 'up';
    this.failures = 0;
    this.downSince = undefined;
    this.changed();
  }

  private failed(reason: string, epoch: number): void {
    // Nothing new when the broker is known to be down, or the attempt set out before it was found down.
    if (this.closing || this.state === 'down' || epoch < this.epoch) return;
    if (this.state === 'up') {
      this.downSince = Date.now();
      this.say(
        'warn',
        'broker.unreachable',
        `cannot reach the broker at ${this.settings.url} (${reason}); shares wait in the outbox`,
      );
    }
    this.state = 'down';
    this.epoch += 1;
    const delay = backoffDelayMs(this.failures, FIRST_BACKOFF_MS, MAX_BACKOFF_MS);
    this.failures += 1;
    this.retryTimer = setTimeout(() => {
      this.state = 'probing';
      this.changed();
    }, delay);
    this.changed();
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private say(level: 'info' | 'warn', event: string, message: string): void {
    this.log.log(level, event, message, this.fields);
  }
}

/**
 * Options of every connection: anonymous (no user name, password or client certificate, so the broker cannot
 * tell meters apart), a fresh random client id, a clean session, MQTT 3.1.1, the broker's certificate checked.
 */
function clientOptions(settings: MqttSettings): IClientOptions {
  const options: IClientOptions = {
    // 22 hex characters: random, within MQTT 3.1.1's guaranteed 23, and nothing that names the meter.
    clientId: randomBytes(11).toString('hex'),
    clean: true,
    protocolVersion: 4,
    // Reconnecting is done by the publishers, with back-off, on a new client (and so a new client id).
    reconnectPeriod: 0,
    connectTimeout: 30_000,
    keepalive: 60,
    // mqtt-packet would otherwise keep a 2-byte Buffer for each of the 65,536 packet ids: 6-7 MB of heap.
    writeCache: false,
    rejectUnauthorized: true,
    ...(settings.caPem === undefined ? {} : { ca: settings.caPem }),
  };
  return options;
}

/** mqtt.js, loaded on first use: only aggregate meters need it, and the Pi build keeps it in a file apart. */
function loadMqtt(): typeof Mqtt {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('mqtt') as typeof Mqtt;
  } catch (err) {
    throw new Error(
      `cannot load the MQTT client (${(err as Error).message.split('\n')[0]}); ` +
        'on a Pi, install mqtt.js from npm run build:pi next to meter-sim.js',
    );
  }
}
