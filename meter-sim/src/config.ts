import { MAX_BATCH_SIZE } from '@smartmeter/domain';
import { UTILITIES, type Utility } from '@smartmeter/crypto';
import { X509Certificate } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadBundle, type MeterBundle } from './bundle';
import { AnomalyInjectingSource, parseAnomalyKinds, planAnomalies } from './sources/anomalies';
import { HouseholdSource } from './sources/household';
import { lclDays, LclReplaySource, parseLcl, type LclHousehold } from './sources/lcl';
import type { ReadingSource } from './sources/source';
import type { MeterSettings } from './meter';
import { MQTT_CONNECTION_MODES, type MqttConnectionMode, type MqttSettings } from './publisher';

/** The command line (or environment) as given: every value still a string. */
export interface RunOptions {
  bundle?: string[];
  bundleDir?: string;
  meters?: string;
  stateDir: string;
  /** Where meter-sim enroll put the meters' own identities (default: <state-dir>/identity). */
  identityDir?: string;
  source: string;
  utility: string;
  lclFile?: string;
  lclId?: string;
  /** The file day (YYYY-MM-DD) that plays on the subscription's first day; default the file's first day. */
  lclFrom?: string;
  seed?: string;
  /** Labelled faults to inject, comma-separated (spike, leak, stuck, drop), spread over --from to --until. */
  injectAnomalies?: string;
  /** Seed of the fault plan (default: the meter id). */
  anomalySeed?: string;
  utcOffset: string;
  speed: string;
  from?: string;
  until?: string;
  maxJitter: string;
  batchSize: string;
  refresh: string;
  /** Real seconds between reads of the meter's latest device configuration; 0: never. */
  configPollSeconds?: string;
  /** Real seconds between health reports; 0: never. */
  healthSeconds?: string;
  mqttUrl: string;
  mqttCa?: string;
  /** per-share or persistent. */
  mqttConnection: string;
  shareWindow: string;
  minShareGap: string;
  /** Real seconds between reads of a prepaid wallet; 0: never. */
  walletPollSeconds: string;
  jsonLogs?: boolean;
}

export interface RunConfig extends MeterSettings {
  meters: MeterBundle[];
  stateDir: string;
  sources: ReadingSource[];
  /** The broker of aggregate mode, and how shares go to it; meters in disclosed mode never connect. */
  mqtt: MqttSettings & { connection: MqttConnectionMode };
  jsonLogs: boolean;
}

/** The configuration is wrong; `problems` lists everything found, not just the first. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `the configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((problem) => `  - ${problem}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Checks everything before the meter touches the network; throws ConfigError naming every problem. */
export function buildRunConfig(options: RunOptions): RunConfig {
  const problems: string[] = [];
  const number = (name: string, text: string, min: number, max: number, integer: boolean): number => {
    const value = Number(text);
    if (
      text.trim() === '' ||
      !Number.isFinite(value) ||
      value < min ||
      value > max ||
      (integer && !Number.isInteger(value))
    ) {
      problems.push(
        `${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max} (got "${text}")`,
      );
      return min;
    }
    return value;
  };
  const time = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    if (!ISO_SECONDS.test(text) || Number.isNaN(Date.parse(text))) {
      problems.push(`${name} must be an ISO 8601 UTC time like 2026-01-15T00:00:00Z (got "${text}")`);
      return undefined;
    }
    return Date.parse(text) / 1000;
  };

  const speed = number('--speed', options.speed, 0.001, 1_000_000, false);
  const fromSeconds = time('--from', options.from);
  const untilSeconds = time('--until', options.until);
  if (fromSeconds !== undefined && untilSeconds !== undefined && untilSeconds <= fromSeconds)
    problems.push('--until must be after --from');
  const maxJitterSeconds = number('--max-jitter', options.maxJitter, 0, 3600, true);
  const batchSize = number('--batch-size', options.batchSize, 1, MAX_BATCH_SIZE, true);
  const refreshSeconds = number('--refresh', options.refresh, 0.1, 86_400, false);
  const utcOffsetMinutes = number('--utc-offset', options.utcOffset, -840, 840, true);
  const shareWindowSeconds = number('--share-window', options.shareWindow, 1, 3600, true);
  const minShareGapSeconds = number('--min-share-gap', options.minShareGap, 0, 3600, true);
  if (minShareGapSeconds >= shareWindowSeconds)
    problems.push(
      `--min-share-gap (${minShareGapSeconds} s) must be shorter than --share-window (${shareWindowSeconds} s)`,
    );
  const walletPollSeconds = number('--wallet-poll-seconds', options.walletPollSeconds, 0, 86_400, false);
  const configPollSeconds = number(
    '--config-poll-seconds',
    options.configPollSeconds ?? '5',
    0,
    86_400,
    false,
  );
  const healthSeconds = number('--health-seconds', options.healthSeconds ?? '300', 0, 86_400, false);
  const mqtt = mqttSettings(options, problems);

  const stateDir = resolve(options.stateDir);
  const meters = loadMeters(options, problems, resolveIdentityDir(options));
  checkStateDir(stateDir, problems);
  const sources = withInjectedAnomalies(
    options,
    meters,
    buildSources(options, meters, utcOffsetMinutes, problems),
    { fromSeconds, untilSeconds },
    problems,
  );

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    meters,
    stateDir,
    sources,
    speed,
    fromSeconds,
    untilSeconds,
    maxJitterSeconds,
    batchSize,
    refreshSeconds,
    shareWindowSeconds,
    minShareGapSeconds,
    walletPollSeconds,
    configPollSeconds,
    healthSeconds,
    mqtt,
    jsonLogs: options.jsonLogs === true,
  };
}

