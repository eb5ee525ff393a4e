import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoDir } from './network';

/** Runs the built meterctl as a process: exit code, stdout and stderr as the user sees them. */
const execFileAsync = promisify(execFile);
export const meterctlPath = join(repoDir, 'client', 'dist', 'cli.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function meterctl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync('node', [meterctlPath, ...args], {
      env: { ...process.env, METERCTL_PROFILE: '', REPORT_DB_URL: '', ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** meterctl's JSON result, failing the test with stderr if the command did not succeed. */
export async function meterctlJson<T>(args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const result = await meterctl(['--json', ...args], env);
  if (result.code !== 0)
    throw new Error(`meterctl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Starts meterctl and kills it with SIGKILL as soon as its stderr matches, like a crash at that point. */
export function meterctlKilledWhen(
  args: string[],
  pattern: RegExp,
): Promise<CliResult & { killed: boolean }> {
  return new Promise((resolveResult) => {
    const child = spawn('node', [meterctlPath, ...args], {
      env: { ...process.env, METERCTL_PROFILE: '', REPORT_DB_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
      if (!killed && pattern.test(stderr)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('close', (code) => {
      resolveResult({ code: code ?? -1, stdout, stderr, killed });
    });
  });
}
