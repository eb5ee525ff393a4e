import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newOrgKeyPair, publicKeyFingerprint } from '@smartmeter/crypto';
import {
  canonicalConfigBytes,
  deviceConfigContext,
  DeviceConfigError,
  ErrorCode,
  MAX_CONFIG_REFUSAL_REASON,
  openConfigForDevice,
  type ConfigAckStatus,
  type DeviceConfig,
  type DeviceConfigRecord,
} from '@smartmeter/domain';
import { describeFailure, refusalOf } from '@smartmeter/client/dist/errors';
import { orgKeyPairFromPrivateScalar, privateScalarOf } from '@smartmeter/crypto';
import { writeSecretFile } from '@smartmeter/client/dist/keystore';
import { failureFields } from './failureFields';
import type { LogLevel } from './log';

/** What a meter needs from the DeviceConfig contract. */
export interface DeviceConfigLedger {
  registerDeviceKey(publicKeyPem: string): Promise<void>;
  /** The meter's latest published configuration, or undefined when none was ever published. */
  latestDeviceConfig(): Promise<DeviceConfigRecord | undefined>;
  acknowledgeDeviceConfig(ack: DeviceConfigAck): Promise<void>;
}

export interface DeviceConfigAck {
  version: number;
  status: ConfigAckStatus;
  configHash: string;
  reason: string;
  /** With `applied`: the configuration itself (transient data), so the ledger can act on its reading interval. */
  config?: Buffer;
  /** With a new reading interval: the first period the meter measures at it (empty: from now). */
  effectiveFrom?: string;
}

export interface ConfigFollowerOptions {
  meterId: string;
  channel: string;
  ledger: DeviceConfigLedger;
  /** The meter's own 0700 folder: its device key and the configuration it applied live there. */
  stateDir: string;
  /** Real seconds between reads of the latest configuration; 0: never read. */
  pollSeconds: number;
  apply: (config: DeviceConfig, record: DeviceConfigRecord) => void;
  /** After the ledger holds the `applied` answer (and so any interval change it made). */
  acknowledged?: (config: DeviceConfig) => void;
  /** Where the meter starts a new reading interval the configuration sets (see DeviceConfigAck). */
  intervalStart?: (config: DeviceConfig) => string | undefined;
  say: (level: LogLevel, event: string, message: string, fields?: Record<string, string | number>) => void;
  nowMs?: () => number;
}

/** What the meter keeps about configurations: the last version it answered, and what it applied. */
interface FollowerState {
  answeredVersion: number;
  /** The last routine version the meter said it holds, waiting for its refresh (`delivered`). */
  deliveredVersion?: number;
  applied?: { version: number; configHash: string; config: DeviceConfig };
}

/**
 * The meter's side of device configuration (issue 19). Meters are not channel readers (issue 12), so they get
 * no chaincode events: every pollSeconds they read their latest configuration. An urgent or security version is
 * applied at the read that finds it; a routine one waits for the meter's next subscription refresh, as the
 * protocol paper has devices take routine changes at their next scheduled contact. The meter opens the
 * version with its own device key, validates it again, applies it and acknowledges it with its hash; a version
 * that does not open, fails the schema or does not match its hash is refused, with the reason, on the ledger.
 *
 * The device key is a P-256 key made on first use and kept 0600 in the meter's folder; its public half is
 * registered on the ledger once (a marker file remembers which key was registered).
 */
export class ConfigFollower {
  private readonly keyPath: string;
  private readonly statePath: string;
  private readonly registeredPath: string;
  private state: FollowerState;
  private nextAtMs: number;
  private inFlight: Promise<void> | undefined;
  private routineDue = false;
  private unreachableSince: number | undefined;
  private readonly nowMs: () => number;

