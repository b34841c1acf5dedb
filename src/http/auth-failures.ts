import { andThen, type MaybePromise } from '../runtime/maybe-promise.js';
import { clientOf } from './client-address.js';
import { AppError } from './errors.js';
import type { RateLimiter } from './rate-limiter.js';

/** Failed authentications a client may make per minute unless configured otherwise. */
export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 20;

/**
 * The failed-authentication budget: failed authentications per client per minute, far smaller
 * than the general rate limit. It limits failures only: a client that has spent it gets 429
 * instead of 401 for each further failure until the window ends, while a valid token from the
 * same address is admitted as ever, so no one behind the same NAT or CI egress can lock the
 * others out. Other clients are unaffected.
 *
 * What makes guessing hopeless is the tokens' entropy (256 bits), not this budget. What it bounds
 * is what failures cost once they are known to be failures: the 401s, and the log lines and audit
 * records they leave (a 429 past the budget is not audited). A right guess past the budget is
 * answered like any valid token: among 2^256 tokens there is no right guess to hide.
 *
 * It is an ordinary RateLimiter (in memory, shared by the workers, or Redis for the whole fleet)
 * that only failures spend, each in one step: counted and judged together, so concurrent guesses
 * cannot all pass a check made before any of them was counted.
 */
export interface AuthFailureBudget {
  /**
   * Counts one failed attempt by the client at `ip`, and fails with 429 TOO_MANY_REQUESTS when it
   * was past the budget: a throw when the budget is in memory, a rejection when it answers later
   * (see maybe-promise.ts).
   */
  spend(ip: string): MaybePromise<void>;
}

/** No budget: failed authentications draw on the general per-IP rate limit only. */
export const NO_AUTH_FAILURE_BUDGET: AuthFailureBudget = Object.freeze({ spend: () => {} });

export function createAuthFailureBudget(limiter: RateLimiter): AuthFailureBudget {
  return {
    spend(ip) {
      return andThen(limiter.consume(`authfail:${clientOf(ip)}`), (decision) => {
        if (decision.allowed) return;
        throw new AppError(
          'TOO_MANY_REQUESTS',
          'Too many failed authentications',
          `Too many failed authentication attempts from this address; retry in ${decision.resetSeconds} s`,
          { retryAfter: decision.resetSeconds },
        );
      });
    },
  };
}
