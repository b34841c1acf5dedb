import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * Child processes of the bench: every one is killed when the bench exits, however it exits
 * (normal end, error, signal, watchdog). Each child also loads servers/orphan-guard.mjs, which ends
 * it should the bench itself be killed outright (SIGKILL leaves no chance to clean up here).
 *
 * A child may be a process tree (Tessera with TESSERA_WORKERS forks cluster workers). Each child
 * leads a process group of its own, so the whole tree can be killed at once, including workers
 * that outlived their primary and were re-parented (the /proc parent links no longer reach them).
 */
/** The process group of every child started (each led by the child): tracked past the child's own exit. */
const groups = new Set<number>();

export const ORPHAN_GUARD = fileURLToPath(new URL('../servers/orphan-guard.mjs', import.meta.url));

/** The fields of /proc/<pid>/stat after the command (state first: field 3 of man 5 proc). */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * The processes of group `pgid` that still run (zombies are dead already, waiting for a parent to
 * reap them). Scans /proc: a worker whose primary ended has a new parent, but keeps its group.
 */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(name);
    // state is field 3, pgrp field 5
    if (fields !== undefined && fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(name));
  }
  return members;
}

/**
 * SIGKILL to the group `pgid` if any of it still runs. Only then: a group id stays taken while a
 * member lives, but once the group is empty the number may be reused by an unrelated process.
 */
function killGroup(pgid: number) {
  if (groupMembers(pgid).length === 0) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ended meanwhile
  }
}

export function killAllChildren() {
  for (const pgid of groups) killGroup(pgid);
  groups.clear();
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
      // A process group (and session) of its own: killAllChildren and stopChild kill the whole tree.
      // The child no longer gets the terminal's Ctrl-C itself; the bench's handler stops it.
      detached: true,
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  groups.add(child.pid);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
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

/**
 * SIGTERM to the child (a graceful stop: a cluster primary stops its own workers), then SIGKILL to
 * its whole process group if it has not ended within the grace period. Processes of the group still
 * there shortly after the child ended (workers it failed to stop) are killed too.
 */
export async function stopChild(child: Child, graceMs = 15_000): Promise<number | string> {
  const pgid = child.pid;
  if (child.process.exitCode === null && child.process.signalCode === null) {
    child.process.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(pgid), graceMs);
    try {
      await child.exited;
    } finally {
      clearTimeout(timer);
    }
  }
  const deadline = performance.now() + 5_000;
  while (groupMembers(pgid).length > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  killGroup(pgid);
  groups.delete(pgid);
  return child.exited;
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

/**
 * A process and all its descendants (e.g. a cluster primary and its workers), parents first: from
 * /proc/<pid>/task/<tid>/children of every thread, since a child belongs to the thread that forked it.
 * Empty when the process is gone.
 */
export function processTree(pid: number): number[] {
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${next}/task`);
    } catch {
      continue; // gone since its parent listed it
    }
    tree.push(next);
    for (const task of tasks) {
      try {
        for (const child of readFileSync(`/proc/${next}/task/${task}/children`, 'utf8').split(' ')) {
          if (child.trim() !== '') queue.push(Number(child));
        }
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return tree;
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

/**
 * Resident set size of a process tree in MiB: the sum of each process's VmRSS (pages shared between
 * processes, such as node's own code, count once per process). Undefined when the root is gone.
 */
export function treeRssMiB(pid: number): number | undefined {
  const values = processTree(pid)
    .map(rssMiB)
    .filter((v) => v !== undefined);
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
}

/** Samples a process tree's RSS at a fixed interval while load runs; keeps the peak. */
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
    const value = treeRssMiB(this.pid);
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
  const fields = statFields(pid);
  // After the command: state is field 3, utime field 14, stime field 15 (1-based, man 5 proc).
  return fields === undefined ? 0 : Number(fields[11]) + Number(fields[12]);
}

/** The ticks of each process of a tree, by pid. */
function treeTicks(pid: number): Map<number, number> {
  return new Map(processTree(pid).map((p) => [p, processTicks(p)]));
}

/**
 * Ticks a tree used between two readings: each process's growth, a process born in between counted
 * from zero. A process that ended in between loses its last ticks (its parent's cutime would have
 * them only once reaped, with its whole life): a worker dying mid-run is a failure anyway.
 */
function ticksSince(before: Map<number, number>, now: Map<number, number>): number {
  let sum = 0;
  for (const [pid, ticks] of now) sum += Math.max(0, ticks - (before.get(pid) ?? 0));
  return sum;
}

export interface CpuShares {
  /** CPU used by the server under test (its whole process tree), in cores (1.0 = one core fully busy). */
  server: number;
  /** CPU used by the bench process itself (autocannon, the load generator). */
  loadGenerator: number;
  /** CPU used by everything else on the machine: high values mean the figures were disturbed. */
  other: number;
}

/**
 * Splits the machine's CPU time over an interval between the server (the process `serverPid` and
 * its descendants: a cluster's workers are the server, not "other"), the load generator and the rest.
 */
export class CpuMeter {
  private readonly machine = machineTicks();
  private readonly server: Map<number, number>;
  private readonly self = processTicks(process.pid);

  constructor(
    private readonly serverPid: number,
    private readonly cpus: number,
  ) {
    this.server = treeTicks(serverPid);
  }

  stop(): CpuShares | undefined {
    const machine = machineTicks();
    if (machine === undefined || this.machine === undefined) return undefined;
    const perCpu = (machine.total - this.machine.total) / this.cpus;
    if (perCpu <= 0) return undefined;
    const server = ticksSince(this.server, treeTicks(this.serverPid));
    const self = processTicks(process.pid) - this.self;
    const other = Math.max(0, machine.busy - this.machine.busy - server - self);
    return { server: server / perCpu, loadGenerator: self / perCpu, other: other / perCpu };
  }
}
