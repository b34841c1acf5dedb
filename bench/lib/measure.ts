import os from 'node:os';
import { CpuMeter, type CpuShares, RssSampler } from './children.js';
import { type Load, type LoadSpec, runLoad, runLoads } from './load.js';
import { log } from './log.js';
import type { BenchOptions } from './options.js';
import { type Row, toRow } from './results.js';
import type { Server, Servers } from './servers.js';
import { settle } from './settle.js';

/** A scenario's load, with a path on the server in place of a whole URL. */
export type ScenarioSpec = Omit<LoadSpec, 'url'> & { path: string };

/** Above this much CPU used by other processes during a measured run, it is measured again. */
const DISTURBED_CORES = 0.3;

const hrtimeUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Measures scenarios against the bare baseline. Every scenario is bracketed in time by bare runs,
 * one just before it and the next one after it (at the same connection count, possibly in a later
 * phase, or the closing run at the end), and its ratio is to their mean: the host's drifting speed
 * (shared virtual CPUs) then largely cancels out of the ratio. The open brackets and the bare runs
 * are this object's state; the scenario rows go back to the phase that asked for them.
 */
export class Measurer {
  /** Every bare-baseline run, in order. */
  private readonly bareRuns: Row[] = [];
  /** Connection counts the bare baseline has been warmed up at. */
  private readonly bareWarm = new Set<number>();
  /** Scenario rows waiting for the bare run after them, with the index of the one before. */
  private readonly open: { row: Row; bareBefore: number }[] = [];

  constructor(
    private readonly options: BenchOptions,
    private readonly servers: Servers,
    private readonly baseline: Server,
  ) {}

  /**
   * BENCH_ONLY matches "<phase> <scenario>". The bare runs do not go through it: they always run
   * (every ratio needs them). The calibration rows of the baseline phase do: they are scenarios.
   */
  skipped(phase: string, name: string): boolean {
    return this.options.only !== undefined && !this.options.only.test(`${phase} ${name}`);
  }

  /**
   * One scenario: a single request first (it must succeed: a benchmark of 401s measures nothing),
   * an unmeasured warm-up, the bare run that opens its bracket, then the measured run with the
   * server's RSS and CPU sampled throughout. Its row, or none when BENCH_ONLY leaves it out.
   */
  measure(
    phase: string,
    name: string,
    server: Server,
    spec: ScenarioSpec,
    connections = this.options.connections,
  ): Promise<Row[]> {
    return this.measureAcross(phase, name, [server], spec, connections);
  }

  /**
   * One scenario against several servers at once, e.g. the nodes of a fleet behind a load
   * balancer: the connections split evenly among them, every server under load in the same
   * measured window. Its row sums their requests/s (percentiles over every response), its CPU is
   * theirs added up and its RSS the largest server's. Otherwise as `measure`.
   */
  async measureAcross(
    phase: string,
    name: string,
    targets: Server[],
    spec: ScenarioSpec,
    connections = this.options.connections,
  ): Promise<Row[]> {
    if (this.skipped(phase, name)) return [];
    if (targets.length === 0 || connections < targets.length) {
      throw new Error(`[${phase}] ${name}: ${connections} connections cannot load ${targets.length} servers`);
    }
    const loads: Load[] = targets.map((server, i) => ({
      spec: { ...spec, url: `${server.base}${spec.path}` },
      connections: Math.floor(connections / targets.length) + (i < connections % targets.length ? 1 : 0),
    }));
    for (const { spec: load } of loads) await probe(phase, name, load);
    if (this.options.warmupSeconds > 0) await runLoads(loads, this.options.warmupSeconds);
    for (const server of targets) await settle(server.child.pid, this.options.settleSeconds, false);
    const bareBefore = await this.bareRun(connections);
    const row = await this.measuredRun(phase, name, targets, loads, connections, this.options.seconds);
    this.open.push({ row, bareBefore });
    return [row];
  }

  /**
   * Closes every open bracket, with one more bare run per connection count where no later one was
   * made. Returns each scenario row's bare requests/s: the mean of the runs before and after it.
   */
  async closeBrackets(): Promise<Map<Row, number>> {
    const bare = new Map<Row, number>();
    const closing = new Map<number, number>();
    for (const { row, bareBefore } of this.open.splice(0)) {
      const connections = row.connections;
      // The next bare run at the same connection count, made after this row.
      let next = this.bareRuns.findIndex((b, i) => i > bareBefore && b.connections === connections);
      if (next < 0) {
        next = closing.get(connections) ?? (await this.bareRun(connections));
        closing.set(connections, next);
      }
      bare.set(row, ((this.bareRuns[bareBefore] as Row).rps + (this.bareRuns[next] as Row).rps) / 2);
    }
    return bare;
  }

