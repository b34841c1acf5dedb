import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * Child processes of the bench: every one is killed when the bench exits, however it exits
 * (normal end, error, signal, watchdog). Each child also loads servers/orphan-guard.mjs, which ends
 * it should the bench itself be killed outright (SIGKILL leaves no chance to clean up here).
 */
const live = new Set<ChildProcess>();

export const ORPHAN_GUARD = fileURLToPath(new URL('../servers/orphan-guard.mjs', import.meta.url));

export function killAllChildren() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

process.on('exit', killAllChildren);

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  /** The last lines it wrote (stdout and stderr), for error messages. */
  output: () => string;
}

/**
 * Starts a child whose stdout and stderr go straight to `logFile` (appended): the bench never
 * spends its own CPU, which is the load generator's, reading a server's log lines.
 */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; logFile: string },
): Child {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...options.env, BENCH_PARENT_PID: String(process.pid) },
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  live.add(child);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return { name, process: child, pid: child.pid, exited, output: () => tail(options.logFile, 40) };
}

/** The last `count` lines of a file (each cut at 400 characters), for error messages. */
function tail(file: string, count: number): string {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-count)
      .map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line))
      .join('\n');
  } catch {
    return '';
  }
}

/** SIGTERM (a graceful stop), then SIGKILL if it has not ended within the grace period. */
export async function stopChild(child: Child, graceMs = 15_000): Promise<number | string> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return child.exited;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** A port that was free a moment ago on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls `url` until it answers 200 and returns the milliseconds since `since` (the spawn).
 * Fails early, with the child's output, if the child exits first.
 */
export async function waitUntilHealthy(
  child: Child,
  url: string,
  since: number,
  timeoutMs: number,
): Promise<number> {
  let exited: number | string | undefined;
  void child.exited.then((code) => {
    exited = code;
  });
  const deadline = since + timeoutMs;
  while (performance.now() < deadline) {
    if (exited !== undefined) {
      throw new Error(`${child.name} exited (${exited}) before answering ${url}:\n${child.output()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return performance.now() - since;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms:\n${child.output()}`);
}

/** Resident set size of a process in MiB, from /proc/<pid>/status (undefined when unreadable). */
export function rssMiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS at a fixed interval while load runs; keeps the peak. */
export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample() {
    const value = rssMiB(this.pid);
    if (value !== undefined && value > this.peak) this.peak = value;
  }

  /** Stops sampling; the peak in MiB. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/** Busy and total clock ticks of the whole machine, from the first line of /proc/stat. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already counted in user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait };
  } catch {
    return undefined;
  }
}

/** User + system clock ticks a process has used (all its threads), from /proc/<pid>/stat. */
function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3, utime field 14, stime field 15 (1-based, man 5 proc).
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

export interface CpuShares {
  /** CPU used by the server under test, in cores (1.0 = one core fully busy). */
  server: number;
  /** CPU used by the bench process itself (autocannon, the load generator). */
  loadGenerator: number;
  /** CPU used by everything else on the machine: high values mean the figures were disturbed. */
  other: number;
}

/** Splits the machine's CPU time over an interval between the server, the load generator and the rest. */
export class CpuMeter {
  private readonly machine = machineTicks();
  private readonly server: number;
  private readonly self = processTicks(process.pid);

  constructor(
    private readonly serverPid: number,
    private readonly cpus: number,
  ) {
    this.server = processTicks(serverPid);
  }

  stop(): CpuShares | undefined {
    const machine = machineTicks();
    if (machine === undefined || this.machine === undefined) return undefined;
    const perCpu = (machine.total - this.machine.total) / this.cpus;
    if (perCpu <= 0) return undefined;
    const server = processTicks(this.serverPid) - this.server;
    const self = processTicks(process.pid) - this.self;
    const other = Math.max(0, machine.busy - this.machine.busy - server - self);
    return { server: server / perCpu, loadGenerator: self / perCpu, other: other / perCpu };
  }
}
