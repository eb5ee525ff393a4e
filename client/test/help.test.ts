import type { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { buildProgram } from '../src/cli';
import { TestWorld } from './commands/support/world';

/** Every command of the tree, root first, with the words that name it after "meterctl". */
function everyCommand(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  return [
    { path, command },
    ...command.commands.flatMap((child) => everyCommand(child, [...path, child.name()])),
  ];
}

const commands = everyCommand(buildProgram());

/** Commander's help of a command, as main prints it for `meterctl <path> --help`. */
function expectCommanderHelp(stdout: string, path: string[], command: Command): void {
  const usage = `Usage: ${['meterctl', ...path].join(' ')} ${command.usage()}`;
  expect(stdout.split('\n')[0]).toBe(usage);
  // Commander wraps the description to the width of the output.
  expect(stdout.replace(/\s+/g, ' ')).toContain(` ${command.description().replace(/\s+/g, ' ')} Options: `);
  expect(stdout).toMatch(/\nOptions:\n/);
  expect(stdout).toMatch(/\nExamples?:\n {2}meterctl \S/);
  expect(stdout).not.toMatch(/--version +Show version number/);
}

describe('meterctl --help for every command', () => {
  it('the tree holds the root, every group and every command', () => {
    expect(commands.length).toBeGreaterThan(60);
    expect(commands.filter((c) => c.path.length === 1).map((c) => c.path[0])).toEqual([
      'profile',
      'identity',
      'keys',
      'subscription',
      'meter',
      'readings',
      'personal-data',
      'tariff',
      'price-signal',
      'price-policy',
      'grid',
      'ping',
      'bill',
      'wallet',
      'report',
      'anomalies',
      'device',
      'serve',
    ]);
  });

  it.each(commands.map(({ path, command }) => [['meterctl', ...path].join(' '), path, command] as const))(
    'when `%s --help` is run then commander prints its usage, description and an example (exit 0)',
    async (_name, path, command) => {
      const world = new TestWorld();

      const result = await world.run(...path, '--help');

      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expectCommanderHelp(result.stdout, path, command);
      expect(world.calls).toEqual([]);
    },
  );

  it('when `meterctl help <group>` or `meterctl <group> help <command>` is run then it prints the same help as --help', async () => {
    const world = new TestWorld();

    expect(await world.run('help', 'bill')).toEqual(await world.run('bill', '--help'));
    const viaHelp = await world.run('bill', 'help', 'pay');
    expect(viaHelp).toEqual(await world.run('bill', 'pay', '--help'));
    expect(viaHelp.stdout).toMatch(/^Usage: meterctl bill pay \[options\] <billId>\n/);
    expect((await world.run('help')).stdout).toMatch(/^Usage: meterctl \[options\] \[command\]\n/);
  });
});

describe('meterctl --help as a process', () => {
  const repo = join(__dirname, '..', '..');

  beforeAll(() => {
    // The built CLI, as users run it: a dependency loaded at start (fabric-ca-client's nconf and its yargs)
    // would answer --help itself with "Options: --help --version".
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', 'client'], { cwd: repo });
  });

  it('when the built cli.js is loaded then fabric-ca-client, fabric-common, nconf and yargs are not', () => {
    const script = `require(${JSON.stringify(join(repo, 'client', 'dist', 'cli.js'))});
      const loaded = Object.keys(require.cache).filter((m) => /node_modules\\/(fabric-ca-client|fabric-common|nconf|yargs)\\//.test(m));
      process.stdout.write(JSON.stringify(loaded));`;

    expect(JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))).toEqual([]);
  });

  it.each([[[]], [['bill']], [['identity', 'enroll']], [['report', 'sync']]])(
    'when node client/dist/cli.js %j --help is run then commander prints the usage, not yargs',
    (path: string[]) => {
      const stdout = execFileSync(
        process.execPath,
        [join(repo, 'client', 'dist', 'cli.js'), ...path, '--help'],
        {
          encoding: 'utf8',
          env: { ...process.env, METERCTL_PROFILE: '' },
        },
      );

      expect(stdout).toMatch(new RegExp(`^Usage: ${['meterctl', ...path].join(' ')} \\[options\\]`));
      expect(stdout).toMatch(/\nExamples?:\n {2}meterctl /);
      expect(stdout).not.toMatch(/Show version number/);
    },
  );
});
