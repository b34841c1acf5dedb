import { isIPv6 } from 'node:net';

/**
 * Who a client is, for rate limits and the failed-authentication budget: an IPv4 address itself,
 * an IPv6 address its /64 network. One IPv6 host commonly holds a whole /64 and can pick a fresh
 * address for every request, so a per-address budget would not limit it at all.
 */
export function clientOf(ip: string): string {
  // Every request asks; an IPv4 address, the common case, has no colon and needs no pattern.
  if (!ip.includes(':')) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped !== null) return mapped[1] as string;
  if (!isIPv6(ip)) return ip;
  return `${ipv6Network64(ip)}::/64`;
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
