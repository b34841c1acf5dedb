// `npm run bench:alternate -- <other checkout> [rounds]`: is a change faster or slower?
//
// Runs `npm run bench` in another checkout (before) and in this one (after), alternately, in one
// sitting, with the same environment (BENCH_ONLY, BENCH_SECONDS, BENCH_LARGE, …), then compares,
// scenario by scenario, the median ratio to the bare server each side reached. Alternating spreads
// whatever else the machine does over both sides; a ratio, unlike requests/s, carries over between
// runs because each run measures its own bare server. The comparison is written to
// bench/results/alternate-<time>.json beside the runs' own results.
//
// BENCH_AFTER_ENV (`NAME=value` pairs, space-separated, BENCH_ names only) applies to the after
// side alone: with this checkout as the other one, it compares a setting in one sitting, e.g.
// `BENCH_AFTER_ENV=BENCH_METRICS=1 npm run bench:alternate -- . 3` (what metrics cost).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Row } from './lib/results.js';
import { ROOT } from './lib/tessera-child.js';

const RESULTS = 'bench/results';

interface Side {
  label: 'before' | 'after';
  dir: string;
  commit: string;
  /** Settings of this side only (BENCH_AFTER_ENV). */
  env: Record<string, string>;
  /** Each run's rows, by "<phase> <scenario>". */
  runs: Map<string, Row>[];
}

function fail(message: string): never {
  console.error(`bench:alternate: ${message}`);
  process.exit(2);
}

function commitOf(dir: string): string {
  const out = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: dir, encoding: 'utf8' });
  return `${out.stdout.trim() || 'unknown'}${dirty.stdout.trim() === '' ? '' : ' + changes under src'}`;
}

const resultFiles = (dir: string) =>
  new Set(
    existsSync(join(dir, RESULTS)) ? readdirSync(join(dir, RESULTS)).filter((f) => f.endsWith('.json')) : [],
  );

/** One `npm run bench` in `dir`; its rows. Its results file moves aside so the checkout stays as it was. */
function benchOnce(side: Side, round: number, keepDir: string): void {
  const before = resultFiles(side.dir);
  console.error(`\n=== round ${round}, ${side.label} (${side.commit}) ===`);
  const run = spawnSync('npm', ['run', '--silent', 'bench'], {
    cwd: side.dir,
    stdio: 'inherit',
    env: { ...process.env, ...side.env },
  });
  if (run.status !== 0) fail(`the bench failed in ${side.label} (exit ${run.status})`);
  const written = [...resultFiles(side.dir)].filter((f) => !before.has(f));
  if (written.length !== 1) fail(`expected one new results file in ${side.label}, found ${written.length}`);
  const file = join(side.dir, RESULTS, written[0] as string);
  const { results } = JSON.parse(readFileSync(file, 'utf8')) as { results: Row[] };
  renameSync(file, join(keepDir, `${side.label}-${round}.json`));
  side.runs.push(new Map(results.map((row) => [`${row.phase} ${row.scenario}`, row])));
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const ratios = (side: Side, scenario: string) =>
  side.runs.flatMap((run) => {
    const ratio = run.get(scenario)?.ratioToBare;
    return ratio === null || ratio === undefined ? [] : [ratio];
  });

function main() {
  const [otherArg, roundsArg] = process.argv.slice(2);
  if (otherArg === undefined) fail('usage: npm run bench:alternate -- <other checkout> [rounds, default 3]');
  const other = resolve(otherArg);
  if (!existsSync(join(other, 'bench', 'run.ts'))) fail(`${other} is not a checkout with a bench`);
  const rounds = roundsArg === undefined ? 3 : Number(roundsArg);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) fail('rounds must be an integer from 1 to 20');
  const stamp = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-');
  const keepDir = join(ROOT, RESULTS, `alternate-${stamp}`);
  mkdirSync(keepDir, { recursive: true });
  const afterEnv = afterSettings(process.env.BENCH_AFTER_ENV);
  const before: Side = { label: 'before', dir: other, commit: commitOf(other), env: {}, runs: [] };
  const after: Side = { label: 'after', dir: ROOT, commit: commitOf(ROOT), env: afterEnv, runs: [] };
  for (let round = 1; round <= rounds; round++) {
    // Who goes first alternates too: a machine that warms or cools over the sitting favours neither.
    const order = round % 2 === 1 ? [before, after] : [after, before];
    for (const side of order) benchOnce(side, round, keepDir);
  }
  const scenarios = [...new Set([...before.runs, ...after.runs].flatMap((run) => [...run.keys()]))];
  const comparison = scenarios.map((scenario) => {
    const b = ratios(before, scenario);
    const a = ratios(after, scenario);
    const mb = median(b);
    const ma = median(a);
    return {
      scenario,
      before: { median: mb, runs: b },
      after: { median: ma, runs: a },
      change: mb === null || ma === null || mb === 0 ? null : ma / mb - 1,
    };
  });
  const fixed = (n: number | null) => (n === null ? '–' : n.toFixed(3));
  console.log(
    `\nratio to bare, median of ${rounds} alternating runs each (before ${before.commit}, after ${after.commit}${
      Object.keys(afterEnv).length === 0 ? '' : ` with ${process.env.BENCH_AFTER_ENV}`
    })`,
  );
  console.log('| scenario | before | after | change | before runs | after runs |');
  console.log('|---|---|---|---|---|---|');
  for (const row of comparison) {
    const change =
      row.change === null ? '–' : `${row.change >= 0 ? '+' : ''}${(row.change * 100).toFixed(1)} %`;
    const list = (values: number[]) => values.map((v) => v.toFixed(3)).join(', ');
    console.log(
      `| ${row.scenario} | ${fixed(row.before.median)} | ${fixed(row.after.median)} | ${change} | ${list(row.before.runs)} | ${list(row.after.runs)} |`,
    );
  }
  const file = join(keepDir, 'comparison.json');
  writeFileSync(
    file,
    `${JSON.stringify(
      { stamp, rounds, env: benchEnv(), afterEnv, before: before.commit, after: after.commit, comparison },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwritten: ${relative(ROOT, file)}`);
}

/** BENCH_AFTER_ENV's pairs; anything but `BENCH_…=value` is refused, naming it. */
function afterSettings(text: string | undefined): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const pair of (text ?? '').split(/\s+/).filter((p) => p !== '')) {
    const match = /^(BENCH_[A-Z0-9_]+)=(.*)$/.exec(pair);
    if (match === null) fail(`BENCH_AFTER_ENV: '${pair}' is not BENCH_NAME=value`);
    settings[match[1] as string] = match[2] as string;
  }
  return settings;
}

/** The bench settings both sides ran with (BENCH_AFTER_ENV's are the after side's alone). */
function benchEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_'))) as Record<
    string,
    string
  >;
}

main();
