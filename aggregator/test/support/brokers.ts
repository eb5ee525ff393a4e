import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { startBroker, type RunningBroker } from '../../src/broker';
import { CapturedLogs } from './logs';
import type { TestFiles } from './tls';

export type BrokerKind = 'aedes' | 'mosquitto';

export const MOSQUITTO = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto';
const SCRIPT = join(__dirname, '..', '..', 'scripts', 'mosquitto.sh');

/**
 * The brokers the broker-rule tests run against: the embedded one always, Mosquitto (started by
 * aggregator/scripts/mosquitto.sh) unless MQTT_TEST_BROKERS=aedes. A missing Mosquitto fails the tests rather
 * than skipping them silently.
 */
export function brokersUnderTest(): BrokerKind[] {
  const chosen = (process.env.MQTT_TEST_BROKERS ?? 'aedes,mosquitto').split(',').map((kind) => kind.trim());
  return chosen.filter((kind): kind is BrokerKind => kind === 'aedes' || kind === 'mosquitto');
}

export interface TestBroker {
  kind: BrokerKind;
  url: string;
  port: number;
  /** The embedded broker's log lines (empty for Mosquitto). */
  logs: CapturedLogs;
  stop(): Promise<void>;
}

export async function startTestBroker(kind: BrokerKind, files: TestFiles): Promise<TestBroker> {
  return kind === 'aedes' ? startAedes(files) : startMosquitto(files);
}

async function startAedes(files: TestFiles): Promise<TestBroker> {
  const logs = new CapturedLogs();
  const broker: RunningBroker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    certPem: files.cert,
    keyPem: files.key,
    aggregatorPassword: files.password,
    log: logs.logger,
  });
  return {
    kind: 'aedes',
    url: `mqtts://127.0.0.1:${broker.port}`,
    port: broker.port,
    logs,
    stop: () => broker.close(),
  };
}

async function startMosquitto(files: TestFiles): Promise<TestBroker> {
  if (!existsSync(MOSQUITTO)) {
    throw new Error(
      `Mosquitto is not installed at ${MOSQUITTO}: install it (Debian/Ubuntu: apt-get install mosquitto) to run the ` +
        'broker-rule tests against it too, or set MQTT_TEST_BROKERS=aedes to test the embedded broker only',
    );
  }
  const port = await freePort();
  const dir = join(files.dir, `mosquitto-${port}`);
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    'bash',
    [
      SCRIPT,
      'run',
      dir,
      '--cert',
      files.certPath,
      '--key',
      files.keyPath,
      '--password-file',
      files.passwordPath,
      '--port',
      String(port),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOSQUITTO } },
  );
  await untilRunning(child);
  return {
    kind: 'mosquitto',
    url: `mqtts://127.0.0.1:${port}`,
    port,
    logs: new CapturedLogs(),
    stop: () => stopChild(child),
  };
}

function untilRunning(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      reject(new Error(`mosquitto did not start:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/mosquitto version [\d.]+ running/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mosquitto exited with ${code}:\n${output}`));
    });
  });
}

/** Stops the Mosquitto this test started, by its PID (the script execs it). */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => {
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

export type ConnectResult =
  { client: MqttClient; ok: true } | { client: MqttClient; ok: false; code?: number; error: string };

/** Connects once (no reconnect) and reports the CONNACK outcome. */
export function connectOnce(
  url: string,
  files: TestFiles,
  options: IClientOptions = {},
): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, {
      ca: files.cert,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...options,
    });
    client.once('connect', () => {
      resolve({ client, ok: true });
    });
    client.once('error', (err: Error & { code?: number }) => {
      resolve({ client, ok: false, code: err.code, error: err.message });
    });
    client.once('close', () => {
      resolve({ client, ok: false, error: 'closed' });
    });
  });
}

export async function connected(
  url: string,
  files: TestFiles,
  options: IClientOptions = {},
): Promise<MqttClient> {
  const result = await connectOnce(url, files, options);
  if (!result.ok) throw new Error(`cannot connect to ${url}: ${result.error}`);
  return result.client;
}

/** Publishes and waits at most a second: a refused publish may end the connection without any PUBACK. */
export async function publishSoon(
  client: MqttClient,
  topic: string,
  payload: string | Buffer,
  options: { qos?: 0 | 1 | 2; retain?: boolean } = {},
): Promise<'acked' | 'no ack'> {
  const sent = client.publishAsync(topic, payload, { qos: 1, ...options }).then(
    () => 'acked' as const,
    () => 'no ack' as const,
  );
  let timer: NodeJS.Timeout | undefined;
  const given = new Promise<'no ack'>((resolve) => {
    timer = setTimeout(() => {
      resolve('no ack');
    }, 1000);
    client.once('close', () => {
      resolve('no ack');
    });
  });
  const outcome = await Promise.race([sent, given]);
  clearTimeout(timer);
  return outcome;
}

/** The SUBACK return codes for these filters (0x80: refused), whether or not the broker refused any. */
export function subscribeCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(filters, { qos: 1 }, (err, granted, suback) => {
      if (suback && 'granted' in suback) resolve(suback.granted as number[]);
      else if (err) reject(err);
      else resolve((granted ?? []).map((grant) => grant.qos));
    });
  });
}

export function closeAll(clients: MqttClient[]): Promise<void> {
  return Promise.all(clients.map((client) => client.endAsync(true))).then(() => undefined);
}
