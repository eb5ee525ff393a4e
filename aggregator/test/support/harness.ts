import type { GridShare } from '@smartmeter/crypto';
import type { MqttClient } from 'mqtt';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { AggregatorService, type ServiceConfig } from '../../src/service';
import { aggregatorClientId, shareTopic } from '../../src/topics';
import { connected, startTestBroker, type BrokerKind, type TestBroker } from './brokers';
import { FakeLedger } from './fakeLedger';
import { CapturedLogs } from './logs';
import { makeTestFiles, type TestFiles } from './tls';

/** A real embedded broker over TLS, real MQTT clients, the service, and the in-memory ledger. */
export class Harness {
  readonly ledger = new FakeLedger();
  readonly running: { service: AggregatorService; logs: CapturedLogs }[] = [];
  private readonly clients: MqttClient[] = [];
  private meterClient: MqttClient | undefined;

  private constructor(
    readonly files: TestFiles,
    readonly broker: TestBroker,
  ) {}

  static async start(kind: BrokerKind = 'aedes'): Promise<Harness> {
    const files = makeTestFiles();
    try {
      return new Harness(files, await startTestBroker(kind, files));
    } catch (err) {
      files.remove();
      throw err;
    }
  }

  newStateDir(): string {
    return mkdtempSync(join(this.files.dir, 'state-'));
  }

  config(overrides: Partial<ServiceConfig> & { stateDir: string; name?: string }): ServiceConfig {
    return {
      mqttUrl: this.broker.url,
      mqttCa: this.files.cert,
      password: this.files.password,
      clientId: aggregatorClientId(overrides.name ?? 'test', this.files.password),
      collectSeconds: 30,
      regions: [],
      filtersWaitSeconds: 60,
      filtersRetrySeconds: 1,
      retryBaseMs: 50,
      retryCapMs: 400,
      concurrency: 2,
      ...overrides,
    };
  }

  /** Starts a service and waits until its subscription is in place. */
  async service(
    config: ServiceConfig,
  ): Promise<{ service: AggregatorService; logs: CapturedLogs; fatal: unknown[] }> {
    const logs = new CapturedLogs();
    const fatal: unknown[] = [];
    const service = new AggregatorService(config, {
      ledger: this.ledger,
      log: logs.logger,
      onFatal: (err) => fatal.push(err),
    });
    service.start();
    this.running.push({ service, logs });
    await logs.waitFor('mqtt.subscribed');
    return { service, logs, fatal };
  }

  /** An anonymous meter connection (one for all the test's meters: the broker cannot tell them apart anyway). */
  async meter(): Promise<MqttClient> {
    this.meterClient ??= await this.track(connected(this.broker.url, this.files));
    return this.meterClient;
  }

  async publish(shares: readonly GridShare[], topic?: string): Promise<void> {
    const client = await this.meter();
    for (const share of shares) {
      await client.publishAsync(topic ?? shareTopic(share.region), JSON.stringify(share), { qos: 1 });
    }
  }

  async publishRaw(topic: string, payload: string): Promise<void> {
    await (await this.meter()).publishAsync(topic, payload, { qos: 1 });
  }

  async track(client: Promise<MqttClient>): Promise<MqttClient> {
    const c = await client;
    this.clients.push(c);
    return c;
  }

  /** Stops the services a test started: each test's shares reach its own service only. */
  async stopServices(): Promise<void> {
    for (const { service } of this.running.splice(0)) await service.stop();
  }

  async stop(): Promise<void> {
    await this.stopServices();
    await Promise.all(this.clients.map((client) => client.endAsync(true)));
    await this.broker.stop();
    this.files.remove();
  }
}

/** Polls until check() holds. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
