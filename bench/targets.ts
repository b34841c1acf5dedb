// The targets `npm run bench` judges each run by, all in one place: what each promises, the figure
// it reads, its threshold and why that threshold. They apply to a 2-core machine, 32 connections,
// SQLite with durable commits unless a target says otherwise, and they are judged from the run's
// own figures only: ratios to the bare baseline measured in the same run, never absolute figures
// from another run (see docs/performance.md).

import type { Figure, Row, Startup, Verdict } from './lib/results.js';
import { REVEAL_FLOORS } from './phases/calibration.js';
import type { PhaseNames } from './phases/context.js';
import { FLEET_CREATE, FLEET_PHASE, FLEET_REVEAL, fleetScenario } from './phases/fleet.js';

/** The figures of one run the targets are judged on (rows with their ratios to bare). */
export interface RunFigures {
  rows: Row[];
  startups: Startup[];
  names: PhaseNames;
  /** BENCH_CONNECTIONS: the count the targets are judged at. */
  connections: number;
  /** Whether a standard phase ran (BENCH_ONLY_PHASES may leave them out): else their targets are not listed. */
  standardPhases: boolean;
}

/** A target's figure on one process and, when the cluster phase measured it too, on the cluster. */
interface Judged {
  one: Figure | undefined;
  cluster?: (Figure & { phase: string }) | undefined;
}

interface Target<T> {
  /** What is promised, as the report prints it. */
  name: string;
  /** The measurement it reads. */
  reads: string;
  /** The numbers `judge` compares the measurement with (written to the results file too). */
  threshold: T;
  why: string;
  /**
   * True for targets of the standard phases, which run unless BENCH_ONLY_PHASES leaves them out:
   * when BENCH_ONLY left their rows out they are listed as "not measured". The others (large data,
   * PostgreSQL, the fleet, calibration) are listed only when their phase ran.
   */
  standard: boolean;
  judge: (figures: RunFigures, threshold: T) => Judged;
}

/** A row by its scenario's name, or that name followed by a parenthesis ("POST … (creates)"). */
function find(
  figures: RunFigures,
  phase: string | undefined,
  scenario: string,
  connections = figures.connections,
) {
  return figures.rows.find(
    (r) =>
      r.phase === phase &&
      (r.scenario === scenario || r.scenario.startsWith(`${scenario} (`)) &&
      r.connections === connections,
  );
}

const describe = (r: Row) =>
  `${Math.round(r.rps)} req/s, ${r.ratioToBare?.toFixed(2)}× bare, p99 ${r.p99Ms.toFixed(2)} ms`;

/** The figure of `phase` for one process (`sqlite`) and for the cluster (`sqlite ×N`) when it ran. */
function onBoth(
  figures: RunFigures,
  figure: (phase: string, cluster: boolean) => Figure | undefined,
): Judged {
  const cluster = figures.names.workers;
  const clusterFigure = cluster === undefined ? undefined : figure(cluster, true);
  return {
    one: figure('sqlite', false),
    cluster:
      cluster === undefined || clusterFigure === undefined ? undefined : { phase: cluster, ...clusterFigure },
  };
}

/** The phases of one process on SQLite (the large data included), or those of the cluster. */
function sqlitePhases(names: PhaseNames, cluster: boolean): (phase: string) => boolean {
  const clustered = (phase: string) => phase === names.workers || phase === names.largeWorkers;
  return cluster ? clustered : (phase) => phase.startsWith('sqlite') && !clustered(phase);
}

/** Binds a target to its threshold, so that targets of different thresholds share one list. */
function target<T>(spec: Target<T>) {
  return {
    ...spec,
    judge: (figures: RunFigures) => spec.judge(figures, spec.threshold),
  };
}

/** The fleet phase's delay its targets are judged at: PostgreSQL on a host a millisecond away. */
const FLEET_DELAY_MS = 1;

const failures = (r: Row) => r.non2xx + r.errors;

/** A fleet row's rate and p99, and its failures by status when there were any (they fail its target). */
function fleetFigure(r: Row, what: string): string {
  const figure = `${Math.round(r.rps)} ${what}/s, p99 ${r.p99Ms.toFixed(1)} ms`;
  if (failures(r) === 0) return figure;
  const parts = Object.entries(r.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, count]) => `${count}×${code}`);
  if (r.errors > 0) parts.push(`${r.errors} conn/timeout`);
  return `${figure}, ${failures(r)} failed (${parts.join(', ')})`;
}

