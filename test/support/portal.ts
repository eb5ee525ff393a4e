import { spawn, type ChildProcess } from 'node:child_process';
import { meterctlPath } from './meterctl';

/** What `meterctl serve --json` prints once it listens. */
export interface ServeLaunch {
  url: string;
  loginUrl: string;
  party: string;
  identity: string;
  channel: string;
}

/** `meterctl serve` as a user starts it: a process of its own, on a free loopback port, stopped with SIGTERM. */
export class ServeProcess {
  readonly child: ChildProcess;
  readonly launched: Promise<ServeLaunch>;
  stderr = '';
  private readonly exited: Promise<number | null>;

  /** args: meterctl's global options; serveArgs: serve's own (--db-name, ...). */
  constructor(args: string[], env: NodeJS.ProcessEnv = {}, serveArgs: string[] = []) {
    this.child = spawn('node', [meterctlPath, '--json', ...args, 'serve', '--port', '0', ...serveArgs], {
      env: { ...process.env, METERCTL_PROFILE: '', REPORT_DB_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        resolve(code);
      });
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.launched = new Promise((resolve, reject) => {
      let stdout = '';
      this.child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        try {
          resolve(JSON.parse(stdout) as ServeLaunch);
        } catch {
          // Not the whole JSON yet.
        }
      });
      void this.exited.then((code) => {
        reject(new Error(`meterctl serve exited ${String(code)}: ${this.stderr}`));
      });
    });
    // A test that fails before awaiting this launch must not leave an unhandled rejection for the next file.
    this.launched.catch(() => undefined);
  }

  /** Ctrl-C's SIGTERM: resolves to the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}
