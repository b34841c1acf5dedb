// `npm run bench`: Tessera's benchmark. Starts a bare Fastify baseline and Tessera as child
// processes on loopback, loads each scenario with autocannon (same connections, same duration),
// and reports requests/s, p50/p99 latency and the ratio to the bare baseline measured in the same
// run, judged against bench/targets.ts. Options (BENCH_SECONDS, BENCH_LARGE, BENCH_PG, BENCH_FLEET, …):
// bench/lib/options.ts and docs/performance.md.
//
// The program: the phases of bench/phases/ run one after the other and each returns what it
// measured; the bare runs that bracket every scenario close at the end; then the report.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { finish, installExitHandlers } from './lib/lifetime.js';
import { log } from './lib/log.js';
import { Measurer } from './lib/measure.js';
import { readOptions } from './lib/options.js';
import { bareSummary, formatReport, writeResults } from './lib/report.js';
import { type BenchResults, type PhaseResult, withBare } from './lib/results.js';
import { prepareRunner, Servers } from './lib/servers.js';
import { removeStaleTempDirs, tempDir } from './lib/temp.js';
import { ROOT } from './lib/tessera-child.js';
import { calibrationPhase } from './phases/calibration.js';
import { type PhaseContext, phaseNames } from './phases/context.js';
import { fleetPhase } from './phases/fleet.js';
import { largePhase } from './phases/large.js';
import { postgresPhase } from './phases/postgres.js';
import { sqlitePhase, sqliteWorkersPhase } from './phases/sqlite.js';
import { judgeTargets } from './targets.js';

const RESULTS_DIR = join(ROOT, 'bench', 'results');
/** Each child's stdout and stderr, kept after the run (overwritten by the next). */
const LOGS_DIR = join(RESULTS_DIR, 'logs');
const PROFILES_DIR = join(RESULTS_DIR, 'profiles');

const options = readOptions();
installExitHandlers(options.timeoutSeconds);

function git(args: string[]): string {
  const result = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : '';
}

const loadAverage = () => os.loadavg().map((l) => Number(l.toFixed(2)));

async function main() {
  const startedAt = new Date().toISOString();
  // Profiles of an earlier run would be mistaken for this one's.
  if (options.cpuProf) rmSync(PROFILES_DIR, { recursive: true, force: true });
  mkdirSync(PROFILES_DIR, { recursive: true });
  rmSync(LOGS_DIR, { recursive: true, force: true });
  mkdirSync(LOGS_DIR, { recursive: true });
  const machine = {
    loadAverageAtStart: loadAverage(),
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
  const { runner, note: runnerNote } = prepareRunner(options);

  const servers = new Servers(options, runner, RESULTS_DIR, LOGS_DIR);
  const baseline = await servers.startBare('baseline.mjs', 'baseline');
  const measurer = new Measurer(options, servers, baseline);
  const context: PhaseContext = {
    options,
    names: phaseNames(options),
    servers,
    measurer,
    tempDir: (name) => tempDir(name, options.keepData),
  };
  const phases: PhaseResult[] = [
    {
      rows: [],
      startups: [{ phase: 'baseline', label: 'bare Fastify baseline', ms: baseline.startupMs }],
      idleRssMiB: {},
      notes: runnerNote === undefined ? [] : [runnerNote],
    },
  ];
  // BENCH_ONLY_PHASES may leave any out; the bare baseline above runs whatever it says.
  const run = options.phases;
  if (run.has('calibration')) phases.push(await calibrationPhase(context));
  if (run.has('sqlite')) phases.push(await sqlitePhase(context));
  if (run.has('workers')) phases.push(await sqliteWorkersPhase(context));
  if (run.has('large')) phases.push(await largePhase(context));
  if (run.has('postgres')) phases.push(await postgresPhase(context));
  if (run.has('fleet')) phases.push(await fleetPhase(context));
  const bare = await measurer.closeBrackets();
  await servers.stop(baseline, 'baseline');

  const rows = phases.flatMap((phase) => phase.rows).map((row) => withBare(row, bare.get(row)));
  const startups = phases.flatMap((phase) => phase.startups);
  const targets = judgeTargets({
    rows,
    startups,
    names: context.names,
    connections: options.connections,
    standardPhases: run.has('sqlite') || run.has('workers'),
  });
  const results: BenchResults = {
    startedAt,
    generatedAt: new Date().toISOString(),
    machine,
    git: {
      commit: git(['rev-parse', 'HEAD']),
      uncommittedChangesUnderSrc: git(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean)
        .length,
    },
    options: { ...options, phases: [...run], only: options.only?.source ?? null, runner },
    loadAverageAtEnd: loadAverage(),
    loadGenerator: 'autocannon (in the bench process), keep-alive connections, no pipelining',
    bareRuns: measurer.bare(),
    bareSummary: bareSummary(measurer.bare()),
    startupMs: Object.fromEntries(startups.map((s) => [s.label, s.ms])),
    startupRunsMs: Object.fromEntries(
      startups.flatMap((s) => (s.runs === undefined ? [] : [[s.label, s.runs]])),
    ),
    idleRssMiB: Object.assign({}, ...phases.map((phase) => phase.idleRssMiB)),
    seeding: phases.find((phase) => phase.seeding !== undefined)?.seeding ?? null,
    results: rows,
    targets,
    profiles: servers.profileSummaries(),
    notes: phases.flatMap((phase) => phase.notes),
  };
  process.stdout.write(formatReport(results, options.workers));
  const file = writeResults(RESULTS_DIR, results);
  log(`\nwrote ${file.slice(ROOT.length)}`);
}

main()
  .then(() => finish(0))
  .catch(async (error: unknown) => {
    log(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await finish(1);
  });
