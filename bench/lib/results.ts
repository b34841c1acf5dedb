import type { CpuShares } from './children.js';
import type { LoadResult } from './load.js';
import type { ProfileSummary } from './profile.js';

/** One measured run of one scenario. */
export interface Row {
  phase: string;
  scenario: string;
  /** All connections, split evenly among the servers measured at once. */
  connections: number;
  /** Servers measured at once (the nodes of a fleet); 1 for a single server, a cluster included. */
  nodes: number;
  /** The fleet phase: the simulated delay each way between the nodes and PostgreSQL (0: none). */
  pgDelayMs?: number;
  /** Requests/s, summed over the servers. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /**
   * Requests/s of the bare Fastify baseline around this scenario: the mean of the runs just before
   * and after. Null until the bracket is closed (the run after may come in a later phase).
   */
  bareRps: number | null;
  /** rps / bareRps. */
  ratioToBare: number | null;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  statusCodes: Record<string, number>;
  /** Peak resident memory of the server process during the measured load, MiB (the largest node's). */
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
  nodes = 1,
): Row {
  return {
    phase,
    scenario,
    connections,
    nodes,
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

/** The row with its bracket's bare requests/s and the ratio to it. */
export function withBare(row: Row, bareRps: number | undefined): Row {
  if (bareRps === undefined) return row;
  return { ...row, bareRps, ratioToBare: bareRps > 0 ? row.rps / bareRps : null };
}

/** Spawn to the first 200 from /healthz. */
export interface Startup {
  phase: string;
  /** As printed, e.g. "sqlite, restart (10 keys, 1 secret)". */
  label: string;
  ms: number;
  /** Every start timed when `ms` is their median. */
  runs?: number[];
}

/** What the large-data phase seeded (no token and no value of the seeded rows). */
export interface Seeding {
  seconds: number;
  /** Keys seeded, and as many secrets. */
  n: number;
  /** Tokens handed back for the cache-missing round-robin. */
  sampledTokens: number;
  /** The secret in the middle of the table, which the reads and reveals ask for. */
  middleTag: string;
  /** Database size after seeding (main file + WAL), bytes. */
  bytes: number;
}

/** What a phase measured. Rows come without their ratio to bare: the brackets close at the end. */
export interface PhaseResult {
  rows: Row[];
  startups: Startup[];
  /** RSS of the server's process tree at rest before the load, by phase. */
  idleRssMiB: Record<string, number | null>;
  seeding?: Seeding;
  /** Anything the reader of the figures must know (a cluster that did not fork, a failed build). */
  notes: string[];
}

export const emptyPhase = (): PhaseResult => ({ rows: [], startups: [], idleRssMiB: {}, notes: [] });

/** A CPU profile summary of one server, by scenario (BENCH_CPU_PROF). */
export type ServerProfile = ProfileSummary & {
  processes: number;
  windows: (ProfileSummary & { label: string })[];
};

export interface Figure {
  measured: string;
  /** null: reported, not judged. */
  met: boolean | null;
}

/** A target's outcome in this run. */
export interface Verdict extends Figure {
  target: string;
  threshold: unknown;
  /** The same target on the cluster of BENCH_WORKERS processes, when it ran. */
  workers?: Figure & { phase: string };
}

/** The run as written to bench/results/<date and time>.json. */
export interface BenchResults {
  /** When the run started (its file is named after it) and when it ended, ISO 8601 in UTC. */
  startedAt: string;
  generatedAt: string;
  machine: {
    loadAverageAtStart: number[];
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    platform: string;
  };
  git: { commit: string; uncommittedChangesUnderSrc: number };
  options: Record<string, unknown>;
  loadAverageAtEnd: number[];
  loadGenerator: string;
  /** Every bare-baseline run, in order; each scenario's ratio uses the two that bracket it. */
  bareRuns: Row[];
  /** Per connection count, the median bare run and the range the bare runs spanned (as printed). */
  bareSummary: Row[];
  startupMs: Record<string, number>;
  startupRunsMs: Record<string, number[]>;
  idleRssMiB: Record<string, number | null>;
  seeding: Seeding | null;
  results: Row[];
  targets: Verdict[];
  profiles: Record<string, ServerProfile>;
  notes: string[];
}
