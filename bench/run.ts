// `npm run bench`: Tessera's benchmark. Starts a bare Fastify baseline and Tessera as child
// processes on loopback, loads each scenario with autocannon (same connections, same duration),
// and prints requests/s, p50/p99 latency and the ratio to the bare baseline measured in the same
// run. Environment flags: see docs/performance.md (BENCH_SECONDS, BENCH_LARGE, BENCH_N, BENCH_PG, …).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { generateMasterKey } from '../src/crypto/master-key.js';
import { generateToken } from '../src/crypto/tokens.js';
import { BLOCK_ROWS } from '../src/db/page-blocks.js';
import {
  type Child,
  CpuMeter,
  freePort,
  killAllChildren,
  ORPHAN_GUARD,
  processTree,
  RssSampler,
  spawnChild,
  stopChild,
  treeRssMiB,
  waitUntilHealthy,
} from './lib/children.js';
import { type LoadSpec, runLoad } from './lib/load.js';
import { readOptions } from './lib/options.js';
import { formatProfile, type ProfileSummary, summarizeProfiles, type Window } from './lib/profile.js';
import { formatTable, type Row, toRow } from './lib/report.js';
import { type Seeded, seedLarge } from './lib/seed.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_DIR = join(ROOT, 'bench', 'results');
/** Each child's stdout and stderr, kept after the run (overwritten by the next). */
const LOGS_DIR = join(RESULTS_DIR, 'logs');
const SQLITE_FILE = 'tessera.db';
const options = readOptions();
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Lifetime: children die with the bench; temporary data and schemas are removed on every path out.

const cleanups: (() => Promise<void> | void)[] = [];
let finishing = false;

async function runCleanups() {
  killAllChildren();
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await Promise.race([cleanup(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    } catch (error) {
      log(`cleanup failed: ${String(error)}`);
    }
  }
}

function abort(reason: string, code: number) {
  if (finishing) return;
  finishing = true;
  log(`\nbench: ${reason}; stopping everything`);
  void runCleanups().finally(() => process.exit(code));
}

process.once('SIGINT', () => abort('interrupted', 130));
process.once('SIGTERM', () => abort('terminated', 143));
setTimeout(
  () => abort(`took longer than BENCH_TIMEOUT_SECONDS=${options.timeoutSeconds}`, 124),
  options.timeoutSeconds * 1000,
).unref();

// ---------------------------------------------------------------------------------------------
// Servers

/** The environment of a child: the bench's own, without anything that configures Tessera or Node. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('TESSERA_') || name === 'DATABASE_URL' || name === 'REDIS_URL') continue;
    if (name === 'NODE_OPTIONS' || name.startsWith('BENCH_')) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

const guardImport = pathToFileURL(ORPHAN_GUARD).href;

interface Server {
  child: Child;
  base: string;
  startupMs: number;
  /** The folder of its CPU profiles (one file per process: a cluster writes several). */
  profile: string | undefined;
  /** A bare Fastify server (the baseline, or a calibration server): no RSS, no profile windows. */
  bare: boolean;
}

/** A server of bench/servers/ (`script`), e.g. the bare baseline; `label` names it and its log. */
async function startBareServer(
  script: string,
  label: string,
  extraEnv: Record<string, string> = {},
): Promise<Server> {
  const port = await freePort();
  const since = performance.now();
  const child = spawnChild(
    label,
    process.execPath,
    ['--import', guardImport, join(ROOT, 'bench', 'servers', script)],
    {
      cwd: ROOT,
      env: childEnv({ ...extraEnv, PORT: String(port) }),
      logFile: join(LOGS_DIR, `${label}.log`),
    },
  );
  const base = `http://127.0.0.1:${port}`;
  const startupMs = await waitUntilHealthy(child, `${base}/healthz`, since, 30_000);
  reportUnexpectedExit(child);
  return { child, base, startupMs, profile: undefined, bare: true };
}

let runner = options.runner;
const notes: string[] = [];

/** `dist` (the default) builds first, so Tessera runs as `npm start` runs it: compiled, plain node. */
function prepareRunner() {
  if (runner !== 'dist') return;
  if (!options.build) {
    log('BENCH_BUILD=0: using dist/ as it is');
    return;
  }
  log('building (npm run build) …');
  const build = spawnSync('npm', ['run', 'build', '--silent'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 300_000,
  });
  if (build.status !== 0) {
    // src/ may be mid-edit; tsx compiles file by file and does not type-check, so it may still run.
    runner = 'tsx';
    const note = 'npm run build failed: Tessera ran from src/ through tsx instead (start-up includes tsx)';
    notes.push(note);
    log(`WARNING: ${note}`);
  }
}

interface TesseraConfig {
  label: string;
  dataDir: string;
  masterKey: string;
  bootstrapToken: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** TESSERA_WORKERS: a primary process forking this many workers that share the port. */
  workers?: number;
  startTimeoutMs?: number;
}

let profileCounter = 0;

