import { createWindows, type Windows } from '../http/rate-limiter.js';
import type { LimiterName, ToPrimary, ToWorker } from './ipc.js';

/** A worker as the primary sees it: something to send to. */
export interface WorkerEnd {
  send(message: ToWorker): void;
}

/**
 * The primary's part of a multi-process server: it relays change notices to every other
 * worker and keeps the fleet's rate-limit counts, telling every worker the new totals after each
 * worker's report.
 */
export function createPrimaryHub(now: () => number = Date.now) {
  const windows: Record<LimiterName, Windows> = {
    requests: createWindows(now),
    authFailures: createWindows(now),
  };

  function spend(
    from: WorkerEnd,
    limiter: LimiterName,
    report: number | undefined,
    spent: [string, number][],
    all: Iterable<WorkerEnd>,
  ) {
    const counts: [string, number, number][] = [];
    for (const [key, amount] of spent) {
      if (typeof key !== 'string' || !Number.isSafeInteger(amount) || amount < 1) continue;
      const window = windows[limiter].add(key, amount);
      counts.push([key, window.count, window.resetAt]);
    }
    if (counts.length === 0) return;
    // Everyone hears the new totals: the reporting worker as the answer to its report, the
    // others as news, so a worker knows what a key spent elsewhere before it serves the key.
    // A report's counts are added in one step: its totals are each of its requests' place.
    for (const worker of all) {
      if (worker === from) worker.send({ tessera: 'counts', limiter, answer: true, report, counts });
      else worker.send({ tessera: 'counts', limiter, answer: false, counts });
    }
  }

  return {
    /** Handles one message from `from`; `all` is every live worker, `from` included. */
    receive(from: WorkerEnd, message: ToPrimary, all: Iterable<WorkerEnd>): void {
      if (message.tessera === 'invalidate' && typeof message.owner === 'string') {
        for (const worker of all)
          if (worker !== from) worker.send({ tessera: 'invalidate', owner: message.owner });
      } else if (
        message.tessera === 'spend' &&
        Object.hasOwn(windows, message.limiter) &&
        Array.isArray(message.spent)
      ) {
        const report = Number.isSafeInteger(message.report) ? message.report : undefined;
        spend(from, message.limiter, report, message.spent, all);
      }
    },
    close(): void {
      windows.requests.clear();
      windows.authFailures.clear();
    },
  };
}

export type PrimaryHub = ReturnType<typeof createPrimaryHub>;