  constructor(private readonly options: ConfigFollowerOptions) {
    this.nowMs = options.nowMs ?? Date.now;
    this.nextAtMs = this.nowMs();
    this.keyPath = join(options.stateDir, 'device-key.pem');
    this.statePath = join(options.stateDir, 'device-config.json');
    this.registeredPath = join(options.stateDir, 'device-key.registered');
    this.state = existsSync(this.statePath)
      ? (JSON.parse(readFileSync(this.statePath, 'utf8')) as FollowerState)
      : { answeredVersion: 0 };
  }

  get enabled(): boolean {
    return this.options.pollSeconds > 0;
  }

  /** The configuration applied last (also after a restart), if any. */
  get applied(): FollowerState['applied'] {
    return this.state.applied;
  }

  /** Registers the device key unless this key was registered already; failures are retried at the next poll. */
  async register(): Promise<boolean> {
    const { publicKeyPem } = this.deviceKey();
    const fingerprint = publicKeyFingerprint(publicKeyPem);
    if (existsSync(this.registeredPath) && readFileSync(this.registeredPath, 'utf8').trim() === fingerprint)
      return true;
    try {
      await this.options.ledger.registerDeviceKey(publicKeyPem);
    } catch (err) {
      this.options.say(
        'warn',
        'config.key-unregistered',
        `cannot register the device key yet: ${describeFailure(err).message}`,
        failureFields(err),
      );
      return false;
    }
    writeSecretFile(this.registeredPath, `${fingerprint}\n`);
    this.options.say(
      'info',
      'config.key-registered',
      `registered the device encryption key ${fingerprint.slice(0, 16)}…`,
    );
    return true;
  }

  /**
   * Real milliseconds until the next read is due. While one is under way the meter still wakes a poll interval
   * later: nothing else wakes it when the read ends, and a live meter may sleep half an hour between periods.
   */
  msUntilDue(): number {
    if (!this.enabled) return Infinity;
    if (this.inFlight) return this.options.pollSeconds * 1000;
    return Math.max(0, this.nextAtMs - this.nowMs());
  }

  /** The meter refreshed its subscription: a routine version waiting is due now. */
  atRefresh(): void {
    this.routineDue = true;
    this.nextAtMs = this.nowMs();
  }

  /** Starts a read when one is due and none is under way; does not wait for it. */
  pollIfDue(): void {
    if (this.msUntilDue() > 0) return;
    this.inFlight = this.poll().finally(() => {
      this.inFlight = undefined;
    });
  }

  async settled(): Promise<void> {
    await this.inFlight;
  }

  /** One read of the latest version and, when it is new and due, its application; never rejects. */
  async poll(): Promise<void> {
    this.nextAtMs = this.nowMs() + this.options.pollSeconds * 1000;
    const routineDue = this.routineDue;
    this.routineDue = false;
    if (!(await this.register())) return;
    let latest: DeviceConfigRecord | undefined;
    try {
      latest = await this.options.ledger.latestDeviceConfig();
      this.reachable();
    } catch (err) {
      this.unreachable(err);
      return;
    }
    if (!latest || latest.version <= this.state.answeredVersion) return;
    if (latest.priority === 'routine' && !routineDue) {
      await this.deliver(latest);
      return;
    }
    await this.answer(latest);
  }

  /**
   * A routine version waits for the meter's next refresh; meanwhile the ledger hears that the meter has it
   * (`delivered`), so the distributor's status table tells a meter that holds it from one that never read it.
   * Once per version; a failure is retried at the next poll, and CONFLICT means an earlier attempt landed.
   */
  private async deliver(record: DeviceConfigRecord): Promise<void> {
    if ((this.state.deliveredVersion ?? 0) >= record.version) return;
    try {
      await this.options.ledger.acknowledgeDeviceConfig({
        version: record.version,
        status: 'delivered',
        configHash: '',
        reason: '',
      });
    } catch (err) {
      if (refusalOf(err)?.code !== ErrorCode.Conflict) {
        this.options.say(
          'warn',
          'config.undelivered',
          `cannot acknowledge delivery of version ${record.version} yet: ${describeFailure(err).message}`,
          failureFields(err),
        );
        return;
      }
    }
    this.state.deliveredVersion = record.version;
    this.save();
    this.options.say(
      'info',
      'config.delivered',
      `holds routine configuration version ${record.version}, to apply at its next refresh`,
      { version: record.version, priority: record.priority },
    );
  }

