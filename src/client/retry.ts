/**
 * When to try a call again: only on 429 (rate limited) and 503 (storage unavailable), the two
 * replies that mean "not done, come back", and only a bounded number of times. The wait is the
 * reply's `Retry-After` when it gives one (seconds or an HTTP date), else a doubling back-off; a
 * `Retry-After` longer than the longest wait allowed is not waited for at all: the problem is
 * thrown at once, so a caller never hangs for a minute it did not agree to.
 */
export interface RetryPolicy {
  /** Tries after the first (default 3; 0 turns retrying off). */
  retries: number;
  /** The longest single wait, in milliseconds (default 10 000). */
  maxDelayMs: number;
  /** The first back-off without a Retry-After, doubled on each try (default 250). */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, maxDelayMs: 10_000, baseDelayMs: 250 };

const RETRIED_STATUSES = new Set([429, 503]);

/** How long to wait before try `attempt` (1 for the first retry), or undefined: do not retry. */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  status: number,
  retryAfter: string | null,
  now: number = Date.now(),
): number | undefined {
  if (!RETRIED_STATUSES.has(status) || attempt > policy.retries) return undefined;
  const asked = parseRetryAfter(retryAfter, now);
  const delay = asked ?? policy.baseDelayMs * 2 ** (attempt - 1);
  if (delay > policy.maxDelayMs) return asked === undefined ? policy.maxDelayMs : undefined;
  return delay;
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date names its day and month (`Wed, 21 Oct 2026 07:28:00 GMT`); Date.parse alone
  // would read `-1` as a year.
  if (!/^[A-Za-z]{3}, /.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
