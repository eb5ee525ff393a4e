import { Command, Option } from 'commander';
import { setMaxListeners } from 'node:events';
import type { MeterBundle } from './bundle';
import { buildRunConfig, ConfigError, resolveIdentityDir, type RunConfig, type RunOptions } from './config';
import { enrollMeter, EnrollError } from './enroll';
import { runFleet, type FleetSummary } from './fleet';
import { createLogger, type Logger } from './log';

/** Exit codes: 0 done or stopped, 1 a meter could not go on, 2 configuration. */
export const ExitCode = { Ok: 0, Failed: 1, Config: 2 } as const;

function withRunOptions(command: Command): Command {
  const option = (flags: string, description: string, env: string, defaultValue?: string) => {
    const o = new Option(flags, description).env(env);
    return defaultValue === undefined ? o : o.default(defaultValue);
  };
  return command
    .addOption(
      option(
        '-b, --bundle <file...>',
        'pair bundle(s) from "meterctl meter pair-bundle"',
        'METER_SIM_BUNDLE',
      ),
    )
    .addOption(
      option(
        '--bundle-dir <dir>',
        'run a meter for each *.json bundle in this folder',
        'METER_SIM_BUNDLE_DIR',
      ),
    )
    .addOption(option('--meters <n>', 'run only the first n bundles (load generation)', 'METER_SIM_METERS'))
    .addOption(
      option(
        '--state-dir <dir>',
        'where outboxes live (one folder per subscription)',
        'METER_SIM_STATE_DIR',
        './meter-state',
      ),
    )
    .addOption(
      option(
        '--identity-dir <dir>',
        "where meter-sim enroll keeps the meters' own identities (default: <state-dir>/identity)",
        'METER_SIM_IDENTITY_DIR',
      ),
    )
    .addOption(
      option(
        '--source <kind>',
        'household (synthetic) or lcl (replay a London LCL CSV)',
        'METER_SIM_SOURCE',
        'household',
      ),
    )
    .addOption(
      option(
        '--utility <utility>',
        'electricity (Wh), gas or water (litres)',
        'METER_SIM_UTILITY',
        'electricity',
      ),
    )
    .addOption(option('--lcl-file <csv>', 'LCL file to replay with --source lcl', 'METER_SIM_LCL_FILE'))
    .addOption(
      option(
        '--lcl-id <LCLid>',
        'household of the LCL file (default: one per meter, in file order)',
        'METER_SIM_LCL_ID',
      ),
    )
    .addOption(
      option(
        '--lcl-from <date>',
        "the file day (YYYY-MM-DD) that plays on the subscription's first day; the next day plays the file's " +
          'next day, and so on (default: the first day of the household in the file)',
        'METER_SIM_LCL_FROM',
      ),
    )
    .addOption(
      option('--seed <text>', 'seed of the synthetic household (default: the meter id)', 'METER_SIM_SEED'),
    )
    .addOption(
      option(
        '--inject-anomalies <kinds>',
        'inject labelled meter faults, one of each kind given (spike, leak, stuck, drop; leak for gas and water ' +
          'only), at seeded times between --from and --until, which it needs; readings stay "measured"',
        'METER_SIM_INJECT_ANOMALIES',
      ),
    )
    .addOption(
      option(
        '--anomaly-seed <text>',
        'seed of the fault plan with --inject-anomalies (default: the meter id)',
        'METER_SIM_ANOMALY_SEED',
      ),
    )
    .addOption(
      option(
        '--utc-offset <minutes>',
        "household's local time minus UTC, for where daily peaks fall",
        'METER_SIM_UTC_OFFSET',
        '0',
      ),
    )
    .addOption(
      option(
        '--speed <factor>',
        'simulated time runs this many times faster, up to the present (1440: a day a minute)',
        'METER_SIM_SPEED',
        '1',
      ),
    )
    .addOption(
      option(
        '--from <time>',
        'first simulated period (default: the subscription start, or where the outbox left off)',
        'METER_SIM_FROM',
      ),
    )
    .addOption(
      option(
        '--until <time>',
        'stop once every period ending by this simulated time is on the ledger',
        'METER_SIM_UNTIL',
      ),
    )
    .addOption(
      option(
        '--max-jitter <seconds>',
        'submit up to this long after a period ends (at most a quarter interval)',
        'METER_SIM_MAX_JITTER',
        '60',
      ),
    )
    .addOption(
      option(
        '--batch-size <n>',
        'readings per transaction when catching up (1-96)',
        'METER_SIM_BATCH_SIZE',
        '96',
      ),
    )
    .addOption(
      option(
        '--refresh <seconds>',
        'how often to re-read the subscription (interval changes, end)',
        'METER_SIM_REFRESH',
        '60',
      ),
    )
    .addOption(
      option(
        '--health-seconds <seconds>',
        'report battery (simulated), free disk, free memory and uptime this often (real seconds), at once on ' +
          'start; a meter that stops is found by meterctl device health; 0: never',
        'METER_SIM_HEALTH_SECONDS',
        '300',
      ),
    )
    .addOption(
      option(
        '--config-poll-seconds <seconds>',
        'read the latest device configuration this often (real seconds): urgent and security versions are ' +
          'applied when read, routine ones at the next --refresh; 0: never (aggregate-mode meters never do)',
        'METER_SIM_CONFIG_POLL_SECONDS',
        '5',
      ),
    )
    .addOption(
      option(
        '--wallet-poll-seconds <seconds>',
        'prepaid (either mode): re-read the wallet this often (real seconds, whatever --speed) and follow its ' +
          'supply state: on, power-saving (each period capped at the limit) or off (0 measured); 10 × as long ' +
          'while the subscription has no wallet; 0: never',
        'METER_SIM_WALLET_POLL_SECONDS',
        '60',
      ),
    )
    .addOption(
      option(
        '--mqtt-url <url>',
        'aggregate mode: the broker grid shares go to (anonymous; mqtts://, or mqtt:// for tests)',
        'MQTT_URL',
        'mqtts://127.0.0.1:8883',
      ),
    )
    .addOption(
      option(
        '--mqtt-ca <pem>',
        "aggregate mode: CA certificate the broker's TLS certificate must chain to (default: the system's)",
        'METER_SIM_MQTT_CA',
      ),
    )
    .addOption(
      option(
        '--mqtt-connection <mode>',
        'aggregate mode: per-share (each share over its own new connection, so the broker cannot link a ' +
          "meter's pseudonyms by connection) or persistent (one connection per meter: fewer TLS handshakes, but " +
          "the broker can link all of a meter's shares, of every period, by the connection they came over)",
        'METER_SIM_MQTT_CONNECTION',
        'per-share',
      ),
    )
    .addOption(
      option(
        '--share-window <seconds>',
        'aggregate mode, live: each share goes at a random moment this long after its period ends',
        'METER_SIM_SHARE_WINDOW',
        '240',
      ),
    )
    .addOption(
      option(
        '--min-share-gap <seconds>',
        "aggregate mode, live: a period's two shares go at least this far apart",
        'METER_SIM_MIN_SHARE_GAP',
        '20',
      ),
    )
    .addOption(
      new Option('--json-logs', 'one JSON object per line (for journald and log shippers)').env(
        'METER_SIM_JSON_LOGS',
      ),
    );
}

