import { killAllChildren } from './children.js';
import { log } from './log.js';

/**
 * How the bench ends, whichever way it ends (normal end, error, Ctrl-C, its own time limit): the
 * children die with it, and the clean-ups registered along the way (temporary folders, PostgreSQL
 * schemas) run, newest first. This is the process's own lifetime, hence state of the module.
 */
const cleanups: (() => Promise<void> | void)[] = [];
let ending = false;

/** Registers work to do on every way out. */
export function onExit(cleanup: () => Promise<void> | void) {
  cleanups.push(cleanup);
}

/** Whether the bench is on its way out: children ending now are not a surprise. */
export function isEnding(): boolean {
  return ending;
}

async function runCleanups() {
  killAllChildren();
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      // One stuck clean-up (an unreachable PostgreSQL) must not keep the bench alive.
      await Promise.race([cleanup(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    } catch (error) {
      log(`cleanup failed: ${String(error)}`);
    }
  }
}

/** Cleans up and exits with `code`. */
export async function finish(code: number): Promise<never> {
  ending = true;
  await runCleanups();
  process.exit(code);
}

function abort(reason: string, code: number) {
  if (ending) return;
  log(`\nbench: ${reason}; stopping everything`);
  void finish(code);
}

/** Ctrl-C, SIGTERM and the overall time limit all stop everything and clean up. */
export function installExitHandlers(timeoutSeconds: number) {
  process.once('SIGINT', () => abort('interrupted', 130));
  process.once('SIGTERM', () => abort('terminated', 143));
  setTimeout(
    () => abort(`took longer than BENCH_TIMEOUT_SECONDS=${timeoutSeconds}`, 124),
    timeoutSeconds * 1000,
  ).unref();
}
