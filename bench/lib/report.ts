import type { CpuShares } from './children.js';
import type { LoadResult } from './load.js';

export interface Row {
  phase: string;
  scenario: string;
  connections: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Requests/s of the bare Fastify baseline around this scenario: the mean of the runs just before and after. */
  bareRps: number | null;
  /** rps / bareRps. */
  ratioToBare: number | null;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  statusCodes: Record<string, number>;
  /** Peak resident memory of the server process during the measured load, MiB. */
  rssMiB: number | null;
  /** Where the machine's CPU went during the measured load, in cores (the machine has `cpus`). */
  cpu: CpuShares | null;
  /** Measured runs made: more than one when other processes disturbed the first (the least disturbed is kept). */
  attempts: number;
}

export function toRow(
  phase: string,
  scenario: string,
  connections: number,
  result: LoadResult,
  rssMiB: number | null,
  cpu: CpuShares | undefined,
): Row {
  return {
    phase,
    scenario,
    connections,
    rps: result.rps,
    p50Ms: result.p50,
    p99Ms: result.p99,
    maxMs: result.max,
    bareRps: null,
    ratioToBare: null,
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes: result.statusCodes,
    rssMiB,
    cpu: cpu ?? null,
    attempts: 1,
  };
}

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
