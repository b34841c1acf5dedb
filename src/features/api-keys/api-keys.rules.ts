/**
 * What a key's extras must satisfy beyond their schema: every allowed address parses, and a
 * roll's grace never outlasts the key.
 */

import type { Caller } from '../../domain/caller.js';
import { type Violation, violation } from '../../domain/errors.js';
import { AddressMatcher, parseAddressRange } from '../../domain/ip-ranges.js';

/**
 * `allowedIps` as stored: the JSON of its entries (duplicates dropped, the rest as sent), null for
 * none, undefined when not given. Each entry that is no address or CIDR range is a violation.
 */
export function storedAllowedIps(
  input: readonly string[] | null | undefined,
  violations: Violation[],
): string | null | undefined {
  if (input === undefined || input === null) return input;
  input.forEach((entry, index) => {
    if (parseAddressRange(entry) === undefined) {
      violations.push(
        violation(
          `/body/allowedIps/${index}`,
          `'${entry}' is not an IPv4 or IPv6 address or CIDR range (such as 192.0.2.7 or 10.0.0.0/8)`,
        ),
      );
    }
  });
  return JSON.stringify([...new Set(input)]);
}

/**
 * A key restricting itself to addresses that exclude the one it calls from would lock its caller
 * out with the very answer to the call: refused, as the global allowlist refuses such a list.
 * Entries that do not parse are reported by storedAllowedIps.
 */
export function refuseLockingOutCaller(
  caller: Caller,
  cid: string,
  input: readonly string[] | null | undefined,
  violations: Violation[],
): void {
  if (caller.cid !== cid || caller.ip === undefined || input === undefined || input === null) return;
  const ranges = input.map(parseAddressRange);
  if (ranges.some((range) => range === undefined)) return;
  if (new AddressMatcher(ranges as NonNullable<(typeof ranges)[number]>[]).matches(caller.ip)) return;
  violations.push(
    violation(
      '/body/allowedIps',
      `This list would refuse the calling key at its own address ${caller.ip}; include it, or make the change with another key`,
    ),
  );
}

/**
 * When the token a roll replaces stops working: `graceSeconds` from `now`, and never after the
 * key itself expires; undefined when that is not in the future (it is refused at once).
 */
export function graceEndOf(graceSeconds: number, now: Date, keyExpiresAt: string | null): string | undefined {
  let end = now.getTime() + graceSeconds * 1000;
  if (keyExpiresAt !== null) end = Math.min(end, Date.parse(keyExpiresAt));
  return end > now.getTime() ? new Date(end).toISOString() : undefined;
}
