// `npm run soak`: Tessera under a steady, realistic load for minutes (not part of `npm test`).
// Starts Tessera as a child process (SQLite in a temporary folder), drives a fixed request rate
// with a mix of reads and writes (bench/lib/soak-mix.ts) through a warm-up and then a measured
// stretch, samples the server's resident memory every second, and fails (exit 1) on any error or
// when resident memory grows by 10 % or more after the warm-up. Environment: SOAK_RATE (300 req/s),
// SOAK_SECONDS (120), SOAK_WARMUP_SECONDS (20), SOAK_RUNNER (dist | tsx), SOAK_BUILD (1).
// The summary goes to stdout and to bench/results/soak-latest.json. How to read it: docs/reliability.md.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateMasterKey } from '../src/crypto/master-key.js';
import { generateToken } from '../src/crypto/tokens.js';
import { CpuMeter, killAllChildren, rssMiB, stopChild } from './lib/children.js';
import { PhaseStats, RateDriver } from './lib/rate-driver.js';
import { createMix, MIX_WEIGHTS } from './lib/soak-mix.js';
import { buildOrFallBack, ROOT, type Runner, startTesseraChild } from './lib/tessera-child.js';

/** The issue's limit: resident memory may grow by less than this after the warm-up. */
const MAX_GROWTH_PERCENT = 10;
/** Memory is compared as the median over this many seconds at each end of the measured run. */
const WINDOW_SECONDS = 10;

const log = (line: string) => process.stderr.write(`${line}\n`);

function number(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be a number from ${min} to ${max} (got '${raw}')`);
  }
  return value;
}

const options = {
  rate: number('SOAK_RATE', 300, 1, 5_000),
  seconds: Math.round(number('SOAK_SECONDS', 120, 2 * WINDOW_SECONDS, 86_400)),
  warmupSeconds: Math.round(number('SOAK_WARMUP_SECONDS', 20, 0, 3_600)),
  runner: (process.env.SOAK_RUNNER?.trim() || 'dist') as Runner,
  build: !['0', 'false', 'no', 'off'].includes(process.env.SOAK_BUILD?.trim().toLowerCase() ?? ''),
};
if (options.runner !== 'dist' && options.runner !== 'tsx') throw new Error('SOAK_RUNNER must be dist or tsx');

const RESULTS_DIR = join(ROOT, 'bench', 'results');
const LOGS_DIR = join(RESULTS_DIR, 'logs');
const MEMORY_REPORTER = fileURLToPath(new URL('./lib/memory-reporter.mjs', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Lifetime: the child dies with the soak, the temporary folder goes on every path out.

const dataDir = mkdtempSync(join(os.tmpdir(), `tessera-soak-${process.pid}-`));
const cleanUp = () => {
  killAllChildren();
  rmSync(dataDir, { recursive: true, force: true });
};
process.once('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\nsoak: ${signal}; stopping`);
    process.exit(130);
  });
}
setTimeout(
  () => {
    log('soak: took far longer than planned; stopping');
    process.exit(124);
  },
  (options.warmupSeconds + options.seconds + 300) * 1000,
).unref();

// ---------------------------------------------------------------------------------------------

