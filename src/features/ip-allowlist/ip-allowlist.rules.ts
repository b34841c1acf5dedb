import { AddressMatcher, parseAddressRange } from '../../domain/ip-ranges.js';
import type { IpAllowlistEntry } from './ip-allowlist.mapping.js';

/** Entries one list may hold. */
export const MAX_IP_ALLOWLIST_ENTRIES = 1000;

/** An entry as a request sends it: `description` may be left out. */
export interface IpAllowlistEntryInput {
  address: string;
  description?: string | null;
}

/** What is wrong with an entry's address, or undefined when it is an address or a CIDR range. */
export function addressProblem(address: string): string | undefined {
  if (parseAddressRange(address) !== undefined) return undefined;
  return 'must be an IPv4 or IPv6 address, or a CIDR range such as 10.0.0.0/8 or 2001:db8::/32';
}

/** An entry as stored and shown: the address exactly as sent, the description null when unset. */
export function storedEntry(input: IpAllowlistEntryInput): IpAllowlistEntry {
  return { address: input.address, description: input.description ?? null };
}

/**
 * Whether a list lets `ip` in: an empty list lets every address in. The entries must be valid
 * (addressProblem found nothing).
 */
export function listAdmits(entries: readonly IpAllowlistEntry[], ip: string): boolean {
  return entries.length === 0 || AddressMatcher.of(entries.map((entry) => entry.address)).matches(ip);
}
