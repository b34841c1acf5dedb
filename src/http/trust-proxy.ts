import { ConfigError } from '../config-error.js';
import { parseAddressRange } from '../domain/ip-ranges.js';

/**
 * Which proxies in front of Tessera may name the client in `X-Forwarded-For`: none (`false`), the
 * nearest `n` hops whatever their address, or the peers whose address is in a list of addresses
 * and CIDR ranges. Never "every hop": a proxy appends the peer it saw to whatever the client sent,
 * so trusting every entry hands the client the left-most one, an address of its own choosing.
 */
export type TrustProxy = false | number | readonly string[];

/** More proxies than this between a client and Tessera is a mistake, not a topology. */
export const MAX_TRUSTED_HOPS = 16;
const MAX_TRUSTED_ENTRIES = 64;

const VARIABLE = 'TESSERA_TRUST_PROXY';
const EVERY_HOP = `${VARIABLE}=true would let clients choose their own address: set it to the number of proxies in front of Tessera (e.g. 1) or to their addresses/CIDRs`;

/** Parses TESSERA_TRUST_PROXY: unset, false or 0; a hop count; or addresses and CIDRs, comma-separated. */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  const value = raw?.trim().toLowerCase() ?? '';
  if (['', '0', 'false', 'no', 'off'].includes(value)) return false;
  if (['true', 'yes', 'on'].includes(value)) throw new ConfigError(EVERY_HOP);
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops === 0) return false;
    if (hops > MAX_TRUSTED_HOPS) {
      throw new ConfigError(`${VARIABLE} counts proxies: a whole number from 1 to ${MAX_TRUSTED_HOPS}`);
    }
    return hops;
  }
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.length > MAX_TRUSTED_ENTRIES) {
    throw new ConfigError(`${VARIABLE} lists at most ${MAX_TRUSTED_ENTRIES} proxy addresses or CIDRs`);
  }
  for (const entry of entries) {
    if (!isAddressOrRange(entry)) {
      throw new ConfigError(
        `${VARIABLE}: '${entry.slice(0, 64)}' is not an IP address or CIDR range (write a number of proxies, e.g. 1, or their addresses, e.g. 10.0.0.0/8,fd00::/8)`,
      );
    }
  }
  return Object.freeze(entries);
}

/** An address, or a range of at least a /1: a /0 range trusts every address, the same hole as `true`. */
function isAddressOrRange(entry: string): boolean {
  const range = parseAddressRange(entry);
  return range !== undefined && range.prefix >= 1;
}

/**
 * The setting as Fastify's `trustProxy`. An address list passes as it is (Fastify matches the
 * socket peer, then each entry from the right, against it). A hop count becomes a function of the
 * hop's position, because Fastify itself ignores a number (it trusts nothing for one): hop 0 is
 * the socket peer, hop 1 the right-most X-Forwarded-For entry, and so on; the client is the first
 * hop not trusted, so `1` makes it the entry the one proxy appended.
 */
export function fastifyTrustProxy(
  setting: TrustProxy,
): false | string[] | ((address: string, hop: number) => boolean) {
  if (setting === false) return false;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return [...setting];
}