export function buildProgram(onRun: (config: RunConfig) => Promise<number>): Command {
  const program = new Command('meter-sim')
    .description(
      'The smart meter: measures (a synthetic household or a replayed LCL file), encrypts each reading with ' +
        "the subscription's session key, keeps it in a durable outbox and submits it through the Fabric gateway. " +
        'In aggregate privacy mode it instead splits each reading into two masked, pseudonymous grid shares and ' +
        'publishes them to an MQTT broker (docs/aggregation.md).',
    )
    .showHelpAfterError()
    .exitOverride();
  withRunOptions(
    program
      .command('run', { isDefault: true })
      .description('run the meter(s) until the subscription ends, --until, or SIGTERM'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  meter-sim run --bundle meter.json\n' +
        '  meter-sim run --bundle meter.json --speed 43200 --until 2026-02-01T00:00:00Z   # a month in about a minute\n' +
        '  meter-sim run --bundle meter.json --source lcl --lcl-file meter-sim/data/lcl-sample.csv\n' +
        '  meter-sim run --bundle meter.json --source lcl --lcl-file meter-sim/data/lcl-sample.csv --lcl-id MAC000002 --lcl-from 2013-01-09\n' +
        '  meter-sim run --bundle-dir bundles/ --meters 100 --json-logs\n' +
        '  meter-sim run --bundle meter.json --utility gas --inject-anomalies spike,leak,stuck,drop --from 2026-01-01T00:00:00Z --until 2026-01-31T00:00:00Z --speed 43200\n' +
        '  meter-sim run --bundle meter.json --wallet-poll-seconds 15   # a prepaid meter that follows top-ups sooner\n' +
        '  meter-sim run --bundle meter.json --wallet-poll-seconds 0    # never read the wallet: the supply stays on\n' +
        '  meter-sim run --bundle meter.json --mqtt-url mqtts://aggregator.example:8883 --mqtt-ca broker-ca.pem\n' +
        '\nAggregate privacy mode (the subscription says so; the meter reads it at start): the meter neither pairs\n' +
        'nor transacts. Each period it splits the reading into two masked shares under one-period pseudonyms and\n' +
        'publishes them, anonymously (no credentials, a fresh random client id per connection), to\n' +
        'grid/<region>/shares at QoS 1, each over a connection of its own (--mqtt-connection per-share; up to 4\n' +
        'at once when catching up). Live, each share goes at its own random second within --share-window\n' +
        'after the period, --min-share-gap apart; at --speed > 1 or when catching up, at once, in random order.\n' +
        'Shares wait in <state-dir>/<subscription>/shares.jsonl until the broker acknowledges them.\n' +
        '\nPrepaid (disclosed mode only; the subscription has a wallet): the meter reads its wallet at start and\n' +
        'every --wallet-poll-seconds and follows the supply state the ledger keeps: off, it reports 0 for each\n' +
        'period (so the ledger still shows the period covered); power-saving, each period at most\n' +
        'powerSavingLimitW × interval / 3600 (Wh, or litres for gas and water); on, what it measures. Each\n' +
        'change is one line, e.g. "supply: power-saving (power-saving-threshold, balance 1.50 GBP)". When the\n' +
        'wallet cannot be read the meter keeps the last state, warns once, and goes on measuring.',
    )
    .action(async (options: RunOptions) => {
      process.exitCode = await onRun(buildRunConfig(options));
    });
  withRunOptions(
    program.command('check').description('check the configuration and bundles without touching the network'),
  ).action((options: RunOptions) => {
    const config = buildRunConfig(options);
    for (const [i, meter] of config.meters.entries()) {
      const b = meter.bundle;
      process.stdout.write(
        `ok: meter ${b.meterId} (${b.mspId}) → ${b.subscriptionId} on ${b.channel} via ${b.peer.endpoint}; ${config.sources[i].description}; ${modeOf(meter, config)}\n`,
      );
    }
  });
  program
    .command('enroll')
    .description(
      "make the meter's own key and enroll it at its CA with the one-time secret; the key never leaves the meter",
    )
    .addOption(
      new Option('-b, --bundle <file>', 'pair bundle from "meterctl meter pair-bundle"')
        .env('METER_SIM_BUNDLE')
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--state-dir <dir>', 'the state folder the meter runs with')
        .env('METER_SIM_STATE_DIR')
        .default('./meter-state'),
    )
    .addOption(
      new Option('--identity-dir <dir>', 'where to keep the identity (default: <state-dir>/identity)').env(
        'METER_SIM_IDENTITY_DIR',
      ),
    )
    .addOption(
      new Option(
        '--enrollment-id <id>',
        'the name the meter was registered under (default: its meter id)',
      ).env('METER_SIM_ENROLLMENT_ID'),
    )
    .addOption(
      new Option('--secret <secret>', 'the one-time enrollment secret (prefer the environment variable)')
        .env('METER_SIM_ENROLLMENT_SECRET')
        .makeOptionMandatory(),
    )
    .addHelpText(
      'after',
      '\nExample:\n  METER_SIM_ENROLLMENT_SECRET=5f0c... meter-sim enroll --bundle /etc/meter-sim/pair-bundle.json --state-dir /var/lib/meter-sim',
    )
    .action(
      async (options: {
        bundle: string;
        stateDir: string;
        identityDir?: string;
        enrollmentId?: string;
        secret: string;
      }) => {
        const result = await enrollMeter({
          bundlePath: options.bundle,
          identityDir: resolveIdentityDir(options),
          enrollmentId: options.enrollmentId,
          secret: options.secret,
        });
        process.stdout.write(
          `enrolled meter ${result.meterId} at ${result.caName}: certificate ${result.certPath}, private key ${result.keyPath} (0600)\n`,
        );
      },
    );
  return program;
}

/** What `check` can say about the privacy mode without the network: the bundle's word, if it has one. */
function modeOf(meter: MeterBundle, config: RunConfig): string {
  const broker =
    `${config.mqtt.url}${config.mqtt.caPem === undefined ? '' : ' (CA from --mqtt-ca)'}, ` +
    (config.mqtt.connection === 'persistent' ? 'one connection for all shares' : 'one connection per share');
  if (meter.privacyMode === 'aggregate') return `mode aggregate: shares to ${broker}`;
  if (meter.privacyMode === 'disclosed') return 'mode disclosed: sealed readings to the ledger';
  return `mode: the subscription's, read at start (disclosed: readings to the ledger; aggregate: shares to ${broker})`;
}

/** Runs the fleet until done or SIGTERM/SIGINT; a second signal exits at once (the outbox is durable). */
export async function runUntilSignalled(
  config: RunConfig,
  log: Logger = createLogger(config.jsonLogs),
): Promise<number> {
  const controller = new AbortController();
  // Every meter of the fleet waits on this one signal (a sleep, a pending submission): no leak warning for that.
  setMaxListeners(0, controller.signal);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(ExitCode.Failed);
    log.log('info', 'meter.signal', `${signal}: finishing the current submission, then stopping`);
    controller.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const cpuBefore = process.cpuUsage();
  try {
    const summary = await runFleet(config, log, controller.signal);
    logSummary(log, summary, process.cpuUsage(cpuBefore));
    return summary.outcomes.includes('failed') ? ExitCode.Failed : ExitCode.Ok;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

function logSummary(log: Logger, summary: FleetSummary, cpu: NodeJS.CpuUsage): void {
  const { stats } = summary;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  const perReading = stats.generated > 0 ? cpuMs / stats.generated : 0;
  log.log(
    'info',
    'summary',
    `${summary.outcomes.length} meter(s): ${stats.generated} readings measured, ${stats.committed} stored` +
      ` + ${stats.alreadyOnLedger} already on the ledger, ${stats.dropped} dropped, ${stats.transactions} transactions;` +
      (stats.sharesPublished + stats.sharesDropped > 0
        ? ` ${stats.sharesPublished} grid shares published, ${stats.sharesDropped} dropped;`
        : '') +
      ` cpu ${(cpuMs / 1000).toFixed(2)} s (${perReading.toFixed(2)} ms per reading), max RSS ${maxRssMb.toFixed(1)} MB`,
    {
      meters: summary.outcomes.length,
      outcomes: summary.outcomes.join(','),
      ...stats,
      cpuMs: Math.round(cpuMs),
      maxRssMb: Math.round(maxRssMb * 10) / 10,
    },
  );
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram((config) => runUntilSignalled(config));
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return ExitCode.Ok;
    if (code?.startsWith('commander.')) return ExitCode.Config;
    if (err instanceof ConfigError) {
      process.stderr.write(`meter-sim: ${err.message}\n`);
      return ExitCode.Config;
    }
    if (err instanceof EnrollError) {
      process.stderr.write(`meter-sim: ${err.message}\n`);
      return ExitCode.Failed;
    }
    process.stderr.write(`meter-sim: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.Failed;
  }
}
