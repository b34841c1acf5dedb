import { isIPv6 } from 'node:net';
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
  /** Throws 429 TOO_MANY_REQUESTS when the client at `ip` has no failed attempts left. */
  assertAllowed(ip: string): Promise<void>;
  /** Counts one failed attempt by the client at `ip`. */
  recordFailure(ip: string): Promise<void>;
}

/** No budget: failed authentications draw on the general per-IP rate limit only. */
export const NO_AUTH_FAILURE_BUDGET: AuthFailureBudget = Object.freeze({
  assertAllowed: async () => {},
  recordFailure: async () => {},
});

export function createAuthFailureBudget(limiter: RateLimiter): AuthFailureBudget {
  return {
    async assertAllowed(ip) {
      const decision = await limiter.peek(clientKeyOf(ip));
      if (decision.allowed) return;
      throw new AppError(
        'TOO_MANY_REQUESTS',
        'Too many failed authentications',
        `Too many failed authentication attempts from this address; retry in ${decision.resetSeconds} s`,
        { retryAfter: decision.resetSeconds },
      );
    },
    async recordFailure(ip) {
      await limiter.consume(clientKeyOf(ip));
    },
  };
}

/**
 * Whose budget an address spends: an IPv4 address its own, an IPv6 address its /64 network's.
 * One IPv6 host commonly holds a whole /64 and can pick a fresh address for every attempt, so a
 * per-address budget would not limit it at all.
 */
export function clientKeyOf(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped !== null) return `authfail:${mapped[1]}`;
  if (!isIPv6(ip)) return `authfail:${ip}`;
  return `authfail:${ipv6Network64(ip)}::/64`;
}

/** The first four groups of an IPv6 address, without leading zeros (`2001:db8:0:0`). */
function ipv6Network64(ip: string): string {
  const address = ip.split('%')[0] ?? ip; // a zone index (`fe80::1%eth0`) is not part of it
  const [head = '', tail] = address.split('::');
  const groups = (part: string) =>
    part === ''
      ? []
      : // An embedded IPv4 address (`::ffff:1.2.3.4`, `64:ff9b::1.2.3.4`) fills two groups.
        part.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group]));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const gap = Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...gap, ...right]
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':');
}