  /** Every bare-baseline run so far, in order. */
  bare(): Row[] {
    return [...this.bareRuns];
  }

  /** The bare baseline, for half a scenario's duration, at `connections`; warmed up once per count. */
  private async bareRun(connections: number): Promise<number> {
    const load: LoadSpec = { url: `${this.baseline.base}/` };
    if (!this.bareWarm.has(connections) && this.options.warmupSeconds > 0) {
      await runLoad(load, connections, this.options.warmupSeconds);
      this.bareWarm.add(connections);
    }
    const seconds = Math.max(1, this.options.seconds / 2);
    const row = await this.measuredRun(
      'baseline',
      'bare Fastify GET /',
      [this.baseline],
      [{ spec: load, connections }],
      connections,
      seconds,
    );
    this.bareRuns.push(row);
    return this.bareRuns.length - 1;
  }

  /** A measured run, repeated (up to BENCH_RETRIES) when other processes disturbed it; the least disturbed is kept. */
  private async measuredRun(
    phase: string,
    name: string,
    targets: Server[],
    loads: Load[],
    connections: number,
    seconds: number,
  ): Promise<Row> {
    // PostgreSQL runs on this machine too: its CPU is part of the scenario, not a disturbance.
    const postgres = phase.startsWith('postgres') || phase === 'fleet';
    const disturbance = postgres ? Number.POSITIVE_INFINITY : DISTURBED_CORES;
    const pids = targets.map((server) => server.child.pid);
    const bare = targets.every((server) => server.bare);
    let row: Row | undefined;
    let attempts = 0;
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      attempts += 1;
      for (const pid of pids) await settle(pid, this.options.settleSeconds, !postgres);
      const samplers = pids.map((pid) => new RssSampler(pid));
      const cpu = pids.map((pid) => new CpuMeter(pid, os.availableParallelism()));
      const startUs = hrtimeUs();
      const result = await runLoads(loads, seconds);
      const window = { label: `[${phase}] ${name} (${connections} conn)`, startUs, endUs: hrtimeUs() };
      const shares = addUp(cpu.map((meter) => meter.stop()));
      const peak = Math.max(...samplers.map((sampler) => sampler.stop()));
      // Requests still queued when the load stopped are served now, not during the next run.
      for (const pid of pids) await settle(pid, this.options.settleSeconds, false);
      const candidate = toRow(phase, name, connections, result, bare ? null : peak, shares, targets.length);
      const other = shares?.other ?? 0;
      const failed = candidate.non2xx + candidate.errors;
      log(
        `[${phase}] ${name}${connections === this.options.connections ? '' : ` (${connections} conn)`}: ` +
          `${Math.round(candidate.rps)} req/s, p50 ${candidate.p50Ms.toFixed(2)} ms, p99 ${candidate.p99Ms.toFixed(2)} ms` +
          `${failed > 0 ? `, ${failed} failed` : ''}` +
          `${candidate.rssMiB === null ? '' : `, RSS ≤ ${candidate.rssMiB.toFixed(0)} MiB`}` +
          `${shares === undefined ? '' : `, CPU: server ${shares.server.toFixed(2)}, bench ${shares.loadGenerator.toFixed(2)}, other ${other.toFixed(2)}`}`,
      );
      if (row === undefined || other < (row.cpu?.other ?? 0)) {
        row = candidate;
        for (const server of targets) this.servers.recordWindow(server, window);
      }
      if (other <= disturbance) break;
      if (attempt < this.options.retries)
        log(`  (other processes used ${other.toFixed(2)} cores: measuring again)`);
    }
    return { ...(row as Row), attempts };
  }
}

/** The probe before a scenario: one request, which must succeed. */
async function probe(phase: string, name: string, load: LoadSpec) {
  const token = load.token?.() ?? undefined;
  const response = await fetch(load.url, {
    method: load.method ?? 'GET',
    headers: {
      ...load.headers,
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: load.body?.(),
    signal: AbortSignal.timeout(120_000),
  });
  const body = await response.text();
  if (response.status < 200 || response.status > 299) {
    throw new Error(`[${phase}] ${name}: the probe request answered ${response.status}: ${body}`);
  }
}

/**
 * The CPU shares of several servers measured over the same stretch, one meter each: their own
 * CPU added up. Each meter counts the other servers as "other", so that is taken out again.
 */
function addUp(shares: (CpuShares | undefined)[]): CpuShares | undefined {
  const [first] = shares;
  if (first === undefined || shares.some((share) => share === undefined)) return undefined;
  const server = shares.reduce((sum, share) => sum + (share as CpuShares).server, 0);
  return {
    server,
    loadGenerator: first.loadGenerator,
    other: Math.max(0, first.other - (server - first.server)),
  };
}
