import {
  createWindows,
  decide,
  MAX_TRACKED_KEYS,
  type RateDecision,
  type RateLimiter,
} from '../http/rate-limiter.js';
import type { LimiterName, WorkerChannel } from './ipc.js';

/** How long a worker collects counts before reporting them to the primary. */
export const SPEND_REPORT_MS = 20;
/** A report the primary has not answered in this long is given up (the next one carries on). */
const REPORT_TIMEOUT_MS = 1_000;

export interface SharedRateLimiterOptions {
  name: LimiterName;
  /** The default limit; a call may give its key's own (the primary only counts). */
  limit: number;
  channel: WorkerChannel;
  /** Milliseconds between reports; 0 reports at the end of the current turn (rare events). */
  reportMs: number;
  /**
   * Decide on the primary's count instead of this worker's view: each request waits for the
   * answer to the report that carries it (for rare events whose budget must hold exactly).
   */
  exact?: boolean;
  now?: () => number;
  maxKeys?: number;
}

/** A request waiting for the primary's word, with what this worker would have decided alone. */
interface Waiter {
  resolve(decision: RateDecision): void;
  alone: RateDecision;
  /** The limit its request is judged by. */
  limit: number;
}

/** A report sent and not yet answered. */
interface InFlight {
  id: number;
  since: number;
  /** Exact mode: the requests it carries, per key, in the order they were counted. */
  waiting: Map<string, Waiter[]>;
  timer: NodeJS.Timeout | undefined;
}

/**
 * One worker's view of a rate limit that all workers of a server share: the fleet's count as the
 * primary last reported it, plus what this worker has counted since. Counts are reported every
 * `reportMs` and the primary answers with the totals.
 *
 * By default deciding never waits for the primary, so a request costs no round trip. The price
 * is a bounded overshoot: within one report interval another worker may admit requests this one
 * has not heard of yet. Every report's totals go to every worker, so each knows what a key spent
 * elsewhere within one interval and one message.
 *
 * `exact` trades a round trip for no overshoot: the primary adds a report's counts in one step,
 * so the i-th of a report's k requests for a key is the one that brought the total to
 * total - k + i, whatever the other workers counted; that is its place in the window, and the
 * decision. Without an answer in time (or without a primary) a request is decided on this
 * worker's view, as by default.
 */
export function createSharedRateLimiter(options: SharedRateLimiterOptions): RateLimiter {
  const { name, limit, channel, reportMs } = options;
  const exact = options.exact === true;
  const view = createWindows(options.now, options.maxKeys ?? MAX_TRACKED_KEYS);
  let unreported = new Map<string, number>();
  /** Exact mode: the requests counted in `unreported`. */
  let waiting = new Map<string, Waiter[]>();
  /** Cancels the scheduled report, if one is scheduled. */
  let cancelReport: (() => void) | undefined;
  /** One report at a time, so an answer's totals plus `unreported` is exact. */
  let inFlight: InFlight | undefined;
  let reports = 0;

  /** Ends the report in flight; its requests not decided on the primary's count are decided alone. */
  function settle(done: InFlight) {
    if (done.timer !== undefined) clearTimeout(done.timer);
    for (const waiters of done.waiting.values()) for (const waiter of waiters) waiter.resolve(waiter.alone);
    done.waiting.clear();
    if (inFlight === done) inFlight = undefined;
  }

  channel.onMessage((message) => {
    if (message.tessera !== 'counts' || message.limiter !== name) return;
    const answered = message.answer && inFlight !== undefined && message.report === inFlight.id;
    for (const [key, count, resetAt] of message.counts) {
      view.set(key, count + (unreported.get(key) ?? 0), resetAt);
      const waiters = answered ? inFlight?.waiting.get(key) : undefined;
      if (waiters === undefined) continue;
      const at = view.now();
      waiters.forEach((waiter, i) => {
        waiter.resolve(decide(waiter.limit, { count: count - waiters.length + i + 1, resetAt }, at));
      });
      inFlight?.waiting.delete(key);
    }
    if (answered && inFlight !== undefined) {
      settle(inFlight);
      if (unreported.size > 0) schedule();
    }
  });

  function report() {
    cancelReport = undefined;
    if (unreported.size === 0) return;
    if (inFlight !== undefined) {
      if (Date.now() - inFlight.since < REPORT_TIMEOUT_MS) return;
      settle(inFlight);
    }
    const spent = [...unreported];
    unreported = new Map();
    const sent: InFlight = { id: ++reports, since: Date.now(), waiting, timer: undefined };
    waiting = new Map();
    inFlight = sent;
    if (exact) {
      // Unanswered (a primary too busy or gone): decide alone rather than hold requests.
      sent.timer = setTimeout(() => {
        settle(sent);
        if (unreported.size > 0) schedule();
      }, REPORT_TIMEOUT_MS);
    }
    channel.send({ tessera: 'spend', limiter: name, report: sent.id, spent });
  }

  function schedule() {
    if (cancelReport !== undefined) return;
    // `setImmediate`, not a 0 ms timer: a timer waits at least 1 ms, an immediate goes out at the
    // end of this turn of the event loop, which is what "at once" means for a failure report.
    // In exact mode requests wait on the report and its answer, so both keep the process alive.
    if (reportMs === 0) {
      const immediate = setImmediate(report);
      if (!exact) immediate.unref();
      cancelReport = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(report, reportMs);
      if (!exact) timer.unref();
      cancelReport = () => clearTimeout(timer);
    }
  }

  return {
    consume(key, keyLimit = limit) {
      const window = view.add(key, 1);
      unreported.set(key, (unreported.get(key) ?? 0) + 1);
      schedule();
      const alone = decide(keyLimit, window, view.now());
      if (!exact || !channel.connected()) return alone;
      return new Promise<RateDecision>((resolve) => {
        const waiter = { resolve, alone, limit: keyLimit };
        const waiters = waiting.get(key);
        if (waiters === undefined) waiting.set(key, [waiter]);
        else waiters.push(waiter);
      });
    },
    async close() {
      cancelReport?.();
      report();
      if (inFlight !== undefined) settle(inFlight);
      for (const waiters of waiting.values()) for (const waiter of waiters) waiter.resolve(waiter.alone);
      waiting.clear();
      view.clear();
    },
  };
}
