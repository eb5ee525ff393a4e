import { Command, Option } from 'commander';
import { ProfileError } from '@smartmeter/client/dist/profile';
import { UsageError } from '@smartmeter/client/dist/errors';
import { startBroker } from './broker';
import {
  buildBrokerConfig,
  buildRunConfig,
  ConfigError,
  type BrokerCliOptions,
  type RunCliOptions,
  type RunConfig,
} from './config';
import { connectNetworkLedger } from './ledger';
import { createLogger, type Logger } from './log';
import { AggregatorService, defaultServiceConfig } from './service';

/** Exit codes: 0 stopped by a signal, 1 failed while running, 2 configuration. */
export const ExitCode = { Ok: 0, Failed: 1, Config: 2 } as const;

const env = (flags: string, description: string, variable: string, defaultValue?: string): Option => {
  const option = new Option(flags, description).env(variable);
  return defaultValue === undefined ? option : option.default(defaultValue);
};

export interface Runners {
  broker(options: BrokerCliOptions): Promise<number>;
  run(config: RunConfig): Promise<number>;
}

export function buildProgram(runners: Runners): Command {
  const program = new Command('aggregator')
    .description(
      'The untrusted aggregator of the aggregate privacy mode (docs/aggregation.md): an MQTT broker for the ' +
        "meters' pseudonymous grid shares, and the service that checks them, keeps them in a durable buffer and " +
        'submits each round to the ledger, which verifies every share again.',
    )
    .showHelpAfterError()
    .exitOverride();

  program
    .command('broker')
    .description(
      'run the embedded MQTT broker (TLS 1.2+): anyone may connect without credentials and publish shares to ' +
        'grid/<region>/shares (QoS 0/1, not retained, at most 2048 bytes) and nothing else; only user ' +
        '"aggregator" may subscribe, to grid/… filters',
    )
    .addOption(env('--host <address>', 'address to listen on', 'AGGREGATOR_BROKER_HOST', '127.0.0.1'))
    .addOption(env('--port <n>', 'port to listen on', 'AGGREGATOR_BROKER_PORT', '8883'))
    .addOption(
      env('--cert <pem>', "the broker's TLS certificate", 'AGGREGATOR_BROKER_CERT').makeOptionMandatory(),
    )
    .addOption(env('--key <pem>', 'its private key', 'AGGREGATOR_BROKER_KEY').makeOptionMandatory())
    .addOption(
      env(
        '--password-file <file>',
        "the aggregator's MQTT password (first line, mode 0600)",
        'AGGREGATOR_PASSWORD_FILE',
      ).makeOptionMandatory(),
    )
    .addHelpText(
      'after',
      '\nEvery refused connect, publish and subscribe is one JSON line on stdout (event broker.refused, with a\n' +
        'reason code); payloads are never logged. Eclipse Mosquitto with the same rules: aggregator/scripts/mosquitto.sh.\n' +
        '\nExample:\n' +
        '  aggregator broker --cert tls/broker.pem --key tls/broker-key.pem --password-file state/mqtt-password\n' +
        '  aggregator broker --host 0.0.0.0 --port 8883 --cert ... --key ... --password-file ...   # meters on the LAN',
    )
    .action(async (options: BrokerCliOptions) => {
      process.exitCode = await runners.broker(options);
    });

  program
    .command('run')
    .description(
      'run the aggregator service: read the shares from the broker (persistent session, QoS 1; a share is ' +
        'acknowledged only once it is on disk), check each as the Aggregation contract will, and submit and ' +
        'close each round (region, period) on the ledger',
    )
    .addOption(
      env(
        '--mqtt-url <url>',
        'the broker (also from MQTT_URL)',
        'AGGREGATOR_MQTT_URL',
        process.env.MQTT_URL ?? 'mqtts://127.0.0.1:8883',
      ),
    )
    .addOption(
      env(
        '--mqtt-ca <pem>',
        "CA certificate of the broker's TLS certificate (default: the system's)",
        'AGGREGATOR_MQTT_CA',
      ),
    )
    .addOption(
      env(
        '--password-file <file>',
        'the MQTT password of user "aggregator" (first line, mode 0600)',
        'AGGREGATOR_PASSWORD_FILE',
      ).makeOptionMandatory(),
    )
    .addOption(
      env(
        '--name <name>',
        "this aggregator's name: its MQTT client id is aggregator-<name>-<secret suffix>, its session persistent",
        'AGGREGATOR_NAME',
        'main',
      ),
    )
    .addOption(
      env(
        '--state-dir <dir>',
        'the durable buffer: open rounds, shares waiting for filters, closed rounds',
        'AGGREGATOR_STATE_DIR',
        './aggregator-state',
      ),
    )
    .addOption(
      env(
        '--collect-seconds <n>',
        "a round closes this long after its first share, or as soon as it holds 2 × the region's meters",
        'AGGREGATOR_COLLECT_SECONDS',
        String(defaultServiceConfig.collectSeconds),
      ),
    )
    .addOption(
      env(
        '--regions <list>',
        'comma-separated regions to take, each with those below it (default: all, grid/#)',
        'AGGREGATOR_REGIONS',
      ),
    )
    .addOption(
      env(
        '--filters-wait-seconds <n>',
        "how long a share waits (on disk) for its region's filters of the day to be published",
        'AGGREGATOR_FILTERS_WAIT_SECONDS',
        String(defaultServiceConfig.filtersWaitSeconds),
      ),
    )
    .addOption(
      env(
        '--filters-retry-seconds <n>',
        'how often the ledger is asked again for filters it did not have',
        'AGGREGATOR_FILTERS_RETRY_SECONDS',
        String(defaultServiceConfig.filtersRetrySeconds),
      ),
    )
    .addOption(
      env(
        '--concurrency <n>',
        'rounds submitted at the same time',
        'AGGREGATOR_CONCURRENCY',
        String(defaultServiceConfig.concurrency),
      ),
    )
    .addOption(
      env(
        '--profile <file>',
        'connection profile of the distributor (.network/profiles/<org>.json)',
        'AGGREGATOR_PROFILE',
      ).makeOptionMandatory(),
    )
    .addOption(
      env(
        '--identity-dir <dir>',
        'folder with cert.pem and key.pem of an identity with role=aggregator',
        'AGGREGATOR_IDENTITY_DIR',
      ),
    )
    .addOption(
      env(
        '--identity <name>',
        'else: an identity of the profile or of the meterctl keystore',
        'AGGREGATOR_IDENTITY',
      ),
    )
    .addOption(
      env(
        '--keystore <dir>',
        'the meterctl keystore (default: METERCTL_HOME, ~/.meterctl)',
        'AGGREGATOR_KEYSTORE',
      ),
    )
    .addOption(
      env(
        '--channel <name>',
        "the channel (default: the profile organization's only channel)",
        'AGGREGATOR_CHANNEL',
      ),
    )
    .addHelpText(
      'after',
      '\nLogs: one JSON line per event on stdout. share.dropped (reason MALFORMED, WRONG_REGION, NO_FILTERS,\n' +
        'WRONG_PERIOD, EARLY, FUTURE, LATE, NOT_IN_BF1, BAD_SIGNATURE, DUPLICATE, CONFLICT, ROUND_CLOSED,\n' +
        'REFUSED_BY_LEDGER, OVERLOADED), round.closed (status, load when COMPLETE), round.retry. Share values\n' +
        'are never logged. SIGTERM or SIGINT: stops; what is buffered is submitted by the next run.\n' +
        '\nExamples:\n' +
        '  aggregator run --profile .network/profiles/distributor1.json --identity-dir ~/.meterctl/identities/Distributor1MSP/aggregator \\\n' +
        '    --password-file state/mqtt-password --mqtt-ca tls/ca.pem --state-dir state/aggregator\n' +
        '  AGGREGATOR_PROFILE=... AGGREGATOR_IDENTITY=aggregator AGGREGATOR_PASSWORD_FILE=... aggregator run --regions north,south/d2\n' +
        '  aggregator run ... --collect-seconds 30 --channel northgrid',
    )
    .action(async (options: RunCliOptions) => {
      process.exitCode = await runners.run(buildRunConfig(options));
    });
  return program;
}

