import { BlockList, isIP } from 'node:net';

/** An address or a CIDR range, parsed: `192.0.2.7` is the range `192.0.2.7/32`. */
export interface AddressRange {
  family: 4 | 6;
  address: string;
  prefix: number;
}

/** The longest text an address or range can be (a full IPv6 address with an IPv4 tail and /128). */
export const ADDRESS_RANGE_MAX_LENGTH = 49;

/**
 * `192.0.2.7`, `2001:db8::1`, `10.0.0.0/8`, `fd00::/8`, `0.0.0.0/0`: an IPv4 or IPv6 address with
 * an optional prefix length from 0 to the address's bits. Undefined for anything else (a host
 * name, a zone index, a prefix with a sign or leading garbage).
 */
export function parseAddressRange(text: string): AddressRange | undefined {
  if (text.length > ADDRESS_RANGE_MAX_LENGTH) return undefined;
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  // A zone index (`fe80::1%eth0`) names an interface of this host, not an address of the client.
  const family = address.includes('%') ? 0 : isIP(address);
  if (family !== 4 && family !== 6) return undefined;
  const bits = family === 4 ? 32 : 128;
  if (slash === -1) return { family, address, prefix: bits };
  const prefixText = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  return { family, address, prefix };
}

/** An IPv4 address written as IPv6 (`::ffff:192.0.2.7`, how a dual-stack socket names it). */
const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * Whether a client address falls in any of a set of ranges, through Node's own BlockList. An
 * IPv4 client seen through a dual-stack socket (`::ffff:192.0.2.7`) matches IPv4 ranges.
 */
export class AddressMatcher {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(ranges: readonly AddressRange[]) {
    for (const range of ranges) {
      this.list.addSubnet(range.address, range.prefix, range.family === 4 ? 'ipv4' : 'ipv6');
    }
    this.size = ranges.length;
  }

  /** Parses each entry; throws on one that is not an address or a range (stored data only). */
  static of(entries: readonly string[]): AddressMatcher {
    return new AddressMatcher(
      entries.map((entry) => {
        const range = parseAddressRange(entry);
        if (range === undefined) throw new Error(`not an IP address or CIDR range: ${entry.slice(0, 64)}`);
        return range;
      }),
    );
  }

  matches(ip: string): boolean {
    const mapped = IPV4_MAPPED.exec(ip);
    if (mapped !== null) return this.list.check(mapped[1] as string, 'ipv4');
    const family = isIP(ip);
    if (family === 0) return false;
    return this.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }
}
