/**
 * The phases of `npm run bench`, in the order they run (BENCH_ONLY_PHASES names them): the
 * calibration rows, `sqlite`, `sqlite ×N` (workers), the large data, PostgreSQL, the fleet.
 */
export const PHASE_KEYS = ['calibration', 'sqlite', 'workers', 'large', 'postgres', 'fleet'] as const;
export type PhaseKey = (typeof PHASE_KEYS)[number];

/** Everything the bench reads from the environment, parsed once. */
export interface BenchOptions {
  /**
   * The phases this run makes: those of BENCH_ONLY_PHASES (naming an optional phase turns it on),
   * or else the standard ones and the optional ones their variables turn on.
   */
  phases: ReadonlySet<PhaseKey>;
  /** Measured seconds per scenario. */
  seconds: number;
  /** Unmeasured seconds of load before each scenario (JIT, caches, connections). */
  warmupSeconds: number;
  connections: number;
  /** The large-data phase (BENCH_LARGE): N keys and N secrets seeded straight into SQLite. */
  large: boolean;
  n: number;
  /** The PostgreSQL phase (BENCH_PG). */
  pg: boolean;
  pgUrl: string;
  /** Also give the PostgreSQL node Redis (token cache + shared rate limits), as a fleet would run. */
  pgRedis: boolean;
  redisUrl: string;
  /** TESSERA_DB_POOL_SIZE of every node on PostgreSQL; undefined: Tessera's own default. */
  pgPoolSize: number | undefined;
  /**
   * The fleet phase (BENCH_FLEET, or implied by BENCH_PG_DELAY_MS): audited writes on PostgreSQL
   * and Redis, one node then two, with PostgreSQL behind a proxy delaying each way by each of
   * `pgDelaysMs` (0: no proxy).
   */
  fleet: boolean;
  pgDelaysMs: number[];
  /** `dist`: build, then run bin/tessera.js (what `npm start` runs). `tsx`: run src through tsx. */
  runner: 'dist' | 'tsx';
  /**
   * TESSERA_WORKERS of the `sqlite ×N` phase (the standard scenarios against a cluster of N worker
   * processes sharing the port); 0 or 1: no such phase.
   */
  workers: number;
  /**
   * Microseconds of busy work per request of the calibration servers (servers/baseline-work.mjs),
   * one baseline row each: how the ratio to bare falls with per-request work on this machine.
   */
  calibrationUs: number[];
  /** Run `npm run build` first (runner `dist` only). */
  build: boolean;
  /** TESSERA_LOG_LEVEL of the server under test (the runs: warn, so no line per request). */
  logLevel: string;
  /** Run Tessera under `--cpu-prof` and summarise the profile (slows it down: figures are then marked). */
  cpuProf: boolean;
  /** Run Tessera with its Prometheus metrics on (TESSERA_METRICS_TOKEN), to measure what they cost. */
  metrics: boolean;
  /** Only scenarios whose "<phase> <scenario>" matches (the baseline always runs). */
  only: RegExp | undefined;
  /** Measured runs repeated when other processes used more than 0.3 cores during them. */
  retries: number;
  /** Keep the temporary data folders (printed) instead of deleting them, e.g. to query the seeded database. */
  keepData: boolean;
  /** At most this long, before each measured run, waiting for the server to drain and the machine to quieten. */
  settleSeconds: number;
  /** Hard limit for the whole run; everything is killed past it. */
  timeoutSeconds: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function flag(env: Env, name: string): boolean {
  const raw = env[name]?.trim().toLowerCase();
  return raw !== undefined && ['1', 'true', 'yes', 'on'].includes(raw);
}

function number(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be a number from ${min} to ${max} (got '${raw}')`);
  }
  return value;
}

/** A comma-separated list of microseconds; unset: 20; empty or 0: none. */
function microseconds(env: Env, name: string): number[] {
  const raw = env[name];
  if (raw === undefined) return [20];
  const values = raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(Number);
  if (values.some((v) => !Number.isInteger(v) || v < 0 || v > 1_000_000)) {
    throw new Error(`${name} must be whole microseconds from 0 to 1000000, comma-separated (got '${raw}')`);
  }
  return [...new Set(values.filter((v) => v > 0))];
}

/** BENCH_PG_DELAY_MS: whole milliseconds each way, comma-separated (Node's timers count no finer). */
function delays(env: Env): number[] | undefined {
  const raw = env.BENCH_PG_DELAY_MS?.trim();
  if (raw === undefined || raw === '') return undefined;
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 0 || v > 1000)) {
    throw new Error(
      `BENCH_PG_DELAY_MS must be whole milliseconds from 0 to 1000, comma-separated (got '${raw}')`,
    );
  }
  return [...new Set(values)];
}

/** BENCH_ONLY_PHASES: phase names of PHASE_KEYS, comma-separated; undefined when unset. */
function onlyPhases(env: Env): Set<PhaseKey> | undefined {
  const raw = env.BENCH_ONLY_PHASES?.trim();
  if (raw === undefined || raw === '') return undefined;
  const names = raw.split(',').map((part) => part.trim().toLowerCase());
  const unknown = names.filter((name) => !(PHASE_KEYS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_ONLY_PHASES: unknown phase '${unknown.join("', '")}' (phases: ${PHASE_KEYS.join(', ')})`,
    );
  }
  return new Set(names as PhaseKey[]);
}

