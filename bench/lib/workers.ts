import { readlinkSync } from 'node:fs';
import { processTree } from './children.js';
import { log } from './log.js';
import type { Server } from './servers.js';

/**
 * The node processes of a server's tree: the primary and its workers, not helpers such as the
 * esbuild service that tsx (BENCH_RUNNER=tsx) starts in each of them.
 */
function nodeProcesses(pid: number): number {
  const executable = (p: number) => {
    try {
      return readlinkSync(`/proc/${p}/exe`);
    } catch {
      return undefined;
    }
  };
  const node = executable(pid);
  return processTree(pid).filter((p) => executable(p) === node).length;
}

/**
 * The first /healthz answer needs one worker only: waits (a few seconds at most) until the tree has
 * its N workers besides the primary, so the warm-up does not start on a half-started cluster. A tree
 * of one process means the server ignored TESSERA_WORKERS: the phase still runs, and the note this
 * returns says so.
 */
export async function awaitWorkers(phase: string, server: Server, workers: number): Promise<string[]> {
  const deadline = performance.now() + 10_000;
  let processes = nodeProcesses(server.child.pid);
  while (processes < workers + 1 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    processes = nodeProcesses(server.child.pid);
  }
  log(`[${phase}] serving with ${processes} node process${processes === 1 ? '' : 'es'}`);
  if (processes === 1) {
    return [
      `${phase}: the server ran as one process (TESSERA_WORKERS=${workers} was not acted on), ` +
        'so that phase measured the single-process server again',
    ];
  }
  if (processes < workers + 1) {
    return [
      `${phase}: only ${processes} processes (primary and workers) after 10 s; expected ${workers + 1}`,
    ];
  }
  return [];
}