  private async answer(record: DeviceConfigRecord): Promise<void> {
    const { channel, meterId } = this.options;
    let config: DeviceConfig;
    try {
      config = openConfigForDevice(
        record.sealed,
        this.deviceKey().privateKeyPem,
        deviceConfigContext(channel, meterId, record.version),
        record.configHash,
      );
    } catch (err) {
      if (!(err instanceof DeviceConfigError)) throw err;
      await this.acknowledge(record, 'refused', err.message.slice(0, MAX_CONFIG_REFUSAL_REASON));
      return;
    }
    this.options.apply(config, record);
    const acknowledged = await this.acknowledge(record, 'applied', '', canonicalConfigBytes(config), config);
    if (acknowledged) {
      this.state.applied = { version: record.version, configHash: record.configHash, config };
      this.save();
      this.options.acknowledged?.(config);
    }
  }

  /** True once the ledger holds the answer (now or from an earlier attempt). */
  private async acknowledge(
    record: DeviceConfigRecord,
    status: 'applied' | 'refused',
    reason: string,
    config?: Buffer,
    applied?: DeviceConfig,
  ): Promise<boolean> {
    try {
      await this.options.ledger.acknowledgeDeviceConfig({
        version: record.version,
        status,
        configHash: status === 'applied' ? record.configHash : '',
        reason,
        config,
        effectiveFrom: config && applied ? this.options.intervalStart?.(applied) : undefined,
      });
    } catch (err) {
      // CONFLICT: an earlier attempt did land (its answer was lost in transit). Anything else: try again later.
      if (refusalOf(err)?.code !== ErrorCode.Conflict) {
        this.options.say(
          'warn',
          'config.unacknowledged',
          `cannot acknowledge version ${record.version} yet: ${describeFailure(err).message}`,
          failureFields(err),
        );
        return false;
      }
    }
    this.state.answeredVersion = record.version;
    this.save();
    const latencyMs = this.nowMs() - Date.parse(record.publishedAt);
    this.options.say(
      status === 'applied' ? 'info' : 'warn',
      status === 'applied' ? 'config.applied' : 'config.refused',
      status === 'applied'
        ? `applied configuration version ${record.version} (${record.priority}, ${record.configHash.slice(0, 12)}…)`
        : `refused configuration version ${record.version}: ${reason}`,
      { version: record.version, priority: record.priority, latencyMs },
    );
    return true;
  }

  private deviceKey(): { publicKeyPem: string; privateKeyPem: string } {
    if (existsSync(this.keyPath)) {
      const privateKeyPem = readFileSync(this.keyPath, 'utf8');
      return {
        privateKeyPem,
        publicKeyPem: orgKeyPairFromPrivateScalar(privateScalarOf(privateKeyPem)).publicKeyPem,
      };
    }
    const pair = newOrgKeyPair();
    writeSecretFile(this.keyPath, pair.privateKeyPem);
    return pair;
  }

  private save(): void {
    writeSecretFile(this.statePath, `${JSON.stringify(this.state)}\n`);
  }

  private reachable(): void {
    if (this.unreachableSince === undefined) return;
    this.unreachableSince = undefined;
    this.options.say('info', 'config.reachable', 'configurations can be read again');
  }

  private unreachable(err: unknown): void {
    if (this.unreachableSince !== undefined) return;
    this.unreachableSince = this.nowMs();
    this.options.say(
      'warn',
      'config.unreachable',
      `cannot read the latest configuration: ${describeFailure(err).message}`,
      failureFields(err),
    );
  }
}
