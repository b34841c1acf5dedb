import type { Measurer } from '../lib/measure.js';
import type { BenchOptions } from '../lib/options.js';
import type { Startup } from '../lib/results.js';
import type { Server, Servers, TesseraConfig } from '../lib/servers.js';

/** The names the phases print and the targets look rows up by. */
export interface PhaseNames {
  /** The standard scenarios on a cluster (`sqlite ×N`), when BENCH_WORKERS asks for N ≥ 2. */
  workers: string | undefined;
  /** The large-data phase, e.g. `sqlite 1M`. */
  large: string;
  /** Its list pages served by the cluster, e.g. `sqlite 1M ×2`, when there is a cluster phase. */
  largeWorkers: string | undefined;
}

export function phaseNames(options: BenchOptions): PhaseNames {
  const workers = options.workers >= 2 ? `sqlite ×${options.workers}` : undefined;
  const n = options.n;
  const large = `sqlite ${n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`}`;
  return { workers, large, largeWorkers: workers === undefined ? undefined : `${large} ×${options.workers}` };
}

/** What every phase is given. */
export interface PhaseContext {
  options: BenchOptions;
  names: PhaseNames;
  servers: Servers;
  measurer: Measurer;
  /** A temporary data folder, removed on the way out (unless BENCH_KEEP_DATA). */
  tempDir: (name: string) => string;
}

/** Restarts timed for one figure: its median. */
const STARTS = 3;

/** Starts Tessera STARTS times on the same data, keeping the last; the start-up figure is the median. */
export async function measuredStarts(
  context: PhaseContext,
  config: TesseraConfig,
  phase: string,
  label: string,
): Promise<{ server: Server; startup: Startup }> {
  const runs: number[] = [];
  let server: Server | undefined;
  for (let i = 1; i <= STARTS; i++) {
    if (server !== undefined) await context.servers.stop(server, `${config.label}-start-${i - 1}`);
    server = await context.servers.startTessera(config);
    runs.push(server.startupMs);
  }
  const ms = [...runs].sort((a, b) => a - b)[Math.floor(STARTS / 2)] as number;
  return { server: server as Server, startup: { phase, label, ms, runs } };
}