/**
 * The broker URL (mqtt:// or mqtts://, anonymous), the CA its certificate must chain to, and whether each
 * share goes over a connection of its own.
 */
function mqttSettings(
  options: RunOptions,
  problems: string[],
): MqttSettings & { connection: MqttConnectionMode } {
  let url: URL | undefined;
  try {
    url = new URL(options.mqttUrl);
  } catch {
    problems.push(`--mqtt-url must be a URL like mqtts://broker.example:8883 (got "${options.mqttUrl}")`);
  }
  if (url) {
    if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:')
      problems.push(`--mqtt-url must start with mqtts:// (or mqtt:// for tests; got "${url.protocol}//")`);
    if (url.username !== '' || url.password !== '')
      problems.push('--mqtt-url must carry no user name or password: meters publish anonymously');
    if (url.hostname === '') problems.push('--mqtt-url names no host');
  }
  const connection = MQTT_CONNECTION_MODES.find((mode) => mode === options.mqttConnection);
  if (connection === undefined)
    problems.push(
      `--mqtt-connection must be ${MQTT_CONNECTION_MODES.join(' or ')} (got "${options.mqttConnection}")`,
    );
  const settings = { url: options.mqttUrl, connection: connection ?? 'per-share' };
  if (options.mqttCa === undefined) return settings;
  if (url?.protocol === 'mqtt:') problems.push('--mqtt-ca goes with an mqtts:// URL');
  try {
    const caPem = readFileSync(options.mqttCa, 'utf8');
    new X509Certificate(caPem);
    return { ...settings, caPem };
  } catch (err) {
    problems.push(
      `--mqtt-ca ${options.mqttCa}: ${(err as NodeJS.ErrnoException).code ?? 'not a PEM certificate'}`,
    );
    return settings;
  }
}

export function resolveIdentityDir(options: { stateDir: string; identityDir?: string }): string {
  return resolve(options.identityDir ?? join(options.stateDir, 'identity'));
}