async function startTessera(config: TesseraConfig): Promise<Server> {
  const port = await freePort();
  // A folder per server and node's own file names (they carry the pid): cluster workers inherit
  // the primary's flags, and one --cpu-prof-name would make every process write the same file.
  const profileDir = join(RESULTS_DIR, 'profiles', `tessera-${config.label}-${++profileCounter}`);
  const profiling = options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const entry =
    runner === 'dist'
      ? ['--import', guardImport, 'bin/tessera.js', 'serve']
      : ['--import', 'tsx', '--import', guardImport, 'src/cli/main.ts', 'serve'];
  const env = childEnv({
    TESSERA_HOST: '127.0.0.1',
    TESSERA_PORT: String(port),
    TESSERA_DATA_DIR: config.dataDir,
    TESSERA_MASTER_KEY: config.masterKey,
    TESSERA_BOOTSTRAP_TOKEN: config.bootstrapToken,
    // The highest the configuration accepts: far above what one key draws in a scenario.
    TESSERA_RATE_LIMIT_PER_MINUTE: '1000000',
    TESSERA_LOG_LEVEL: options.logLevel,
    ...(config.databaseUrl === undefined ? {} : { DATABASE_URL: config.databaseUrl }),
    ...(config.redisUrl === undefined ? {} : { REDIS_URL: config.redisUrl }),
    ...(config.workers === undefined ? {} : { TESSERA_WORKERS: String(config.workers) }),
  });
  const since = performance.now();
  const spawnedUs = hrtimeUs();
  const child = spawnChild(`tessera (${config.label})`, process.execPath, [...profiling, ...entry], {
    cwd: ROOT,
    env,
    logFile: join(LOGS_DIR, `tessera-${config.label}-${profileCounter}.log`),
  });
  const base = `http://127.0.0.1:${port}`;
  const startupMs = await waitUntilHealthy(child, `${base}/healthz`, since, config.startTimeoutMs ?? 60_000);
  reportUnexpectedExit(child);
  windows.set(child, [
    { label: `start-up of tessera (${config.label})`, startUs: spawnedUs, endUs: hrtimeUs() },
  ]);
  return { child, base, startupMs, profile: options.cpuProf ? profileDir : undefined, bare: false };
}

const profiles: Record<
  string,
  ProfileSummary & { processes: number; windows: (ProfileSummary & { label: string })[] }
> = {};
/** The measured stretch of each scenario, per server process, to cut its CPU profile by scenario. */
const windows = new Map<Child, Window[]>();
const hrtimeUs = () => Number(process.hrtime.bigint() / 1000n);

/** Servers the bench is stopping: any other exit is unexpected. */
const stopping = new Set<Child>();

/**
 * Says so at once when a server ends without being asked to (its runs would otherwise only show
 * as connection errors, maybe minutes later): when, and its last output.
 */
function reportUnexpectedExit(child: Child) {
  void child.exited.then((code) => {
    if (stopping.has(child) || finishing) return;
    log(
      `WARNING: ${child.name} (pid ${child.pid}) ended on its own (${code}) at ${new Date().toISOString()}` +
        `${child.output() === '' ? '' : `:\n${child.output()}`}`,
    );
  });
}