export function readOptions(env: Env = process.env): BenchOptions {
  const seconds = number(env, 'BENCH_SECONDS', 10, 1, 600);
  const large = flag(env, 'BENCH_LARGE');
  const n = Math.floor(number(env, 'BENCH_N', 1_000_000, 1_000, 50_000_000));
  const runner = (env.BENCH_RUNNER ?? 'dist').trim();
  if (runner !== 'dist' && runner !== 'tsx') throw new Error(`BENCH_RUNNER must be dist or tsx`);
  const workers = Math.floor(number(env, 'BENCH_WORKERS', 2, 0, 64));
  const pgDelaysMs = delays(env);
  const only = onlyPhases(env);
  const asked: Record<PhaseKey, boolean> = {
    calibration: true,
    sqlite: true,
    // A cluster of fewer than two workers is no cluster, listed or not.
    workers: workers >= 2,
    large,
    postgres: flag(env, 'BENCH_PG'),
    fleet: flag(env, 'BENCH_FLEET') || pgDelaysMs !== undefined,
  };
  const phases = new Set(
    PHASE_KEYS.filter((key) =>
      only === undefined ? asked[key] : only.has(key) && (key !== 'workers' || asked.workers),
    ),
  );
  const options = {
    phases,
    seconds,
    warmupSeconds: number(env, 'BENCH_WARMUP_SECONDS', Math.min(3, Math.max(1, seconds / 5)), 0, 60),
    connections: Math.floor(number(env, 'BENCH_CONNECTIONS', 32, 1, 1024)),
    large: phases.has('large'),
    n,
    pg: phases.has('postgres'),
    pgUrl: env.BENCH_PG_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/test',
    pgRedis: flag(env, 'BENCH_PG_REDIS'),
    redisUrl: env.BENCH_REDIS_URL?.trim() || 'redis://127.0.0.1:6379',
    pgPoolSize: env.BENCH_PG_POOL_SIZE?.trim()
      ? Math.floor(number(env, 'BENCH_PG_POOL_SIZE', 10, 1, 500))
      : undefined,
    fleet: phases.has('fleet'),
    pgDelaysMs: pgDelaysMs ?? [0, 1],
    runner,
    workers,
    calibrationUs: microseconds(env, 'BENCH_CALIBRATION_US'),
    build: env.BENCH_BUILD === undefined ? true : flag(env, 'BENCH_BUILD'),
    cpuProf: flag(env, 'BENCH_CPU_PROF'),
    metrics: flag(env, 'BENCH_METRICS'),
    logLevel: env.BENCH_LOG_LEVEL?.trim() || 'warn',
    keepData: flag(env, 'BENCH_KEEP_DATA'),
    retries: Math.floor(number(env, 'BENCH_RETRIES', 2, 0, 10)),
    settleSeconds: number(env, 'BENCH_SETTLE_SECONDS', 30, 0, 600),
    only: env.BENCH_ONLY?.trim() ? new RegExp(env.BENCH_ONLY.trim(), 'i') : undefined,
    timeoutSeconds: 0,
  } satisfies BenchOptions;
  // Generous but finite: every scenario waiting and retrying to the limit, plus seeding (< 2 ms a row).
  const perScenario =
    (options.retries + 1) * (seconds + 2 * options.settleSeconds) + options.warmupSeconds + 30;
  const fallbackTimeout =
    300 +
    (phases.has('sqlite') ? perScenario * 12 : 0) +
    (options.large ? 600 + perScenario * 16 + n / 500 : 0) +
    (options.pg ? perScenario * 8 : 0) +
    (phases.has('workers') ? 60 + perScenario * 12 : 0) +
    (phases.has('calibration') ? perScenario * 2 * options.calibrationUs.length : 0) +
    // Two scenarios at one node and two, each with its nodes' starts.
    (options.fleet ? (perScenario * 4 + 120) * options.pgDelaysMs.length : 0);
  options.timeoutSeconds = Math.ceil(number(env, 'BENCH_TIMEOUT_SECONDS', fallbackTimeout, 10, 86_400));
  return options;
}