function loadMeters(options: RunOptions, problems: string[], identityDir: string): MeterBundle[] {
  const paths = [...(options.bundle ?? [])];
  if (options.bundleDir) {
    try {
      paths.push(
        ...readdirSync(options.bundleDir)
          .filter((name) => name.endsWith('.json'))
          .sort()
          .map((name) => join(options.bundleDir as string, name)),
      );
    } catch (err) {
      problems.push(
        `--bundle-dir ${options.bundleDir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
  }
  let count = paths.length;
  if (options.meters !== undefined) {
    const wanted = Number(options.meters);
    if (!Number.isInteger(wanted) || wanted < 1) {
      problems.push(`--meters must be a positive integer (got "${options.meters}")`);
    } else if (wanted > paths.length) {
      problems.push(`--meters ${wanted} needs ${wanted} pair bundles, ${paths.length} given`);
    } else count = wanted;
  }
  if (paths.length === 0) {
    problems.push(
      'no pair bundle: give --bundle <file> (from "meterctl meter pair-bundle") or --bundle-dir <dir>',
    );
  }
  const meters = paths
    .slice(0, count)
    .map((path) => loadBundle(path, problems, identityDir))
    .filter((meter): meter is MeterBundle => meter !== undefined);
  const seen = new Map<string, string>();
  for (const meter of meters) {
    const other = seen.get(meter.bundle.subscriptionId);
    if (other)
      problems.push(
        `${meter.path} and ${other} are for the same subscription ${meter.bundle.subscriptionId}`,
      );
    seen.set(meter.bundle.subscriptionId, meter.path);
  }
  return meters;
}

/** The folder must exist and be writable, or be creatable (the meter creates it when it starts). */
function checkStateDir(stateDir: string, problems: string[]): void {
  let existing = stateDir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    if (!statSync(existing).isDirectory()) throw new Error(`${existing} is not a directory`);
    accessSync(existing, constants.W_OK);
  } catch (err) {
    problems.push(`--state-dir ${stateDir} is not a writable directory (${(err as Error).message})`);
  }
}

function buildSources(
  options: RunOptions,
  meters: MeterBundle[],
  utcOffsetMinutes: number,
  problems: string[],
): ReadingSource[] {
  if (!(UTILITIES as readonly string[]).includes(options.utility)) {
    problems.push(`--utility must be one of ${UTILITIES.join(', ')} (got "${options.utility}")`);
    return [];
  }
  const utility = options.utility as Utility;
  if (options.source === 'household') {
    if (options.lclFile || options.lclId || options.lclFrom)
      problems.push('--lcl-file, --lcl-id and --lcl-from go with --source lcl');
    return meters.map(
      (meter) =>
        new HouseholdSource({
          seed: options.seed === undefined ? meter.bundle.meterId : `${options.seed}:${meter.bundle.meterId}`,
          utility,
          utcOffsetMinutes,
        }),
    );
  }
  if (options.source !== 'lcl') {
    problems.push(`--source must be household or lcl (got "${options.source}")`);
    return [];
  }
  if (utility !== 'electricity')
    problems.push('--source lcl replays electricity data: use --utility electricity');
  return buildLclSources(options, meters, problems);
}

/**
 * Faults are planned on quarter hours, which every usual reading interval is a multiple of; a meter with
 * longer periods sees each fault from the first of its periods that starts inside it (a spike in the period
 * that holds it).
 */
const ANOMALY_PLAN_INTERVAL_SECONDS = 900;

/** --inject-anomalies: each meter's source with its own labelled fault plan over --from to --until. */
function withInjectedAnomalies(
  options: RunOptions,
  meters: MeterBundle[],
  sources: ReadingSource[],
  span: { fromSeconds?: number; untilSeconds?: number },
  problems: string[],
): ReadingSource[] {
  if (options.injectAnomalies === undefined) {
    if (options.anomalySeed !== undefined) problems.push('--anomaly-seed goes with --inject-anomalies');
    return sources;
  }
  const { fromSeconds, untilSeconds } = span;
  if (fromSeconds === undefined || untilSeconds === undefined) {
    problems.push('--inject-anomalies needs --from and --until: the faults are spread over that span');
    return sources;
  }
  try {
    return sources.map((source, i) => {
      const meterId = meters[i]?.bundle.meterId ?? String(i);
      const seed = options.anomalySeed === undefined ? meterId : `${options.anomalySeed}:${meterId}`;
      const plan = planAnomalies(seed, {
        utility: source.utility,
        fromSeconds,
        toSeconds: untilSeconds,
        intervalSeconds: ANOMALY_PLAN_INTERVAL_SECONDS,
        kinds: parseAnomalyKinds(options.injectAnomalies ?? ''),
      });
      return new AnomalyInjectingSource(source, plan, ANOMALY_PLAN_INTERVAL_SECONDS);
    });
  } catch (err) {
    problems.push(`--inject-anomalies ${options.injectAnomalies}: ${(err as Error).message}`);
    return sources;
  }
}

/** One replay per meter: the chosen household, or the file's households in order, from --lcl-from. */
function buildLclSources(options: RunOptions, meters: MeterBundle[], problems: string[]): ReadingSource[] {
  const fromDaySeconds = lclFromDay(options.lclFrom, problems);
  if (!options.lclFile) {
    problems.push('--source lcl needs --lcl-file <csv> (a London LCL smart-meter file)');
    return [];
  }
  let households: LclHousehold[];
  try {
    households = [...parseLcl(readFileSync(options.lclFile, 'utf8')).values()];
  } catch (err) {
    problems.push(
      `--lcl-file ${options.lclFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
    return [];
  }
  if (options.lclId) {
    const chosen = households.find((household) => household.lclId === options.lclId);
    if (!chosen) {
      problems.push(
        `--lcl-id ${options.lclId} is not in ${options.lclFile} (it has ${households.map((h) => h.lclId).join(', ')})`,
      );
      return [];
    }
    households = [chosen];
  }
  households = households.slice(0, Math.max(1, meters.length));
  if (fromDaySeconds !== undefined) {
    const outside = households.filter((household) => {
      const { firstDay, lastDay } = lclDays(household);
      const inside = fromDaySeconds >= firstDay && fromDaySeconds <= lastDay;
      if (!inside)
        problems.push(
          `--lcl-from ${options.lclFrom} is not a day of LCL household ${household.lclId} in ${options.lclFile} (it has ${isoDay(firstDay)} to ${isoDay(lastDay)})`,
        );
      return !inside;
    });
    if (outside.length > 0) return [];
  }
  try {
    return meters.map((_, i) => new LclReplaySource(households[i % households.length], { fromDaySeconds }));
  } catch (err) {
    problems.push(`--lcl-file ${options.lclFile}: ${(err as Error).message}`);
    return [];
  }
}

/** --lcl-from: a calendar day, YYYY-MM-DD, as the UTC midnight the file's clock reads it at. */
function lclFromDay(text: string | undefined, problems: string[]): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Date.parse(`${text}T00:00:00Z`) / 1000;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(seconds) || isoDay(seconds) !== text) {
    problems.push(`--lcl-from must be a day of the LCL file like 2013-01-07 (got "${text}")`);
    return undefined;
  }
  return seconds;
}

function isoDay(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}
