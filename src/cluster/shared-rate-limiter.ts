import { createWindows, decide, MAX_TRACKED_KEYS, type RateLimiter } from '../http/rate-limiter.js';
import type { LimiterName, WorkerChannel } from './ipc.js';

/** How long a worker collects counts before reporting them to the primary. */
export const SPEND_REPORT_MS = 20;
/** A report the primary has not answered in this long is given up (the next one carries on). */
const REPORT_TIMEOUT_MS = 1_000;

export interface SharedRateLimiterOptions {
  name: LimiterName;
  limit: number;
  channel: WorkerChannel;
  /** Milliseconds between reports; 0 reports at the end of the current turn (rare events). */
  reportMs: number;
  now?: () => number;
  maxKeys?: number;
}

/**
 * One worker's view of a rate limit that all workers of a server share: the fleet's count as the
 * primary last reported it, plus what this worker has counted since. Deciding never waits for
 * the primary, so a request costs no round trip; counts are reported every `reportMs` and the
 * primary answers with the totals.
 *
 * The price is a bounded overshoot: within one report interval another worker may admit requests
 * this one has not heard of yet. Every report's totals go to every worker, so each knows what a
 * key spent elsewhere within one interval and one message.
 */
export function createSharedRateLimiter(options: SharedRateLimiterOptions): RateLimiter {
  const { name, limit, channel, reportMs } = options;
  const view = createWindows(options.now, options.maxKeys ?? MAX_TRACKED_KEYS);
  let unreported = new Map<string, number>();
  /** Cancels the scheduled report, if one is scheduled. */
  let cancelReport: (() => void) | undefined;
  /** When the report in flight was sent: one at a time, so an answer's totals plus `unreported` is exact. */
  let inFlightSince: number | undefined;

  channel.onMessage((message) => {
    if (message.tessera !== 'counts' || message.limiter !== name) return;
    for (const [key, count, resetAt] of message.counts) {
      view.set(key, count + (unreported.get(key) ?? 0), resetAt);
    }
    if (message.answer) {
      inFlightSince = undefined;
      if (unreported.size > 0) schedule();
    }
  });

  function report() {
    cancelReport = undefined;
    if (unreported.size === 0) return;
    if (inFlightSince !== undefined && Date.now() - inFlightSince < REPORT_TIMEOUT_MS) return;
    const spent = [...unreported];
    unreported = new Map();
    inFlightSince = Date.now();
    channel.send({ tessera: 'spend', limiter: name, spent });
  }

  function schedule() {
    if (cancelReport !== undefined) return;
    // `setImmediate`, not a 0 ms timer: a timer waits at least 1 ms, an immediate goes out at the
    // end of this turn of the event loop, which is what "at once" means for a failure report.
    if (reportMs === 0) {
      const immediate = setImmediate(report).unref();
      cancelReport = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(report, reportMs).unref();
      cancelReport = () => clearTimeout(timer);
    }
  }

  return {
    consume(key) {
      const window = view.add(key, 1);
      unreported.set(key, (unreported.get(key) ?? 0) + 1);
      schedule();
      return decide(limit, window, view.now(), 0);
    },
    peek(key) {
      return decide(limit, view.get(key), view.now(), 1);
    },
    async close() {
      cancelReport?.();
      report();
      view.clear();
    },
  };
}