async function expectOk(base: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200)
    throw new Error(`set-up: ${method} ${path} answered ${response.status}: ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0
    ? Number.NaN
    : sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const round = (value: number, digits = 1) => Number(value.toFixed(digits));
const MiB = 2 ** 20;

/** Medians of the first and last windows of the measured run, and the growth between them. */
function growthOf(series: { t: number; value: number }[], seconds: number) {
  const first = median(series.filter((s) => s.t >= 0 && s.t < WINDOW_SECONDS).map((s) => s.value));
  const last = median(
    series.filter((s) => s.t >= seconds - WINDOW_SECONDS && s.t <= seconds).map((s) => s.value),
  );
  return {
    firstWindow: round(first),
    lastWindow: round(last),
    growthPercent: round(((last - first) / first) * 100, 2),
  };
}

/** The server's own memory reports (lib/memory-reporter.mjs); none if it could not write them. */
function readMemoryReports(file: string): { t: number; heapUsed: number }[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { t: number; heapUsed: number });
}

function latencyOf(stats: PhaseStats) {
  const all = stats.latency.percentiles();
  const byOperation: Record<string, { p50: number; p99: number; max: number }> = {};
  for (const [name, samples] of stats.latencyByOperation) {
    const p = samples.percentiles();
    byOperation[name] = { p50: round(p.p50, 2), p99: round(p.p99, 2), max: round(p.max, 1) };
  }
  return { p50: round(all.p50, 2), p99: round(all.p99, 2), max: round(all.max, 1), byOperation };
}

async function main(): Promise<number> {
  mkdirSync(LOGS_DIR, { recursive: true });
  const notes: string[] = [];
  let runner = options.runner;
  if (runner === 'dist' && options.build) {
    const built = buildOrFallBack(log);
    runner = built.runner;
    if (built.note !== undefined) notes.push(built.note);
  }

  const memoryFile = join(dataDir, 'memory.jsonl');
  const bootstrap = generateToken();
  const server = await startTesseraChild({
    runner,
    label: 'soak',
    logFile: join(LOGS_DIR, 'soak-tessera.log'),
    imports: [MEMORY_REPORTER],
    env: {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_MASTER_KEY: generateMasterKey().toString('base64'),
      TESSERA_BOOTSTRAP_TOKEN: bootstrap,
      // Far above what the mix draws per key: the soak measures endurance, not the rate limiter.
      TESSERA_RATE_LIMIT_PER_MINUTE: '1000000',
      // Every soak client shares one address: one failed authentication must not become a minute
      // of 429s for all of them (a failure is still counted as an error of the run).
      TESSERA_AUTH_FAILURES_PER_MINUTE: '1000000',
      TESSERA_LOG_LEVEL: 'warn',
      BENCH_MEMORY_FILE: memoryFile,
    },
  });
  log(
    `tessera (${runner}) up in ${server.startupMs.toFixed(0)} ms at ${server.base}, pid ${server.child.pid}`,
  );
  let exitedEarly: number | string | undefined;
  void server.child.exited.then((code) => {
    exitedEarly = code;
  });

  // A few keys per role (tokens spread over the token cache) and the secrets the reads go to.
  const keyOf = async (role: string, i: number) =>
    (
      await expectOk(server.base, bootstrap, 'POST', '/api/v1/auth/key', {
        name: `soak ${role} ${i}`,
        roles: [{ type: 'DEFAULT', role }],
      })
    ).apiKey as string;
  const keys = {
    admin: await Promise.all([1, 2, 3].map((i) => keyOf('ADMIN', i))),
    user: await Promise.all([1, 2, 3].map((i) => keyOf('USER', i))),
    manager: await Promise.all([1, 2].map((i) => keyOf('MANAGER', i))),
  };
  const tags = Array.from({ length: 20 }, (_, i) => `soak-fixed-${i + 1}`);
  for (const tag of tags) {
    await expectOk(server.base, bootstrap, 'POST', '/api/v1/secrets', {
      name: `Soak ${tag}`,
      tag,
      secret: randomBytes(24).toString('base64'),
    });
  }

  const driver = new RateDriver(
    // Room for five seconds of backlog: a stall shows as latency (and timeouts past 10 s) first.
    {
      base: server.base,
      rate: options.rate,
      connections: 64,
      maxInFlight: Math.max(256, options.rate * 5),
      timeoutMs: 10_000,
    },
    createMix(keys, tags),
  );
  // Resident memory from outside, once a second, timed on this process's clock.
  const rssReadings: { at: number; value: number }[] = [];
  const sampler = setInterval(() => {
    const value = rssMiB(server.child.pid);
    if (value !== undefined) rssReadings.push({ at: performance.now(), value });
  }, 1_000);

  log(`warm-up: ${options.rate} req/s for ${options.warmupSeconds} s …`);
  const warmup = new PhaseStats();
  await driver.run(options.warmupSeconds, warmup);
  const measuredFrom = performance.now();
  const measuredFromWall = Date.now();
  const rssAtWarmupEnd = rssMiB(server.child.pid) ?? Number.NaN;
  log(`measured: ${options.rate} req/s for ${options.seconds} s …`);
  const cpu = new CpuMeter(server.child.pid, os.availableParallelism());
  const measured = new PhaseStats();
  await driver.run(options.seconds, measured);
  const cpuShares = cpu.stop();
  clearInterval(sampler);
  const rssFinal = rssMiB(server.child.pid) ?? Number.NaN;
  driver.close();
  const diedDuringRun = exitedEarly !== undefined;
  if (diedDuringRun) notes.push(`the server exited on its own (${exitedEarly}) during the run`);
  const stopCode = await stopChild(server.child);
  if (!diedDuringRun && stopCode !== 0) {
    notes.push(`the server exited with ${stopCode} on SIGTERM (a graceful stop exits 0)`);
  }

  // The heap, as the server itself reported it (lib/memory-reporter.mjs), on the same time axis.
  const heap = readMemoryReports(memoryFile).map((m) => ({
    t: (m.t - measuredFromWall) / 1000,
    value: m.heapUsed / MiB,
  }));

  // t: seconds since the measured run began (negative during the warm-up).
  const rss = rssReadings.map((r) => ({ t: (r.at - measuredFrom) / 1000, value: r.value }));
  const rssGrowth = growthOf(rss, options.seconds);
  const heapGrowth = growthOf(heap, options.seconds);
  const measuredRss = rss.filter((s) => s.t >= 0);
  // V8 lets the heap grow until a full collection, so RSS saws up and down over a minute or more:
  // the floor (lowest reading) of each half says more about a leak than any single reading.
  const floor = (from: number, to: number) =>
    round(Math.min(...measuredRss.filter((s) => s.t >= from && s.t < to).map((s) => s.value)));
  const errors = warmup.errors + measured.errors;
  const growthOk = Number.isFinite(rssGrowth.growthPercent) && rssGrowth.growthPercent < MAX_GROWTH_PERCENT;
  if (measured.maxLagMs > 1_000) {
    notes.push(
      `the driver started some requests up to ${measured.maxLagMs.toFixed(0)} ms late (machine overloaded)`,
    );
  }
  const summary = {
    when: new Date().toISOString(),
    settings: { ...options, runner, mix: MIX_WEIGHTS, storage: 'SQLite (temporary data folder)' },
    machine: { cpus: os.availableParallelism(), node: process.version },
    startupMs: round(server.startupMs, 0),
    warmup: {
      requests: warmup.completed,
      statuses: warmup.statuses,
      errors: warmup.errors,
      errorExamples: warmup.errorExamples,
    },
    measured: {
      requests: measured.completed,
      achievedRate: round(measured.completed / options.seconds),
      statuses: measured.statuses,
      byOperation: measured.byOperation,
      errors: measured.errors,
      errorExamples: measured.errorExamples,
      latencyMs: latencyOf(measured),
      driverMaxLagMs: round(measured.maxLagMs),
      serverCpuCores: cpuShares === undefined ? null : round(cpuShares.server, 2),
      // CPU used by everything else on the machine: high values mean the latencies were disturbed.
      otherCpuCores: cpuShares === undefined ? null : round(cpuShares.other, 2),
    },
    memory: {
      comparison: `median of the first ${WINDOW_SECONDS} s after warm-up vs median of the last ${WINDOW_SECONDS} s`,
      rssMiB: {
        endOfWarmup: round(rssAtWarmupEnd),
        ...rssGrowth,
        max: round(Math.max(...measuredRss.map((s) => s.value))),
        final: round(rssFinal),
        floorFirstHalf: floor(0, options.seconds / 2),
        floorSecondHalf: floor(options.seconds / 2, options.seconds + 1),
      },
      heapUsedMiB:
        heap.length === 0
          ? null
          : { ...heapGrowth, max: round(Math.max(...heap.filter((s) => s.t >= 0).map((s) => s.value))) },
      samples: measuredRss.map((s) => ({ t: round(s.t), rssMiB: round(s.value) })),
    },
    limits: { maxRssGrowthPercent: MAX_GROWTH_PERCENT, errorsAllowed: 0 },
    passed: errors === 0 && growthOk && !diedDuringRun,
    notes,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'soak-latest.json');
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  printSummary(summary);
  log(`\nsummary: ${file}`);
  return summary.passed ? 0 : 1;
}

function printSummary(s: any) {
  const m = s.measured;
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(
    `\nsoak: ${s.settings.rate} req/s for ${s.settings.seconds} s after ${s.settings.warmupSeconds} s of warm-up (${s.settings.storage}, runner ${s.settings.runner})`,
  );
  out(`requests: ${m.requests} measured (${m.achievedRate} req/s achieved), ${s.warmup.requests} in warm-up`);
  out(
    `statuses: ${Object.entries(m.statuses)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
  );
  out(
    `errors: ${m.errors} measured, ${s.warmup.errors} in warm-up${[...s.warmup.errorExamples, ...m.errorExamples].length > 0 ? ` (e.g. ${[...s.warmup.errorExamples, ...m.errorExamples].slice(0, 5).join('; ')})` : ''}`,
  );
  out(
    `latency: p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, max ${m.latencyMs.max} ms; CPU (cores): server ${m.serverCpuCores ?? '?'}, other processes ${m.otherCpuCores ?? '?'}`,
  );
  out('');
  out('operation                 count   p50 ms   p99 ms   max ms');
  for (const [name, l] of Object.entries<any>(m.latencyMs.byOperation)) {
    const count = Object.values<number>(m.byOperation[name] ?? {}).reduce((a, b) => a + b, 0);
    out(
      `${name.padEnd(24)}${String(count).padStart(7)}${String(l.p50).padStart(9)}${String(l.p99).padStart(9)}${String(l.max).padStart(9)}`,
    );
  }
  const r = s.memory.rssMiB;
  const h = s.memory.heapUsedMiB;
  out('');
  out(
    `RSS (MiB): end of warm-up ${r.endOfWarmup}, first ${WINDOW_SECONDS} s ${r.firstWindow}, last ${WINDOW_SECONDS} s ${r.lastWindow}, max ${r.max}, final ${r.final}`,
  );
  out(
    `RSS growth after warm-up: ${r.growthPercent} % (limit < ${MAX_GROWTH_PERCENT} %; ${s.memory.comparison})`,
  );
  out(`RSS floor (lowest reading) of each half of the run: ${r.floorFirstHalf} → ${r.floorSecondHalf}`);
  if (h === null) out('heap used: not reported (the memory reporter wrote nothing)');
  else {
    out(
      `heap used (MiB): first ${WINDOW_SECONDS} s ${h.firstWindow}, last ${WINDOW_SECONDS} s ${h.lastWindow}, max ${h.max}, growth ${h.growthPercent} %`,
    );
  }
  for (const note of s.notes) out(`note: ${note}`);
  out(`\n${s.passed ? 'PASS' : 'FAIL'}`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
