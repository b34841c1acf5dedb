/**
 * The `tessera` client commands as a user runs them: a real child process
 * (`node --import tsx src/cli/main.ts ...`, as the other process tests start it) against a test
 * server on a real port, with a config folder of its own (XDG_CONFIG_HOME) so no test reads or
 * writes the user's. Every command's output feeds the leak scan: standard error never holds a
 * token or a value, nor does standard output unless the command exists to print one (`reveal`,
 * `export`, a new key's token), which the caller says with `prints`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, REPO_ROOT, TESSERA_CLI } from './child-server.js';
import { assertNoLeaks } from './sensitive.js';

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Written to the command's standard input (then closed); none: standard input is empty. */
  input?: string;
  /** More environment (or a variable emptied with ''). */
  env?: Record<string, string>;
  /** Standard output prints a value or token by design: not scanned. */
  prints?: boolean;
  timeoutMs?: number;
}

export interface Cli {
  /** The config folder the commands use (XDG_CONFIG_HOME). */
  readonly configHome: string;
  readonly env: Record<string, string>;
  run(args: string[], options?: CliOptions): Promise<CliResult>;
  /** The child itself, for signal tests; `done` resolves as `run` does. */
  spawn(args: string[], options?: CliOptions): { child: ChildProcess; done: Promise<CliResult> };
}

/** A CLI for `baseUrl` with `token` in TESSERA_URL/TESSERA_TOKEN (none: the stored login is used). */
export function clientCli(baseUrl: string | undefined, token?: string): Cli {
  const configHome = mkdtempSync(join(tmpdir(), 'tessera-client-config-'));
  const env: Record<string, string> = {
    XDG_CONFIG_HOME: configHome,
    ...(baseUrl === undefined ? {} : { TESSERA_URL: baseUrl }),
    ...(token === undefined ? {} : { TESSERA_TOKEN: token }),
  };
  const start = (args: string[], options: CliOptions = {}) => {
    const child = spawn(process.execPath, [...TESSERA_CLI, ...args], {
      cwd: REPO_ROOT,
      env: childEnv({ ...env, ...options.env }),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin?.end(options.input ?? '');
    const done = new Promise<CliResult>((resolve, fail) => {
      child.once('error', fail);
      child.once('close', (status, signal) => {
        const what = `tessera ${args.slice(0, 2).join(' ')}`;
        try {
          assertNoLeaks([
            { where: `standard error of ${what}`, content: stderr },
            ...(options.prints === true ? [] : [{ where: `standard output of ${what}`, content: stdout }]),
          ]);
        } catch (error) {
          return fail(error);
        }
        resolve({ status, signal, stdout, stderr });
      });
    });
    return { child, done };
  };
  return {
    configHome,
    env,
    run: (args, options) => start(args, options).done,
    spawn: start,
  };
}