async function stopServer(server: Server, label: string) {
  stopping.add(server.child);
  const code = await stopChild(server.child);
  if (code !== 0 && code !== 'SIGTERM')
    log(`${server.child.name} exited with ${code}:\n${server.child.output()}`);
  if (server.profile === undefined) return;
  try {
    const files = profileFiles(server.profile);
    if (files.length === 0) throw new Error(`no .cpuprofile file in ${server.profile}`);
    // A cluster's processes are summed up into one summary: its workers all run the same code.
    const summary = summarizeProfiles(files, 30, windows.get(server.child) ?? []);
    profiles[label] = { ...summary, processes: files.length };
    const whole =
      files.length === 1 ? 'whole process' : `all ${files.length} processes (primary and workers) added up`;
    const sections = [formatProfile(summary, `${label}: ${whole} (start-up and set-up included)`)];
    for (const window of summary.windows) {
      sections.push(formatProfile({ ...window, functions: window.functions.slice(0, 25) }, window.label, 12));
    }
    const file = join(RESULTS_DIR, 'profiles', `${label}.txt`);
    writeFileSync(file, `${sections.join('\n\n')}\n`);
    log(`[${label}] CPU profile by scenario: ${file}`);
  } catch (error) {
    log(`no CPU profile for ${label}: ${String(error)}`);
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

// ---------------------------------------------------------------------------------------------
// HTTP set-up calls

async function call(
  base: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? null : JSON.parse(text) };
}

async function expectOk(base: string, token: string, method: string, path: string, body?: unknown) {
  const { status, json } = await call(base, token, method, path, body);
  if (status !== 200) throw new Error(`${method} ${path} answered ${status}: ${JSON.stringify(json)}`);
  return json;
}

/** ADMIN keys, one per scenario, so that no two scenarios share a rate-limit budget. */
async function createAdminKeys(base: string, admin: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = await expectOk(base, admin, 'POST', '/api/v1/auth/key', {
      name: `bench admin ${i + 1}`,
      roles: [{ type: 'DEFAULT', role: 'ADMIN' }],
    });
    tokens.push(created.apiKey as string);
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const rows: Row[] = [];
/**
 * BENCH_ONLY matches "<phase> <scenario>". The bare runs do not go through it: they always run
 * (every ratio needs them). The calibration rows of the baseline phase do: they are scenarios.
 */
const skipped = (phase: string, name: string) =>
  options.only !== undefined && !options.only.test(`${phase} ${name}`);

/** Every bare-baseline run, in order; each scenario's ratio uses the two that bracket it. */
const bareRuns: Row[] = [];
const bareWarm = new Set<number>();

/** The bare baseline, for half a scenario's duration, at `connections`; warmed up once per count. */
async function bareRun(connections: number): Promise<number> {
  const load: LoadSpec = { url: `${baseline.base}/` };
  if (!bareWarm.has(connections) && options.warmupSeconds > 0) {
    await runLoad(load, connections, options.warmupSeconds);
    bareWarm.add(connections);
  }
  const row = await measuredRun('baseline', 'bare Fastify GET /', baseline, load, connections, bareSeconds());
  bareRuns.push(row);
  return bareRuns.length - 1;
}

const bareSeconds = () => Math.max(1, options.seconds / 2);

/**
 * One scenario: a single request first (it must succeed: a benchmark of 401s measures nothing),
 * an unmeasured warm-up, a bare-baseline run, then the measured run with the server's RSS and CPU
 * sampled throughout. The next bare run (before the next scenario, or at the end) closes the
 * bracket: the ratio is to the mean of the bare runs just before and just after, so that the
 * host's drifting speed (shared virtual CPUs) cancels out of the ratio.
 */
async function measure(
  phase: string,
  name: string,
  server: Server,
  spec: ScenarioSpec,
  connections = options.connections,
): Promise<Row | undefined> {
  if (skipped(phase, name)) return undefined;
  const load: LoadSpec = { ...spec, url: `${server.base}${spec.path}` };
  const token = spec.token?.() ?? undefined;
  const probe = await fetch(load.url, {
    method: spec.method ?? 'GET',
    headers: {
      ...spec.headers,
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: spec.body?.(),
    signal: AbortSignal.timeout(120_000),
  });
  const probeBody = await probe.text();
  if (probe.status < 200 || probe.status > 299) {
    throw new Error(`[${phase}] ${name}: the probe request answered ${probe.status}: ${probeBody}`);
  }
  if (options.warmupSeconds > 0) await runLoad(load, connections, options.warmupSeconds);
  await settle(server, false);
  const bareBefore = await bareRun(connections);
  const row = await measuredRun(phase, name, server, load, connections, options.seconds);
  pendingRatios.push({ row, bareBefore });
  rows.push(row);
  return row;
}

/** Scenario rows waiting for the bare run after them. */
const pendingRatios: { row: Row; bareBefore: number }[] = [];

/** Closes every open bracket with one more bare run per connection count, then sets the ratios. */
async function closeBrackets() {
  const after = new Map<number, number>();
  for (const { row, bareBefore } of pendingRatios.splice(0)) {
    const connections = row.connections;
    // The next bare run at the same connection count, made after this row.
    let next = bareRuns.findIndex((b, i) => i > bareBefore && b.connections === connections);
    if (next < 0) {
      next = after.get(connections) ?? (await bareRun(connections));
      after.set(connections, next);
    }
    const before = bareRuns[bareBefore] as Row;
    const bare = (before.rps + (bareRuns[next] as Row).rps) / 2;
    row.bareRps = bare;
    row.ratioToBare = bare > 0 ? row.rps / bare : null;
  }
}

/** A measured run, repeated (up to BENCH_RETRIES) when other processes disturbed it; the least disturbed is kept. */
async function measuredRun(
  phase: string,
  name: string,
  server: Server,
  load: LoadSpec,
  connections: number,
  seconds: number,
): Promise<Row> {
  // PostgreSQL runs on this machine too: its CPU is part of the scenario, not a disturbance.
  const postgres = phase.startsWith('postgres');
  const disturbance = postgres ? Number.POSITIVE_INFINITY : DISTURBED_CORES;
  let row: Row | undefined;
  let attempts = 0;
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    attempts += 1;
    await settle(server, !postgres);
    const sampler = new RssSampler(server.child.pid);
    const cpu = new CpuMeter(server.child.pid, os.availableParallelism());
    const startUs = hrtimeUs();
    const result = await runLoad(load, connections, seconds);
    const window = { label: `[${phase}] ${name} (${connections} conn)`, startUs, endUs: hrtimeUs() };
    const shares = cpu.stop();
    const peak = sampler.stop();
    // Requests still queued when the load stopped are served now, not during the next run.
    await settle(server, false);
    const candidate = toRow(phase, name, connections, result, server.bare ? null : peak, shares);
    const other = shares?.other ?? 0;
    log(
      `[${phase}] ${name}${connections === options.connections ? '' : ` (${connections} conn)`}: ` +
        `${Math.round(candidate.rps)} req/s, p50 ${candidate.p50Ms.toFixed(2)} ms, p99 ${candidate.p99Ms.toFixed(2)} ms` +
        `${candidate.non2xx + candidate.errors > 0 ? `, ${candidate.non2xx + candidate.errors} failed` : ''}` +
        `${candidate.rssMiB === null ? '' : `, RSS ≤ ${candidate.rssMiB.toFixed(0)} MiB`}` +
        `${shares === undefined ? '' : `, CPU: server ${shares.server.toFixed(2)}, bench ${shares.loadGenerator.toFixed(2)}, other ${other.toFixed(2)}`}`,
    );
    if (row === undefined || other < (row.cpu?.other ?? 0)) {
      row = candidate;
      if (!server.bare) {
        windows.set(server.child, [
          ...(windows.get(server.child) ?? []).filter((w) => w.label !== window.label),
          window,
        ]);
      }
    }
    if (other <= disturbance) break;
    if (attempt < options.retries) log(`  (other processes used ${other.toFixed(2)} cores: measuring again)`);
  }
  const kept = row as Row;
  kept.attempts = attempts;
  return kept;
}

/** Above this much CPU used by other processes during a measured run, it is measured again. */
const DISTURBED_CORES = 0.3;

/** The CPU shares of `pid` and the rest of the machine over `ms`. */
async function cpuOver(pid: number, ms: number) {
  const meter = new CpuMeter(pid, os.availableParallelism());
  await new Promise((resolve) => setTimeout(resolve, ms));
  return meter.stop();
}

/**
 * Waits until the server has finished what the last load left queued (slow scenarios leave
 * seconds of work behind) and, before a measured run, until the rest of the machine is quiet
 * (other work on a 2-core machine moves every figure). Bounded: after the limit it goes on, and
 * the "other CPU" column shows what the run shared the machine with.
 */
async function settle(server: Server, waitForQuiet = true) {
  const deadline = performance.now() + options.settleSeconds * 1000;
  let warned = false;
  while (performance.now() < deadline) {
    const shares = await cpuOver(server.child.pid, 250);
    if (shares === undefined) return;
    const busyServer = shares.server > 0.15;
    const busyMachine = waitForQuiet && shares.other > 0.25;
    if (!busyServer && !busyMachine) return;
    if (busyMachine && !busyServer && !warned) {
      log(`  (waiting for the machine to quieten: other processes use ${shares.other.toFixed(2)} cores)`);
      warned = true;
    }
  }
  log(`  (went on after ${options.settleSeconds} s: server or machine still busy)`);
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const json = { 'content-type': 'application/json' };

/** Unique tags for creates, across warm-up, measured run and phases. */
let createCounter = 0;
const runId = randomBytes(3).toString('hex');
function newSecretBody(): string {
  createCounter += 1;
  return JSON.stringify({
    name: `Bench secret ${createCounter}`,
    tag: `bench-${runId}-${createCounter}`,
    secret: 'correct-horse-battery-staple-0123456789',
  });
}

const BENCH_TAG = 'bench-secret';
const BENCH_VALUE = 'a-32-byte-secret-value-for-bench';

type ScenarioSpec = Omit<LoadSpec, 'url'> & { path: string };

/**
 * The scenarios of the issue's targets, against a server holding a handful of keys and secrets.
 * Each gets its own token (`token(i)`), so that no two share a rate-limit budget.
 */
const STANDARD_SCENARIOS: {
  name: string;
  spec: (token: (i: number) => string, tag: string) => ScenarioSpec;
}[] = [
  { name: 'GET /healthz (no auth, no storage)', spec: () => ({ path: '/healthz' }) },
  {
    name: 'GET /api/v1/me (token check)',
    spec: (token) => ({ path: '/api/v1/me', headers: bearer(token(0)) }),
  },
  {
    name: 'GET /api/v1/secrets/{tag}',
    spec: (token, tag) => ({ path: `/api/v1/secrets/${tag}`, headers: bearer(token(1)) }),
  },
  {
    name: 'GET /api/v1/secrets/{tag}/value',
    spec: (token, tag) => ({ path: `/api/v1/secrets/${tag}/value`, headers: bearer(token(2)) }),
  },
  {
    name: 'GET /api/v1/auth/key (list page)',
    spec: (token) => ({ path: '/api/v1/auth/key', headers: bearer(token(3)) }),
  },
  {
    name: 'POST /api/v1/secrets (creates)',
    spec: (token) => ({
      path: '/api/v1/secrets',
      method: 'POST',
      headers: { ...bearer(token(4)), ...json },
      body: newSecretBody,
    }),
  },
];

async function standardScenarios(phase: string, server: Server, tokens: string[], tag: string) {
  const token = (i: number) => tokens[i % tokens.length] as string;
  for (const scenario of STANDARD_SCENARIOS) {
    await measure(phase, scenario.name, server, scenario.spec(token, tag));
  }
}

// ---------------------------------------------------------------------------------------------
// Phases

const startups: Record<string, number> = {};
/** Every start-up timed for a label whose figure is a median. */
const startupRuns: Record<string, number[]> = {};
const STARTS = 3;

/** Starts the server STARTS times on the same data, keeping the last; the figure is the median. */
async function measuredStarts(config: TesseraConfig, label: string): Promise<Server> {
  const times: number[] = [];
  let server: Server | undefined;
  for (let i = 1; i <= STARTS; i++) {
    if (server !== undefined) await stopServer(server, `${config.label}-start-${i - 1}`);
    server = await startTessera(config);
    times.push(server.startupMs);
  }
  startupRuns[label] = times;
  startups[label] = [...times].sort((a, b) => a - b)[Math.floor(STARTS / 2)] as number;
  return server as Server;
}
let baseline: Server;

/** Whether a process id is alive (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Folders left by a bench that was killed outright (SIGKILL): named after its pid, which is gone. */
function removeStaleTempDirs() {
  for (const name of readdirSync(os.tmpdir())) {
    const pid = /^tessera-bench-(\d+)-/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || alive(Number(pid))) continue;
    log(`removing ${join(os.tmpdir(), name)}, left by an earlier bench (pid ${pid}) that was killed`);
    rmSync(join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

function tempDir(name: string): string {
  const dir = mkdtempSync(join(os.tmpdir(), `tessera-bench-${process.pid}-${name}-`));
  if (options.keepData) log(`BENCH_KEEP_DATA: keeping ${dir}`);
  else cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The calibration rows of servers/baseline-reveal-floor.mjs, by the FLOOR_AUDIT each runs with:
 * what a reveal's decryption alone costs, then the least any reveal can cost.
 */
const REVEAL_FLOORS = [
  { audit: '0', name: "bare Fastify GET / + two AES-GCM opens (a reveal's decryption alone)" },
  { audit: '1', name: "bare Fastify GET / + two AES-GCM opens and a durable audit event (a reveal's floor)" },
];

/**
 * Calibration rows of the baseline phase, one per BENCH_CALIBRATION_US value: the bare server with
 * that many microseconds of busy work per request (servers/baseline-work.mjs), bracketed by bare runs
 * like any scenario. They show how fast the ratio to bare falls with per-request work on this machine.
 * Then a reveal's decryption alone, and its floor (servers/baseline-reveal-floor.mjs): the ratio no
 * reveal can exceed here.
 */
async function calibrationPhase() {
  for (const us of options.calibrationUs) {
    const name = `bare Fastify GET / + ${us} µs of work per request`;
    if (skipped('baseline', name)) continue;
    const server = await startBareServer('baseline-work.mjs', `baseline-work-${us}us`, {
      WORK_US: String(us),
    });
    await measure('baseline', name, server, { path: '/' });
    await stopServer(server, `baseline-work-${us}us`);
  }
  for (const { audit, name } of REVEAL_FLOORS) {
    if (skipped('baseline', name)) continue;
    const label = `baseline-reveal-floor-audit-${audit}`;
    const server = await startBareServer('baseline-reveal-floor.mjs', label, { FLOOR_AUDIT: audit });
    await measure('baseline', name, server, { path: '/' });
    await stopServer(server, label);
  }
}

/** The `sqlite ×N` phase's name when BENCH_WORKERS asks for one (N ≥ 2), else undefined. */
const WORKERS_PHASE = options.workers >= 2 ? `sqlite ×${options.workers}` : undefined;

/** The standard scenarios on SQLite, against one Tessera process. */
async function smallPhase() {
  await sqlitePhase('sqlite', 'sqlite');
}

/**
 * The standard scenarios on SQLite again, against a cluster: TESSERA_WORKERS=N, a primary forking
 * N workers that share the port. Skipped whole when BENCH_ONLY leaves none of its scenarios.
 */
async function workersPhase() {
  const phase = WORKERS_PHASE;
  if (phase === undefined) return;
  if (STANDARD_SCENARIOS.every((scenario) => skipped(phase, scenario.name))) {
    log(`[${phase}] skipped: BENCH_ONLY matches none of its scenarios`);
    return;
  }
  await sqlitePhase(phase, `sqlite-x${options.workers}`, options.workers);
}

/** A fresh data folder, ten keys and one secret, three timed restarts, then the standard scenarios. */
async function sqlitePhase(phase: string, label: string, workers?: number) {
  const config: TesseraConfig = {
    label,
    dataDir: tempDir(label),
    masterKey: generateMasterKey().toString('base64'),
    bootstrapToken: generateToken(),
    ...(workers === undefined ? {} : { workers }),
  };
  let server = await startTessera(config);
  startups[`${phase}, first start (empty folder: migrations, bootstrap key)`] = server.startupMs;
  // Ten keys in all (the bootstrap key and nine more) and one secret.
  const tokens = await createAdminKeys(server.base, config.bootstrapToken, 9);
  await expectOk(server.base, config.bootstrapToken, 'POST', '/api/v1/secrets', {
    name: 'Bench secret',
    tag: BENCH_TAG,
    secret: BENCH_VALUE,
  });
  await stopServer(server, `${label}-setup`);
  server = await measuredStarts(config, `${phase}, restart (10 keys, 1 secret)`);
  if (workers !== undefined) await awaitWorkers(phase, server, workers);
  const revealed = await expectOk(
    server.base,
    tokens[0] as string,
    'GET',
    `/api/v1/secrets/${BENCH_TAG}/value`,
  );
  if (revealed.value !== BENCH_VALUE) throw new Error('the bench secret did not decrypt to its value');
  idleRss[phase] = treeRssMiB(server.child.pid) ?? null;
  await standardScenarios(phase, server, tokens, BENCH_TAG);
  await stopServer(server, label);
}

/**
 * The node processes of a server's tree: the primary and its workers, not helpers such as the
 * esbuild service that tsx (BENCH_RUNNER=tsx) starts in each of them.
 */
function nodeProcesses(pid: number): number {
  const executable = (p: number) => {
    try {
      return readlinkSync(`/proc/${p}/exe`);
    } catch {
      return undefined;
    }
  };
  const node = executable(pid);
  return processTree(pid).filter((p) => executable(p) === node).length;
}

/**
 * The first /healthz answer needs one worker only: waits (a few seconds at most) until the tree has
 * its N workers besides the primary, so the warm-up does not start on a half-started cluster. A tree
 * of one process means the server ignored TESSERA_WORKERS: the phase still runs, and says so.
 */
async function awaitWorkers(phase: string, server: Server, workers: number) {
  const deadline = performance.now() + 10_000;
  let processes = nodeProcesses(server.child.pid);
  while (processes < workers + 1 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    processes = nodeProcesses(server.child.pid);
  }
  log(`[${phase}] serving with ${processes} node process${processes === 1 ? '' : 'es'}`);
  if (processes === 1) {
    notes.push(
      `${phase}: the server ran as one process (TESSERA_WORKERS=${workers} was not acted on), ` +
        'so that phase measured the single-process server again',
    );
  } else if (processes < workers + 1) {
    notes.push(
      `${phase}: only ${processes} processes (primary and workers) after 10 s; expected ${workers + 1}`,
    );
  }
}

const idleRss: Record<string, number | null> = {};
let seeding: (Omit<Seeded, 'middleToken' | 'sampledTokens'> & { sampledTokens: number }) | undefined;

/** The large-data phase's name, e.g. `sqlite 1M`. */
const LARGE_PHASE = `sqlite ${options.n >= 1_000_000 ? `${options.n / 1_000_000}M` : `${options.n / 1000}k`}`;
/** Its list pages served by TESSERA_WORKERS=N, when BENCH_WORKERS asks for N ≥ 2. */
const LARGE_WORKERS_PHASE = WORKERS_PHASE === undefined ? undefined : `${LARGE_PHASE} ×${options.workers}`;

async function largePhase() {
  const n = options.n;
  const phase = LARGE_PHASE;
  const dataDir = tempDir('large');
  const masterKey = generateMasterKey();
  const config: TesseraConfig = {
    label: 'sqlite-large',
    dataDir,
    masterKey: masterKey.toString('base64'),
    bootstrapToken: generateToken(),
    startTimeoutMs: 300_000,
  };
  // A first start migrates the empty database and records the master key; the seeder fills it.
  let server = await startTessera(config);
  await stopServer(server, 'sqlite-large-setup');
  log(`seeding ${n} keys and ${n} secrets …`);
  const seeded = await seedLarge({
    dbFile: join(dataDir, SQLITE_FILE),
    n,
    masterKey,
    sampleTokens: Math.min(20_000, n),
    log,
  });
  seeding = { ...seeded, sampledTokens: seeded.sampledTokens.length };
  log(`seeded in ${seeded.seconds.toFixed(1)} s; database ${(seeded.bytes / 2 ** 20).toFixed(0)} MiB`);

  server = await measuredStarts(config, `${phase}, start (${n} keys, ${n} secrets)`);
  idleRss[phase] = treeRssMiB(server.child.pid) ?? null;
  const tokens = await createAdminKeys(server.base, config.bootstrapToken, 8);
  // The seeded rows are what the service reads: a seeded key authenticates, a seeded value decrypts.
  await expectOk(server.base, seeded.middleToken, 'GET', '/api/v1/me');
  const revealed = await expectOk(
    server.base,
    tokens[0] as string,
    'GET',
    `/api/v1/secrets/${seeded.middleTag}/value`,
  );
  if (revealed.value !== seeded.middleValue) throw new Error('a seeded secret did not decrypt to its value');
  const listed = await expectOk(server.base, tokens[0] as string, 'GET', '/api/v1/auth/key?pageSize=1');
  const totalKeys = listed.total as number;
  const lastPage = Math.ceil(totalKeys / 250) - 1;
  const token = (i: number) => tokens[i % tokens.length] as string;

  // An ADMIN key, as in the 10-key phase (the answer lists the key's permissions: same role, same work).
  await measure(phase, 'GET /api/v1/me (token check, cached)', server, {
    path: '/api/v1/me',
    headers: bearer(token(6)),
  });
  let next = 0;
  const sampled = seeded.sampledTokens;
  // The token cache holds 10,000 entries (src/features/api-keys/token-cache.ts): cycling through
  // more keys than that makes every look-up miss it and read the database.
  const cacheNote = sampled.length > 10_000 ? 'cache misses' : 'all fit the token cache';
  await measure(phase, `GET /api/v1/me (${sampled.length} keys round-robin: ${cacheNote})`, server, {
    path: '/api/v1/me',
    token: () => sampled[next++ % sampled.length] as string,
  });
  await measure(phase, 'GET /api/v1/secrets/{tag}', server, {
    path: `/api/v1/secrets/${seeded.middleTag}`,
    headers: bearer(token(0)),
  });
  await measure(phase, 'GET /api/v1/secrets/{tag}/value', server, {
    path: `/api/v1/secrets/${seeded.middleTag}/value`,
    headers: bearer(token(1)),
  });
  for (const connections of [options.connections, 1]) {
    await measureListPages(phase, server, token(2), lastPage, connections);
  }
  await measure(phase, 'GET /api/v1/auth/key?pageSize=1 (≈ cost of total)', server, {
    path: '/api/v1/auth/key?page=0&pageSize=1',
    headers: bearer(token(3)),
  });
  const secretPages = Math.ceil((n + 1) / 250);
  await measure(phase, `GET /api/v1/secrets last page (${secretPages - 1}) of 250`, server, {
    path: `/api/v1/secrets?page=${secretPages - 1}&pageSize=250`,
    headers: bearer(token(4)),
  });
  await measure(phase, 'POST /api/v1/secrets (creates)', server, {
    path: '/api/v1/secrets',
    method: 'POST',
    headers: { ...bearer(token(5)), ...json },
    body: newSecretBody,
  });
  await stopServer(server, 'sqlite-large');
  await largeListsWithWorkers(config, token(2), lastPage);
}

/** Pages of 250 keys at the start, the middle and the end of the list. */
async function measureListPages(
  phase: string,
  server: Server,
  token: string,
  lastPage: number,
  connections: number,
) {
  // The middle page is the one of its block that starts deepest inside it (BLOCK_ROWS rows per
  // block, src/db/page-blocks.ts): its query steps past the most rows before its first one.
  const perBlock = BLOCK_ROWS / 250;
  const middle = Math.floor(lastPage / 2 / perBlock) * perBlock + perBlock - 1;
  const pages: [string, number][] = [
    ['first', 0],
    ['middle', Math.min(middle, lastPage)],
    ['last', lastPage],
  ];
  for (const [label, page] of pages) {
    await measure(
      phase,
      `GET /api/v1/auth/key ${label} page (${page}) of 250`,
      server,
      { path: `/api/v1/auth/key?page=${page}&pageSize=250`, headers: bearer(token) },
      connections,
    );
  }
}

/**
 * The large data's list pages again, served by TESSERA_WORKERS=N (BENCH_WORKERS): reads spread over
 * the workers, so this is what a cluster does for a list's tail under many connections.
 */
async function largeListsWithWorkers(config: TesseraConfig, token: string, lastPage: number) {
  const phase = LARGE_WORKERS_PHASE;
  if (phase === undefined) return;
  const scenarios = ['first', 'middle', 'last'].map((label) => `GET /api/v1/auth/key ${label} page`);
  if (scenarios.every((scenario) => skipped(phase, scenario))) return;
  const label = `sqlite-large-x${options.workers}`;
  const server = await startTessera({ ...config, label, workers: options.workers });
  await awaitWorkers(phase, server, options.workers);
  await measureListPages(phase, server, token, lastPage, options.connections);
  await stopServer(server, label);
}

async function postgresPhase() {
  const phase = options.pgRedis ? 'postgres+redis' : 'postgres';
  const schema = `tessera_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: options.pgUrl });
  await admin.connect();
  try {
    // Schemas of earlier benches that were killed outright (their pid is gone) are dropped too.
    const { rows: existing } = await admin.query<{ name: string }>(
      `select nspname as name from pg_namespace where nspname like 'tessera\\_bench\\_%'`,
    );
    for (const { name } of existing) {
      const pid = Number(/^tessera_bench_(\d+)_/.exec(name)?.[1]);
      if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) {
        await admin.query(`drop schema if exists "${name}" cascade`);
      }
    }
    await admin.query(`create schema "${schema}"`);
  } finally {
    await admin.end();
  }
  cleanups.push(async () => {
    const client = new pg.Client({ connectionString: options.pgUrl });
    await client.connect();
    try {
      await client.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await client.end();
    }
  });
  const separator = options.pgUrl.includes('?') ? '&' : '?';
  const config: TesseraConfig = {
    label: phase.replace('+', '-'),
    dataDir: tempDir('pg'),
    masterKey: generateMasterKey().toString('base64'),
    bootstrapToken: generateToken(),
    databaseUrl: `${options.pgUrl}${separator}options=-c%20search_path%3D${schema}`,
    ...(options.pgRedis ? { redisUrl: options.redisUrl } : {}),
  };
  let server = await startTessera(config);
  startups[`${phase}, first start (empty schema)`] = server.startupMs;
  const tokens = await createAdminKeys(server.base, config.bootstrapToken, 9);
  await expectOk(server.base, config.bootstrapToken, 'POST', '/api/v1/secrets', {
    name: 'Bench secret',
    tag: BENCH_TAG,
    secret: BENCH_VALUE,
  });
  await stopServer(server, `${config.label}-setup`);
  server = await measuredStarts(config, `${phase}, restart`);
  idleRss[phase] = treeRssMiB(server.child.pid) ?? null;
  await standardScenarios(phase, server, tokens, BENCH_TAG);
  await stopServer(server, config.label);
}

// ---------------------------------------------------------------------------------------------
// Targets (docs/performance.md, issue 6), judged from this run's own figures

interface Figure {
  measured: string;
  met: boolean | null;
}

interface Verdict extends Figure {
  target: string;
  /** The same target in the `sqlite ×N` phase (TESSERA_WORKERS=N), when it ran. */
  workers?: Figure & { phase: string };
}

function judge(): Verdict[] {
  /** A row by its scenario's name, or that name followed by a parenthesis ("POST … (creates)"). */
  const find = (phase: string, scenario: string, connections = options.connections) =>
    rows.find(
      (r) =>
        r.phase === phase &&
        (r.scenario === scenario || r.scenario.startsWith(`${scenario} (`)) &&
        r.connections === connections,
    );
  const verdicts: Verdict[] = [];
  const add = (target: string, measured: string, met: boolean | null) =>
    verdicts.push({ target, measured, met });
  /**
   * A target judged on the `sqlite` phase and, when it ran, on the `sqlite ×N` phase too. `figure`
   * is undefined when its phase did not measure it.
   */
  const addBoth = (target: string, figure: (phase: string) => Figure | undefined) => {
    const verdict: Verdict = { target, ...(figure('sqlite') ?? { measured: 'not measured', met: null }) };
    const workers = WORKERS_PHASE === undefined ? undefined : figure(WORKERS_PHASE);
    if (WORKERS_PHASE !== undefined && workers !== undefined)
      verdict.workers = { phase: WORKERS_PHASE, ...workers };
    verdicts.push(verdict);
  };
  const fmt = (r: Row) =>
    `${Math.round(r.rps)} req/s, ${r.ratioToBare?.toFixed(2)}× bare, p99 ${r.p99Ms.toFixed(2)} ms`;

  addBoth('GET /api/v1/secrets/{tag}: ≥ 0.6× bare, p99 < 5 ms', (phase) => {
    const get = find(phase, 'GET /api/v1/secrets/{tag}');
    return get && { measured: fmt(get), met: (get.ratioToBare ?? 0) >= 0.6 && get.p99Ms < 5 };
  });
  addBoth('GET /api/v1/secrets/{tag}/value: ≥ 0.5× bare', (phase) => {
    const value = find(phase, 'GET /api/v1/secrets/{tag}/value');
    return value && { measured: fmt(value), met: (value.ratioToBare ?? 0) >= 0.5 };
  });
  for (const { name } of REVEAL_FLOORS) {
    const floor = find('baseline', name);
    if (floor !== undefined)
      add(`${name.replace('bare Fastify GET / + ', '')}: no reveal gets above it`, fmt(floor), null);
  }
  addBoth('POST /api/v1/secrets on SQLite (durable): ≥ 3,000 creates/s', (phase) => {
    const creates = find(phase, 'POST /api/v1/secrets');
    return (
      creates && {
        measured: `${Math.round(creates.rps)} creates/s`,
        met: creates.rps >= 3000 && creates.non2xx + creates.errors === 0,
      }
    );
  });
  const pgCreates = rows.find((r) => r.phase.startsWith('postgres') && r.scenario.startsWith('POST'));
  if (pgCreates !== undefined) {
    add('POST /api/v1/secrets on PostgreSQL (report)', `${Math.round(pgCreates.rps)} creates/s`, null);
  }
  const large = rows.filter((r) => r.phase === LARGE_PHASE);
  if (large.length > 0) {
    const phase = LARGE_PHASE;
    const small = find('sqlite', 'GET /api/v1/me');
    const big = find(phase, 'GET /api/v1/me (token check, cached)');
    if (small !== undefined && big !== undefined) {
      // Minutes apart, the host's speed drifts: compare each one's ratio to its own bare bracket.
      const ratio = (big.ratioToBare ?? 0) / (small.ratioToBare ?? 1);
      add(
        `token verification at ${phase} no slower than with 10 keys`,
        `${big.ratioToBare?.toFixed(2)}× vs ${small.ratioToBare?.toFixed(2)}× bare ` +
          `(${Math.round(big.rps)} vs ${Math.round(small.rps)} req/s), p99 ${big.p99Ms.toFixed(2)} vs ${small.p99Ms.toFixed(2)} ms`,
        // A few per cent either way is noise on a shared 2-core machine.
        ratio >= 0.9,
      );
    }
    const listFigure = (listPhase: string): Figure | undefined => {
      const listRows = rows.filter(
        (r) =>
          r.phase === listPhase && r.scenario.includes(' page (') && r.connections === options.connections,
      );
      if (listRows.length === 0) return undefined;
      return {
        measured: listRows
          .map((r) => `${r.scenario.replace('GET /api/v1/auth/key ', '')}: ${r.p99Ms.toFixed(1)} ms`)
          .join('; '),
        met: Math.max(...listRows.map((r) => r.p99Ms)) < 20,
      };
    };
    const one = listFigure(phase);
    const several = LARGE_WORKERS_PHASE === undefined ? undefined : listFigure(LARGE_WORKERS_PHASE);
    if (one !== undefined) {
      verdicts.push({
        target: `list page of 250 at ${phase}, any page: p99 < 20 ms (${options.connections} connections)`,
        ...one,
        ...(several === undefined ? {} : { workers: { phase: LARGE_WORKERS_PHASE as string, ...several } }),
      });
    }
  }
  // Memory and start-up: over every SQLite phase of one process (large data included), and over
  // the cluster's phase on its own (its RSS is the sum over the primary and its workers).
  const single = (phase: string) =>
    phase.startsWith('sqlite') && phase !== WORKERS_PHASE && phase !== LARGE_WORKERS_PHASE;
  /** The phases of one cluster size: `sqlite ×N` and the large data's `×N` list pages. */
  const cluster = (phase: string) => phase === WORKERS_PHASE || phase === LARGE_WORKERS_PHASE;
  addBoth('resident memory under load < 200 MB', (phase) => {
    const rss = rows.filter(
      (r) => r.rssMiB !== null && (phase === 'sqlite' ? single(r.phase) : cluster(r.phase)),
    );
    if (rss.length === 0) return undefined;
    const peak = Math.max(...rss.map((r) => r.rssMiB as number));
    const mb = (peak * 2 ** 20) / 1e6;
    const sum = phase === 'sqlite' ? '' : ', all processes added up';
    return { measured: `peak ${mb.toFixed(0)} MB (${peak.toFixed(0)} MiB${sum})`, met: mb < 200 };
  });
  addBoth('start-up < 1 s whatever the data size', (phase) => {
    const starts = Object.entries(startups).filter(([label]) =>
      phase === 'sqlite' ? single(label.split(',')[0] as string) : label.startsWith(`${phase},`),
    );
    if (starts.length === 0) return undefined;
    const slowest = Math.max(...starts.map(([, ms]) => ms));
    return {
      measured: starts.map(([label, ms]) => `${label}: ${ms.toFixed(0)} ms`).join('; '),
      met: slowest < 1000,
    };
  });
  return verdicts;
}

// ---------------------------------------------------------------------------------------------

const status = (figure: Figure) => (figure.met === null ? 'info' : figure.met ? 'met' : 'NOT met');

function git(args: string[]): string {
  const result = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : '';
}

async function main() {
  // Profiles of an earlier run would be mistaken for this one's.
  if (options.cpuProf) rmSync(join(RESULTS_DIR, 'profiles'), { recursive: true, force: true });
  mkdirSync(join(RESULTS_DIR, 'profiles'), { recursive: true });
  rmSync(LOGS_DIR, { recursive: true, force: true });
  mkdirSync(LOGS_DIR, { recursive: true });
  const machine = {
    loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
  log(
    `machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
      `${options.connections} connections, ${options.seconds} s per scenario (+${options.warmupSeconds} s warm-up)`,
  );
  removeStaleTempDirs();
  prepareRunner();

  baseline = await startBareServer('baseline.mjs', 'baseline');
  startups['bare Fastify baseline'] = baseline.startupMs;
  await calibrationPhase();
  await smallPhase();
  await workersPhase();
  if (options.large) await largePhase();
  if (options.pg) await postgresPhase();
  await closeBrackets();
  await stopServer(baseline, 'baseline');

  // One line per connection count for the ceiling itself: its median run, and how far it drifted.
  const bareSummary: Row[] = [];
  for (const connections of [...new Set(bareRuns.map((r) => r.connections))]) {
    const runs = bareRuns.filter((r) => r.connections === connections).sort((a, b) => a.rps - b.rps);
    const median = runs[Math.floor((runs.length - 1) / 2)] as Row;
    const range = `${Math.round(runs[0]?.rps ?? 0)}–${Math.round(runs[runs.length - 1]?.rps ?? 0)}`;
    bareSummary.push({
      ...median,
      scenario: `bare Fastify GET / (median of ${runs.length} runs, ${range} req/s)`,
      bareRps: median.rps,
      ratioToBare: 1,
    });
  }

  const verdicts = judge();
  const table = formatTable([...bareSummary, ...rows]);
  const lines = [
    '',
    table,
    '',
    'start-up (spawn → /healthz answers):',
    ...Object.entries(startups).map(
      ([label, ms]) =>
        `  ${label}: ${ms.toFixed(0)} ms` +
        `${startupRuns[label] === undefined ? '' : ` (median of ${startupRuns[label].map((t) => t.toFixed(0)).join(', ')})`}`,
    ),
  ];
  if (seeding !== undefined) {
    lines.push(
      '',
      `seeding: ${seeding.n} keys + ${seeding.n} secrets (one encrypted version each) in ${seeding.seconds.toFixed(1)} s; ` +
        `database ${(seeding.bytes / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  lines.push(
    '',
    'targets:',
    ...verdicts.flatMap((v) => [
      `  [${status(v)}] ${v.target}: ${v.measured}`,
      ...(v.workers === undefined
        ? []
        : [
            `      ${v.workers.phase} (TESSERA_WORKERS=${options.workers}): [${status(v.workers)}] ${v.workers.measured}`,
          ]),
    ]),
  );
  if (options.cpuProf)
    lines.push('', 'NOTE: Tessera ran under --cpu-prof: its figures are lower than without.');
  for (const note of notes) lines.push(`NOTE: ${note}`);
  process.stdout.write(`${lines.join('\n')}\n`);

  const report = {
    generatedAt: new Date().toISOString(),
    machine,
    git: {
      commit: git(['rev-parse', 'HEAD']),
      uncommittedChangesUnderSrc: git(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean)
        .length,
    },
    options: { ...options, only: options.only?.source ?? null, runner },
    loadAverageAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))),
    loadGenerator: 'autocannon (in the bench process), keep-alive connections, no pipelining',
    bareRuns,
    startupMs: startups,
    startupRunsMs: startupRuns,
    idleRssMiB: idleRss,
    seeding: seeding ?? null,
    results: rows,
    targets: verdicts,
    profiles,
    notes,
  };
  const file = join(RESULTS_DIR, 'latest.json');
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`\nwrote ${join('bench', 'results', 'latest.json')}`);
}

main()
  .then(async () => {
    finishing = true;
    await runCleanups();
    process.exit(0);
  })
  .catch(async (error: unknown) => {
    finishing = true;
    log(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await runCleanups();
    process.exit(1);
  });
