import os from 'node:os';
import { CpuMeter } from './children.js';
import { log } from './log.js';

/** The CPU shares of `pid` and the rest of the machine over `ms`. */
async function cpuOver(pid: number, ms: number) {
  const meter = new CpuMeter(pid, os.availableParallelism());
  await new Promise((resolve) => setTimeout(resolve, ms));
  return meter.stop();
}

/**
 * Waits until the server `pid` has finished what the last load left queued (slow scenarios leave
 * seconds of work behind) and, with `waitForQuiet`, until the rest of the machine is quiet too
 * (other work on a 2-core machine moves every figure). Bounded by `seconds`: after that it goes on,
 * and the "other CPU" column shows what the run shared the machine with.
 */
export async function settle(pid: number, seconds: number, waitForQuiet: boolean) {
  const deadline = performance.now() + seconds * 1000;
  let warned = false;
  while (performance.now() < deadline) {
    const shares = await cpuOver(pid, 250);
    if (shares === undefined) return;
    const busyServer = shares.server > 0.15;
    const busyMachine = waitForQuiet && shares.other > 0.25;
    if (!busyServer && !busyMachine) return;
    if (busyMachine && !busyServer && !warned) {
      log(`  (waiting for the machine to quieten: other processes use ${shares.other.toFixed(2)} cores)`);
      warned = true;
    }
  }
  log(`  (went on after ${seconds} s: server or machine still busy)`);
}
