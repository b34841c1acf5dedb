/**
 * What the processes of a multi-process server (TESSERA_WORKERS > 1) tell each other. Workers
 * never talk to each other directly: the primary relays and keeps the shared counts.
 *
 * Messages carry owner ids (API key cids, secret ids) and rate-limit keys (`key:<cid>`,
 * `ip:<address>`), never a token or a value.
 */
export type LimiterName = 'requests' | 'authFailures';

export type ToPrimary =
  /** A key or secret changed: every other worker must drop what it cached of its owner. */
  | { tessera: 'invalidate'; owner: string }
  /** Requests a worker counted since its last report, per rate-limit key; `report` numbers it. */
  | { tessera: 'spend'; limiter: LimiterName; report?: number; spent: [key: string, count: number][] }
  /** A scrape of /metrics reached this worker: every worker's series, summed, are wanted. */
  | { tessera: 'metrics'; request: number };

export type ToWorker =
  | { tessera: 'invalidate'; owner: string }
  /**
   * The fleet's counts for keys after a worker's `spend`: the `answer` to this worker's own (with
   * its `report` number), or news.
   */
  | {
      tessera: 'counts';
      limiter: LimiterName;
      answer: boolean;
      report?: number;
      counts: [key: string, count: number, resetAt: number][];
    }
  /** The answer to a `metrics` request: the exposition text, or none when it failed. */
  | { tessera: 'metrics'; request: number; text: string | null };

/** One end of the line between a worker and the primary. */
export interface Channel<Out, In> {
  send(message: Out): void;
  onMessage(listener: (message: In) => void): void;
  /** False once the other end is gone: nothing sent arrives any more. */
  connected(): boolean;
}

export type WorkerChannel = Channel<ToPrimary, ToWorker>;

function isToWorker(message: unknown): message is ToWorker {
  return typeof message === 'object' && message !== null && 'tessera' in message;
}

/** A cluster worker's line to its primary: the process's IPC channel. */
export function processChannel(): WorkerChannel {
  return {
    send(message) {
      // A worker whose primary is gone is about to exit (node:cluster ends it on disconnect).
      if (process.connected) process.send?.(message);
    },
    onMessage(listener) {
      process.on('message', (message: unknown) => {
        if (isToWorker(message)) listener(message);
      });
    },
    connected: () => process.connected,
  };
}
