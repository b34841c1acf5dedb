import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResults, Figure, Row } from './results.js';

/**
 * The report step: the table and the targets on stdout, and the whole run as JSON, one file per
 * run under bench/results/, named by its date and time (UTC), so that runs can be compared later.
 */

const fixed = (value: number | null, digits: number) =>
  value === null || Number.isNaN(value) ? '-' : value.toFixed(digits);

function ms(value: number): string {
  if (Number.isNaN(value)) return '-';
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
}

/** A plain-text table: scenario, req/s, p50, p99, the bracketing bare req/s and the ratio to it, errors, RSS, CPU. */
export function formatTable(rows: Row[]): string {
  const header = [
    'phase',
    'scenario',
    'conn',
    'req/s',
    'p50 ms',
    'p99 ms',
    'bare req/s',
    'x bare',
    'errors',
    'RSS MiB',
    'srv CPU',
    'other CPU',
  ];
  const body = rows.map((r) => [
    r.phase,
    r.scenario,
    String(r.connections),
    Math.round(r.rps).toLocaleString('en-US'),
    ms(r.p50Ms),
    ms(r.p99Ms),
    r.bareRps === null ? '-' : Math.round(r.bareRps).toLocaleString('en-US'),
    fixed(r.ratioToBare, 2),
    r.non2xx + r.errors === 0 ? '0' : `${r.non2xx + r.errors} (${describeErrors(r)})`,
    fixed(r.rssMiB, 0),
    fixed(r.cpu?.server ?? null, 2),
    fixed(r.cpu?.other ?? null, 2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => (line[i] ?? '').length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7, 9, 10, 11]);
  const render = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(render)].join('\n');
}

function describeErrors(row: Row): string {
  const parts = Object.entries(row.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, count]) => `${count}×${code}`);
  if (row.errors > 0) parts.push(`${row.errors} conn/timeout`);
  return parts.join(', ');
}

/**
 * One line per connection count for the bare baseline itself: its median run, and the range it
 * drifted over during the run (every scenario's ratio uses the bare runs around it, not this).
 */
export function bareSummary(bareRuns: Row[]): Row[] {
  const summary: Row[] = [];
  for (const connections of [...new Set(bareRuns.map((r) => r.connections))]) {
    const runs = bareRuns.filter((r) => r.connections === connections).sort((a, b) => a.rps - b.rps);
    const median = runs[Math.floor((runs.length - 1) / 2)] as Row;
    const range = `${Math.round(runs[0]?.rps ?? 0)}–${Math.round(runs[runs.length - 1]?.rps ?? 0)}`;
    summary.push({
      ...median,
      scenario: `bare Fastify GET / (median of ${runs.length} runs, ${range} req/s)`,
      bareRps: median.rps,
      ratioToBare: 1,
    });
  }
  return summary;
}

const status = (figure: Figure) => (figure.met === null ? 'info' : figure.met ? 'met' : 'NOT met');

/** The printed report: the table, start-up times, seeding, the targets and the notes. */
export function formatReport(results: BenchResults, workers: number): string {
  const lines = [
    '',
    formatTable([...results.bareSummary, ...results.results]),
    '',
    'start-up (spawn → /healthz answers):',
    ...Object.entries(results.startupMs).map(([label, ms]) => {
      const runs = results.startupRunsMs[label];
      return `  ${label}: ${ms.toFixed(0)} ms${runs === undefined ? '' : ` (median of ${runs.map((t) => t.toFixed(0)).join(', ')})`}`;
    }),
  ];
  const seeding = results.seeding;
  if (seeding !== null) {
    lines.push(
      '',
      `seeding: ${seeding.n} keys + ${seeding.n} secrets (one encrypted version each) in ${seeding.seconds.toFixed(1)} s; ` +
        `database ${(seeding.bytes / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  lines.push(
    '',
    'targets:',
    ...results.targets.flatMap((v) => [
      `  [${status(v)}] ${v.target}: ${v.measured}`,
      ...(v.workers === undefined
        ? []
        : [
            `      ${v.workers.phase} (TESSERA_WORKERS=${workers}): [${status(v.workers)}] ${v.workers.measured}`,
          ]),
    ]),
  );
  if (results.options.cpuProf === true)
    lines.push('', 'NOTE: Tessera ran under --cpu-prof: its figures are lower than without.');
  for (const note of results.notes) lines.push(`NOTE: ${note}`);
  return `${lines.join('\n')}\n`;
}

/** Writes the run to `dir`/<start date>T<start time>Z.json and returns the file's path. */
export function writeResults(dir: string, results: BenchResults): string {
  mkdirSync(dir, { recursive: true });
  const stamp = results.startedAt.replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
  const file = join(dir, `${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}
