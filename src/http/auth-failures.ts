import { andThen, type MaybePromise } from '../runtime/maybe-promise.js';
import { clientOf } from './client-address.js';
import { AppError } from './errors.js';
import type { RateLimiter } from './rate-limiter.js';

/** Failed authentications a client may make per minute unless configured otherwise. */
export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 20;

/**
 * The brute-force budget: failed authentications per client per minute, far smaller than the
 * general rate limit. Once a client has spent it, every authentication attempt it makes is refused
 * with 429 until the window ends, valid tokens included: answering a right guess differently
 * would tell the guesser it was right. Other clients are unaffected.
 *
 * It is an ordinary RateLimiter (in memory, or Redis for the whole fleet) that only failures
 * spend; each attempt first looks at it without spending.
 */
export interface AuthFailureBudget {
  /**
   * Fails with 429 TOO_MANY_REQUESTS when the client at `ip` has no failed attempts left: a throw
   * when the budget is in memory, a rejection when it answers later (see maybe-promise.ts).
   */
  assertAllowed(ip: string): MaybePromise<void>;
  /** Counts one failed attempt by the client at `ip`. */
  recordFailure(ip: string): MaybePromise<void>;
}

/** No budget: failed authentications draw on the general per-IP rate limit only. */
export const NO_AUTH_FAILURE_BUDGET: AuthFailureBudget = Object.freeze({
  assertAllowed: () => {},
  recordFailure: () => {},
});

export function createAuthFailureBudget(limiter: RateLimiter): AuthFailureBudget {
  return {
    assertAllowed(ip) {
      return andThen(limiter.peek(`authfail:${clientOf(ip)}`), (decision) => {
        if (decision.allowed) return;
        throw new AppError(
          'TOO_MANY_REQUESTS',
          'Too many failed authentications',
          `Too many failed authentication attempts from this address; retry in ${decision.resetSeconds} s`,
          { retryAfter: decision.resetSeconds },
        );
      });
    },
    recordFailure(ip) {
      return andThen(limiter.consume(`authfail:${clientOf(ip)}`), () => {});
    },
  };
}
