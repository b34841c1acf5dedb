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
