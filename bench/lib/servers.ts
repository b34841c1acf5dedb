import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Child, freePort, ORPHAN_GUARD, spawnChild, stopChild, waitUntilHealthy } from './children.js';
import { isEnding } from './lifetime.js';
import { log } from './log.js';
import type { BenchOptions } from './options.js';
import { formatProfile, summarizeProfiles, type Window } from './profile.js';
import type { ServerProfile } from './results.js';
import { buildOrFallBack, childEnv, ROOT, type Runner, startTesseraChild } from './tessera-child.js';

/** A server under load: the bare baseline, a calibration server, or Tessera. */
export interface Server {
  child: Child;
  base: string;
  startupMs: number;
  /** The folder of its CPU profiles (one file per process: a cluster writes several). */
  profile: string | undefined;
  /** A bare Fastify server (the baseline, or a calibration server): no RSS, no profile windows. */
  bare: boolean;
}

export interface TesseraConfig {
  label: string;
  dataDir: string;
  masterKey: string;
  bootstrapToken: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** TESSERA_DB_POOL_SIZE (BENCH_PG_POOL_SIZE); unset: Tessera's default. */
  poolSize?: number;
  /** TESSERA_WORKERS: a primary process forking this many workers that share the port. */
  workers?: number;
  startTimeoutMs?: number;
}

/**
 * `dist` (the default) builds first, so Tessera runs as `npm start` runs it: compiled, plain node.
 * A failed build falls back to tsx, with a note for the report.
 */
export function prepareRunner(options: BenchOptions): { runner: Runner; note?: string } {
  if (options.runner !== 'dist') return { runner: options.runner };
  if (!options.build) {
    log('BENCH_BUILD=0: using dist/ as it is');
    return { runner: 'dist' };
  }
  const built = buildOrFallBack(log);
  return built.note === undefined ? built : { ...built, note: `${built.note} (start-up includes tsx)` };
}

const hrtimeUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Starts and stops the bench's servers, and keeps what outlives one of them: the stretches of its
 * measured load (to cut its CPU profile by scenario) and the profile summaries made as it stops.
 */
export class Servers {
  /** The measured stretch of each scenario, per server process. */
  private readonly windows = new Map<Child, Window[]>();
  /** Servers being stopped: any other exit is unexpected. */
  private readonly stopping = new Set<Child>();
  private readonly profiles: Record<string, ServerProfile> = {};
  private started = 0;

  constructor(
    private readonly options: BenchOptions,
    readonly runner: Runner,
    private readonly resultsDir: string,
    private readonly logsDir: string,
  ) {}

  /** A server of bench/servers/ (`script`), e.g. the bare baseline; `label` names it and its log. */
  async startBare(script: string, label: string, extraEnv: Record<string, string> = {}): Promise<Server> {
    const port = await freePort();
    const since = performance.now();
    const child = spawnChild(
      label,
      process.execPath,
      ['--import', pathToFileURL(ORPHAN_GUARD).href, join(ROOT, 'bench', 'servers', script)],
      {
        cwd: ROOT,
        env: childEnv({ ...extraEnv, PORT: String(port) }),
        logFile: join(this.logsDir, `${label}.log`),
      },
    );
    const base = `http://127.0.0.1:${port}`;
    const startupMs = await waitUntilHealthy(child, `${base}/healthz`, since, 30_000);
    this.reportUnexpectedExit(child);
    return { child, base, startupMs, profile: undefined, bare: true };
  }

  /**
   * The fleet phase's delaying TCP proxy to `target`, as a process of its own
   * (bench/lib/delay-proxy-child.ts); resolves once it accepts connections.
   */
  async startDelayProxy(
    target: { host: string; port: number },
    delayMs: number,
    label: string,
  ): Promise<{ port: number; stop: () => Promise<void> }> {
    const port = await freePort();
    const child = spawnChild(
      label,
      process.execPath,
      [
        '--import',
        pathToFileURL(ORPHAN_GUARD).href,
        '--import',
        'tsx',
        join(ROOT, 'bench', 'lib', 'delay-proxy-child.ts'),
        target.host,
        String(target.port),
        String(delayMs),
        String(port),
      ],
      { cwd: ROOT, env: childEnv({}), logFile: join(this.logsDir, `${label}.log`) },
    );
    await waitUntilListening(child, port, 30_000);
    this.reportUnexpectedExit(child);
    return {
      port,
      stop: async () => {
        this.stopping.add(child);
        await stopChild(child);
      },
    };
  }

