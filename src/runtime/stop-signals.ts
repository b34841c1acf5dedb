export type StopSignal = 'SIGTERM' | 'SIGINT';

const STOP_SIGNALS: readonly StopSignal[] = ['SIGTERM', 'SIGINT'];

/**
 * Calls `stop` on the first SIGTERM or SIGINT, and keeps listening: a repeat while the process
 * stops is ignored. A stop signal often comes twice. Ctrl-C in a terminal reaches every process of
 * the foreground group, so under `npm start` the server gets the SIGINT once from the terminal and
 * once more from npm, which forwards what it receives to its script; a supervisor may send SIGTERM
 * and then SIGTERM again. With a one-time listener the second signal would meet Node's default
 * action and end the process at once, in the middle of closing its storage. The stop path bounds
 * itself (its own grace timer), so nothing is lost by ignoring the repeat; SIGKILL still ends it.
 */
export function onStopSignal(stop: (signal: StopSignal) => void): void {
  let stopping = false;
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      stop(signal);
    });
  }
}

/**
 * Listens for stop signals from now on, and acts on them once `whenReady` is given its stop: a
 * signal that arrives while the process is still starting is held until then, instead of meeting
 * Node's default action (ending the process at once, perhaps with a socket already accepting
 * connections: a worker that has just begun to listen registers its stop a moment later). So a
 * stop during start-up is a graceful stop right after it. A start that is not ready within
 * `startWithinMs` of the signal (storage unreachable, say) is abandoned: the process exits 1
 * saying so, so that Ctrl-C or a supervisor's stop never waits on a start that may not finish.
 */
export function holdStopSignals(startWithinMs: number): {
  whenReady(stop: (signal: StopSignal) => void): void;
} {
  let held: StopSignal | undefined;
  let act: ((signal: StopSignal) => void) | undefined;
  let abandon: NodeJS.Timeout | undefined;
  onStopSignal((signal) => {
    if (act !== undefined) return act(signal);
    held = signal;
    abandon = setTimeout(() => {
      process.stderr.write(`${signal} while starting: not ready within ${startWithinMs} ms, exiting\n`);
      process.exit(1);
    }, startWithinMs);
    // A start that fails instead ends the process its own way: this timer must not keep it alive.
    abandon.unref();
  });
  return {
    whenReady(stop) {
      act = stop;
      clearTimeout(abandon);
      if (held !== undefined) stop(held);
    },
  };
}