/** Per audited scenario of the fleet phase: one node's own figure, then what a second node adds. */
const FLEET_TARGETS = [
  { scenario: FLEET_REVEAL, what: 'reveals', minPerSecond: 600 },
  { scenario: FLEET_CREATE, what: 'creates', minPerSecond: 400 },
].flatMap(({ scenario, what, minPerSecond }) => [
  target({
    name: `fleet, PostgreSQL ${FLEET_DELAY_MS} ms away, one node: ≥ ${minPerSecond} ${what}/s`,
    reads: `the fleet row '${fleetScenario(FLEET_DELAY_MS, 1, scenario)}', with no failed request`,
    threshold: { delayMs: FLEET_DELAY_MS, minPerSecond },
    why:
      'In a fleet PostgreSQL is on another host: every round trip an audited write makes inside its ' +
      'transaction costs the hop twice, and a lock held across those round trips serialises every write ' +
      'that needs it. Writes that overlap their round trips reach these figures; writes taking turns do not. ' +
      'Absolute figures: they are bound by round trips, not by the CPU the ratio to bare measures.',
    standard: false,
    judge: (figures, { delayMs, minPerSecond }) => {
      const row = find(figures, FLEET_PHASE, fleetScenario(delayMs, 1, scenario));
      return {
        one: row && { measured: fleetFigure(row, what), met: row.rps >= minPerSecond && failures(row) === 0 },
      };
    },
  }),
  target({
    name: `fleet, PostgreSQL ${FLEET_DELAY_MS} ms away: two nodes ≥ 1.5× one node's ${what}/s`,
    reads: `the fleet rows '${fleetScenario(FLEET_DELAY_MS, 2, scenario)}' and '… 1 node: …', with no failed request`,
    threshold: { delayMs: FLEET_DELAY_MS, minGain: 1.5 },
    why:
      'A second node must add capacity: a fleet-wide lock held across round trips to the database ' +
      '(the audit chain, a list count) would hold two nodes to the figure of one.',
    standard: false,
    judge: (figures, { delayMs, minGain }) => {
      const one = find(figures, FLEET_PHASE, fleetScenario(delayMs, 1, scenario));
      const two = find(figures, FLEET_PHASE, fleetScenario(delayMs, 2, scenario));
      if (one === undefined || two === undefined) return { one: undefined };
      const gain = two.rps / one.rps;
      return {
        one: {
          measured: `${fleetFigure(two, what)} against ${fleetFigure(one, what)} on one node: ×${gain.toFixed(2)}`,
          met: gain >= minGain && failures(one) === 0 && failures(two) === 0,
        },
      };
    },
  }),
]);