/** The broker until SIGTERM/SIGINT. */
export async function runBroker(options: BrokerCliOptions, log: Logger = createLogger()): Promise<number> {
  const config = buildBrokerConfig(options);
  const broker = await startBroker({ ...config, log });
  await untilSignalled(log);
  await broker.close();
  log.log('info', 'broker.stopped', 'broker stopped');
  return ExitCode.Ok;
}

/** The service until SIGTERM/SIGINT (exit 0) or a failure that makes going on unsafe (exit 1). */
export async function runService(config: RunConfig, log: Logger = createLogger()): Promise<number> {
  const connection = connectNetworkLedger(config.ledger);
  log.log('info', 'ledger.connected', `ledger: ${connection.description}`);
  const outcome = { failed: false };
  const stopped = new AbortController();
  const service = new AggregatorService(config.service, {
    ledger: connection.ledger,
    log,
    onFatal: () => {
      outcome.failed = true;
      stopped.abort();
    },
  });
  try {
    service.start();
    await untilSignalled(log, stopped.signal);
    await service.stop();
  } finally {
    connection.close();
  }
  return outcome.failed ? ExitCode.Failed : ExitCode.Ok;
}

/** Resolves on the first SIGTERM or SIGINT (or abort); a second signal exits at once, the buffer is durable. */
function untilSignalled(log: Logger, abort?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) process.exit(ExitCode.Failed);
      log.log('info', 'aggregator.signal', `${signal}: stopping`);
      finish();
    };
    const finish = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    abort?.addEventListener('abort', finish, { once: true });
  });
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram({
    broker: (options) => runBroker(options),
    run: (config) => runService(config),
  });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return ExitCode.Ok;
    if (code?.startsWith('commander.')) return ExitCode.Config;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`aggregator: ${message}\n`);
    if (err instanceof ConfigError || err instanceof ProfileError || err instanceof UsageError)
      return ExitCode.Config;
    return ExitCode.Failed;
  }
}
