import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Child, freePort, ORPHAN_GUARD, spawnChild, waitUntilHealthy } from './children.js';

/**
 * Tessera as a child process of a load run (the bench and the soak): built first and run as
 * `npm start` runs it, or from src/ through tsx.
 */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type Runner = 'dist' | 'tsx';

/**
 * `npm run build`, so the child runs compiled code as in production. If the build fails (src/ may
 * be mid-edit; tsx compiles file by file without type-checking) the run falls back to tsx and
 * says so.
 */
export function buildOrFallBack(log: (line: string) => void): { runner: Runner; note?: string } {
  log('building (npm run build) …');
  const build = spawnSync('npm', ['run', 'build', '--silent'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 300_000,
  });
  if (build.status === 0) return { runner: 'dist' };
  const note = 'npm run build failed: Tessera ran from src/ through tsx instead';
  log(`WARNING: ${note}`);
  return { runner: 'tsx', note };
}

/** The parent's environment without anything that configures Tessera or Node (the child gets only what it is given). */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('TESSERA_') || name === 'DATABASE_URL' || name === 'REDIS_URL') continue;
    if (name === 'NODE_OPTIONS' || name.startsWith('BENCH_') || name.startsWith('SOAK_')) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

export interface TesseraChild {
  child: Child;
  base: string;
  startupMs: number;
}

export interface TesseraChildOptions {
  runner: Runner;
  label: string;
  /** The TESSERA_* (and DATABASE_URL) variables of the child. */
  env: Record<string, string>;
  logFile: string;
  /** More `--import` modules for the child (e.g. lib/memory-reporter.mjs). */
  imports?: string[];
  /** Flags for node itself, before everything else (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
  startTimeoutMs?: number;
}

/** Starts `tessera serve` on a free loopback port and waits for /healthz. */
export async function startTesseraChild(options: TesseraChildOptions): Promise<TesseraChild> {
  const port = await freePort();
  const imports = [ORPHAN_GUARD, ...(options.imports ?? [])].flatMap((file) => [
    '--import',
    pathToFileURL(file).href,
  ]);
  const entry =
    options.runner === 'dist'
      ? [...imports, join(ROOT, 'bin', 'tessera.js'), 'serve']
      : ['--import', 'tsx', ...imports, join(ROOT, 'src', 'cli', 'main.ts'), 'serve'];
  const args = [...(options.nodeFlags ?? []), ...entry];
  const since = performance.now();
  const child = spawnChild(`tessera (${options.label})`, process.execPath, args, {
    cwd: ROOT,
    env: childEnv({ ...options.env, TESSERA_HOST: '127.0.0.1', TESSERA_PORT: String(port) }),
    logFile: options.logFile,
  });
  const base = `http://127.0.0.1:${port}`;
  const startupMs = await waitUntilHealthy(child, `${base}/healthz`, since, options.startTimeoutMs ?? 60_000);
  return { child, base, startupMs };
}