export const TARGETS = [
  target({
    name: 'GET /api/v1/secrets/{tag}: ≥ 0.6× bare, p99 < 5 ms',
    reads: 'the GET /api/v1/secrets/{tag} row of the sqlite phase (and of sqlite ×N)',
    threshold: { minRatio: 0.6, maxP99Ms: 5 },
    why:
      'Every API call authenticates and reading a secret by its tag is the commonest call: it may cost ' +
      'little more than the bare server, which leaves a few µs for the token check, the rate limit and a cached read.',
    standard: true,
    judge: (figures, { minRatio, maxP99Ms }) =>
      onBoth(figures, (phase) => {
        const row = find(figures, phase, 'GET /api/v1/secrets/{tag}');
        return (
          row && { measured: describe(row), met: (row.ratioToBare ?? 0) >= minRatio && row.p99Ms < maxP99Ms }
        );
      }),
  }),
  target({
    name: 'GET /api/v1/secrets/{tag}/value: ≥ 0.5× bare',
    reads: 'the GET /api/v1/secrets/{tag}/value row of the sqlite phase (and of sqlite ×N)',
    threshold: { minRatio: 0.5 },
    why:
      'A reveal decrypts (two AES-256-GCM opens) and records a durable audit event before it answers. ' +
      "The reveal-floor rows measure what that alone costs on this machine: above the floor's ratio, no reveal can go.",
    standard: true,
    judge: (figures, { minRatio }) =>
      onBoth(figures, (phase) => {
        const row = find(figures, phase, 'GET /api/v1/secrets/{tag}/value');
        return row && { measured: describe(row), met: (row.ratioToBare ?? 0) >= minRatio };
      }),
  }),
  ...REVEAL_FLOORS.map(({ name }) =>
    target({
      name: `${name.replace('bare Fastify GET / + ', '')}: no reveal gets above it`,
      reads: `the calibration row '${name}' of the baseline phase`,
      threshold: null,
      why: 'Reported, not judged: the ratio a server doing only that would reach, so the most any reveal can reach in this run.',
      standard: false,
      judge: (figures) => {
        const row = find(figures, 'baseline', name);
        return { one: row && { measured: describe(row), met: null } };
      },
    }),
  ),
  target({
    name: 'POST /api/v1/secrets on SQLite (durable): ≥ 3,000 creates/s',
    reads:
      'the POST /api/v1/secrets (creates) row of the sqlite phase (and of sqlite ×N), with no failed request',
    threshold: { minPerSecond: 3000 },
    why:
      'Every acknowledged write is durable (fsync before the answer) and audited; group commit shares one ' +
      'fsync among the writes that arrive together. An absolute figure: creates are bound by the disk, not by the ratio.',
    standard: true,
    judge: (figures, { minPerSecond }) =>
      onBoth(figures, (phase) => {
        const row = find(figures, phase, 'POST /api/v1/secrets');
        return (
          row && {
            measured: `${Math.round(row.rps)} creates/s`,
            met: row.rps >= minPerSecond && row.non2xx + row.errors === 0,
          }
        );
      }),
  }),
  target({
    name: 'POST /api/v1/secrets on PostgreSQL (report)',
    reads: 'the creates row of the postgres (or postgres+redis) phase',
    threshold: null,
    why: 'Reported, not judged: PostgreSQL shares the two cores with the server and the load generator.',
    standard: false,
    judge: (figures) => {
      const row = figures.rows.find((r) => r.phase.startsWith('postgres') && r.scenario.startsWith('POST'));
      return { one: row && { measured: `${Math.round(row.rps)} creates/s`, met: null } };
    },
  }),
  ...FLEET_TARGETS,
  target({
    name: 'fleet at the other delays (report)',
    reads: `every fleet row at a delay other than ${FLEET_DELAY_MS} ms (0 ms: no proxy, PostgreSQL on loopback)`,
    threshold: null,
    why: 'Reported, not judged: how the figures move with the distance to the database, within this run.',
    standard: false,
    judge: (figures) => {
      const rows = figures.rows.filter(
        (r) =>
          r.phase === FLEET_PHASE && r.pgDelayMs !== FLEET_DELAY_MS && r.connections === figures.connections,
      );
      if (rows.length === 0) return { one: undefined };
      const what = (r: Row) => (r.scenario.endsWith(FLEET_CREATE) ? 'creates' : 'reveals');
      return {
        one: {
          measured: rows.map((r) => `${r.scenario.split(':')[0]}: ${fleetFigure(r, what(r))}`).join('; '),
          met: null,
        },
      };
    },
  }),
  target({
    name: 'token verification with the large data no slower than with 10 keys',
    reads:
      "the ratio to bare of GET /api/v1/me (token check, cached) in the large-data phase, over the sqlite phase's",
    // A few per cent either way is noise on a shared 2-core machine.
    threshold: { minRelative: 0.9 },
    why:
      'Every call checks its token: that must not cost more as keys accumulate. Ratios, not req/s: the two ' +
      "phases run minutes apart and the host's speed drifts, so each is compared with its own bare bracket.",
    standard: false,
    judge: (figures, { minRelative }) => {
      const small = find(figures, 'sqlite', 'GET /api/v1/me');
      const big = find(figures, figures.names.large, 'GET /api/v1/me (token check, cached)');
      if (small === undefined || big === undefined) return { one: undefined };
      const relative = (big.ratioToBare ?? 0) / (small.ratioToBare ?? 1);
      return {
        one: {
          measured:
            `${big.phase}: ${big.ratioToBare?.toFixed(2)}× vs ${small.ratioToBare?.toFixed(2)}× bare ` +
            `(${Math.round(big.rps)} vs ${Math.round(small.rps)} req/s), p99 ${big.p99Ms.toFixed(2)} vs ${small.p99Ms.toFixed(2)} ms`,
          met: relative >= minRelative,
        },
      };
    },
  }),
  target({
    name: 'list page of 250 with the large data, any page: p99 < 20 ms',
    reads:
      'every page of 250 the large-data phase measures at BENCH_CONNECTIONS (keys: the first, the middle and ' +
      'the last; secrets: the last), and the key pages served by the cluster',
    threshold: { maxP99Ms: 20 },
    why:
      'A deep page must not cost a walk over the rows before it, nor `total` a count of the whole table; ' +
      'the middle page measured is the one that starts deepest inside its page block.',
    standard: false,
    judge: (figures, { maxP99Ms }) => {
      const pages = (phase: string | undefined): Figure | undefined => {
        const rows = figures.rows.filter(
          (r) => r.phase === phase && r.scenario.includes(' page (') && r.connections === figures.connections,
        );
        if (rows.length === 0) return undefined;
        return {
          measured: rows
            .map((r) => `${r.scenario.replace('GET /api/v1/auth/key ', '')}: ${r.p99Ms.toFixed(1)} ms`)
            .join('; '),
          met: Math.max(...rows.map((r) => r.p99Ms)) < maxP99Ms,
        };
      };
      const large = figures.names.large;
      const one = pages(large);
      const cluster = figures.names.largeWorkers;
      const clusterFigure = one === undefined ? undefined : pages(cluster);
      return {
        one: one && { ...one, measured: `${large}, ${figures.connections} connections: ${one.measured}` },
        cluster: clusterFigure === undefined ? undefined : { phase: cluster as string, ...clusterFigure },
      };
    },
  }),
  target({
    name: 'resident memory under load < 200 MB',
    reads:
      'the peak RSS of every measured run on SQLite: one process (the large data included), then the cluster, ' +
      'whose RSS is the sum over its primary and workers',
    threshold: { maxMB: 200 },
    why: 'A node sized at 256 MB must not be killed under load, even with a million keys stored.',
    standard: true,
    judge: (figures, { maxMB }) =>
      onBoth(figures, (_phase, cluster) => {
        const included = sqlitePhases(figures.names, cluster);
        const rss = figures.rows.filter((r) => r.rssMiB !== null && included(r.phase));
        if (rss.length === 0) return undefined;
        const peak = Math.max(...rss.map((r) => r.rssMiB as number));
        const mb = (peak * 2 ** 20) / 1e6;
        const sum = cluster ? ', all processes added up' : '';
        return { measured: `peak ${mb.toFixed(0)} MB (${peak.toFixed(0)} MiB${sum})`, met: mb < maxMB };
      }),
  }),
  target({
    name: 'start-up < 1 s whatever the data size',
    reads:
      'every timed start on SQLite, spawn to the first 200 from /healthz (restarts: the median of three)',
    threshold: { maxMs: 1000 },
    why: 'A restarted or added node serves within a second: nothing at start may walk the data.',
    standard: true,
    judge: (figures, { maxMs }) =>
      onBoth(figures, (phase, cluster) => {
        const included = cluster ? (p: string) => p === phase : sqlitePhases(figures.names, false);
        const starts = figures.startups.filter((s) => included(s.phase));
        if (starts.length === 0) return undefined;
        return {
          measured: starts.map((s) => `${s.label}: ${s.ms.toFixed(0)} ms`).join('; '),
          met: Math.max(...starts.map((s) => s.ms)) < maxMs,
        };
      }),
  }),
];

/** Every target this run has a figure for (and every standard one, measured or not). */
export function judgeTargets(figures: RunFigures): Verdict[] {
  const verdicts: Verdict[] = [];
  for (const t of TARGETS) {
    const { one, cluster } = t.judge(figures);
    if (one === undefined && !(t.standard && figures.standardPhases)) continue;
    verdicts.push({
      target: t.name,
      threshold: t.threshold,
      ...(one ?? { measured: 'not measured', met: null }),
      ...(cluster === undefined ? {} : { workers: cluster }),
    });
  }
  return verdicts;
}
