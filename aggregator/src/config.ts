import { readFileSync } from 'node:fs';
import { PasswordFileError, readPasswordFile } from './passwordFile';
import { defaultServiceConfig, type ServiceConfig } from './service';
import type { LedgerConnectionOptions } from './ledger';
import { REGION_PATTERN, aggregatorClientId } from './topics';

/** A mistake in the options or files the aggregator was started with: exit code 2, nothing started. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface BrokerCliOptions {
  host: string;
  port: string;
  cert: string;
  key: string;
  passwordFile: string;
}

export interface RunCliOptions {
  mqttUrl: string;
  mqttCa?: string;
  passwordFile: string;
  name: string;
  stateDir: string;
  collectSeconds: string;
  regions?: string;
  filtersWaitSeconds: string;
  filtersRetrySeconds: string;
  concurrency: string;
  profile: string;
  identityDir?: string;
  identity?: string;
  keystore?: string;
  channel?: string;
}

export interface BrokerConfig {
  host: string;
  port: number;
  certPem: Buffer;
  keyPem: Buffer;
  aggregatorPassword: string;
}

export interface RunConfig {
  service: ServiceConfig;
  ledger: LedgerConnectionOptions;
}

export function buildBrokerConfig(options: BrokerCliOptions): BrokerConfig {
  const aggregatorPassword = password(options.passwordFile);
  return {
    host: options.host,
    port: integerOption('--port', options.port, 0, 65_535),
    certPem: readPem('--cert', options.cert),
    keyPem: readPem('--key', options.key),
    aggregatorPassword,
  };
}

export function buildRunConfig(options: RunCliOptions): RunConfig {
  if (!/^mqtts?:\/\/[^/\s]+\/?$/.test(options.mqttUrl)) {
    throw new ConfigError(`--mqtt-url must be mqtts://host:port (got "${options.mqttUrl}")`);
  }
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(options.name)) {
    throw new ConfigError('--name must be 1-32 lowercase letters, digits or -');
  }
  const secret = password(options.passwordFile);
  return {
    service: {
      mqttUrl: options.mqttUrl,
      mqttCa: options.mqttCa ? readPem('--mqtt-ca', options.mqttCa) : undefined,
      password: secret,
      clientId: aggregatorClientId(options.name, secret),
      stateDir: options.stateDir,
      collectSeconds: integerOption('--collect-seconds', options.collectSeconds, 1, 86_400),
      regions: regionList(options.regions),
      filtersWaitSeconds: integerOption('--filters-wait-seconds', options.filtersWaitSeconds, 0, 86_400),
      filtersRetrySeconds: integerOption('--filters-retry-seconds', options.filtersRetrySeconds, 1, 3600),
      retryBaseMs: defaultServiceConfig.retryBaseMs,
      retryCapMs: defaultServiceConfig.retryCapMs,
      concurrency: integerOption('--concurrency', options.concurrency, 1, 32),
    },
    ledger: {
      profilePath: options.profile,
      identityDir: options.identityDir,
      identity: options.identity,
      keystore: options.keystore,
      channel: options.channel,
    },
  };
}

function regionList(value: string | undefined): string[] {
  const regions = (value ?? '')
    .split(',')
    .map((region) => region.trim())
    .filter((region) => region !== '');
  const bad = regions.filter((region) => !REGION_PATTERN.test(region));
  if (bad.length > 0) {
    throw new ConfigError(`--regions: not a region path such as north/d3: ${bad.join(', ')}`);
  }
  return regions;
}

function password(path: string): string {
  try {
    return readPasswordFile(path);
  } catch (err) {
    if (err instanceof PasswordFileError) throw new ConfigError(err.message);
    throw err;
  }
}

function readPem(option: string, path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new ConfigError(
      `${option}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  if (!pem.includes('-----BEGIN ')) throw new ConfigError(`${option}: ${path} is not a PEM file`);
  return pem;
}

export function integerOption(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got "${value}")`);
  }
  return Number(value);
}