  async startTessera(config: TesseraConfig): Promise<Server> {
    const number = ++this.started;
    // A folder per server and node's own file names (they carry the pid): cluster workers inherit
    // the primary's flags, and one --cpu-prof-name would make every process write the same file.
    const profileDir = join(this.resultsDir, 'profiles', `tessera-${config.label}-${number}`);
    const spawnedUs = hrtimeUs();
    const { child, base, startupMs } = await startTesseraChild({
      runner: this.runner,
      label: config.label,
      nodeFlags: this.options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
      env: {
        TESSERA_DATA_DIR: config.dataDir,
        TESSERA_MASTER_KEY: config.masterKey,
        TESSERA_BOOTSTRAP_TOKEN: config.bootstrapToken,
        // The highest the configuration accepts: far above what one key draws in a scenario.
        TESSERA_RATE_LIMIT_PER_MINUTE: '1000000',
        TESSERA_LOG_LEVEL: this.options.logLevel,
        ...(this.options.metrics ? { TESSERA_METRICS_TOKEN: 'bench-metrics-token-0123456789abcdef' } : {}),
        ...(config.databaseUrl === undefined ? {} : { DATABASE_URL: config.databaseUrl }),
        ...(config.redisUrl === undefined ? {} : { REDIS_URL: config.redisUrl }),
        ...(config.poolSize === undefined ? {} : { TESSERA_DB_POOL_SIZE: String(config.poolSize) }),
        ...(config.workers === undefined ? {} : { TESSERA_WORKERS: String(config.workers) }),
      },
      logFile: join(this.logsDir, `tessera-${config.label}-${number}.log`),
      ...(config.startTimeoutMs === undefined ? {} : { startTimeoutMs: config.startTimeoutMs }),
    });
    this.reportUnexpectedExit(child);
    this.windows.set(child, [
      { label: `start-up of tessera (${config.label})`, startUs: spawnedUs, endUs: hrtimeUs() },
    ]);
    return { child, base, startupMs, profile: this.options.cpuProf ? profileDir : undefined, bare: false };
  }

  /** A scenario's measured stretch on `server`, replacing an earlier attempt's of the same label. */
  recordWindow(server: Server, window: Window) {
    if (server.bare) return;
    const kept = (this.windows.get(server.child) ?? []).filter((w) => w.label !== window.label);
    this.windows.set(server.child, [...kept, window]);
  }

  /** Stops the server; under BENCH_CPU_PROF, summarises its profile by scenario into profiles/<label>.txt. */
  async stop(server: Server, label: string) {
    this.stopping.add(server.child);
    const code = await stopChild(server.child);
    if (code !== 0 && code !== 'SIGTERM')
      log(`${server.child.name} exited with ${code}:\n${server.child.output()}`);
    if (server.profile === undefined) return;
    try {
      const files = profileFiles(server.profile);
      if (files.length === 0) throw new Error(`no .cpuprofile file in ${server.profile}`);
      // A cluster's processes are summed up into one summary: its workers all run the same code.
      const summary = summarizeProfiles(files, 30, this.windows.get(server.child) ?? []);
      this.profiles[label] = { ...summary, processes: files.length };
      const whole =
        files.length === 1 ? 'whole process' : `all ${files.length} processes (primary and workers) added up`;
      const sections = [formatProfile(summary, `${label}: ${whole} (start-up and set-up included)`)];
      for (const window of summary.windows) {
        sections.push(
          formatProfile({ ...window, functions: window.functions.slice(0, 25) }, window.label, 12),
        );
      }
      const file = join(this.resultsDir, 'profiles', `${label}.txt`);
      writeFileSync(file, `${sections.join('\n\n')}\n`);
      log(`[${label}] CPU profile by scenario: ${file}`);
    } catch (error) {
      log(`no CPU profile for ${label}: ${String(error)}`);
    }
  }

  /** The profile summaries of every server stopped so far, by label. */
  profileSummaries(): Record<string, ServerProfile> {
    return { ...this.profiles };
  }

  /**
   * Says so at once when a server ends without being asked to (its runs would otherwise only show
   * as connection errors, maybe minutes later): when, and its last output.
   */
  private reportUnexpectedExit(child: Child) {
    void child.exited.then((code) => {
      if (this.stopping.has(child) || isEnding()) return;
      log(
        `WARNING: ${child.name} (pid ${child.pid}) ended on its own (${code}) at ${new Date().toISOString()}` +
          `${child.output() === '' ? '' : `:\n${child.output()}`}`,
      );
    });
  }
}

/** The profiles a server's processes wrote into its folder (none if it was killed before writing). */
function profileFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort()
    .map((name) => join(dir, name));
}

/** Resolves once something accepts TCP connections on loopback `port`; fails if `child` exits first. */
async function waitUntilListening(child: Child, port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name} exited before it listened:\n${child.output()}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (performance.now() > deadline)
      throw new Error(`${child.name} did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
