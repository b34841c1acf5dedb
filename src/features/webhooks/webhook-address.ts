import type { LookupAddress, LookupAllOptions, LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Where a webhook may not point unless private addresses are allowed
 * (TESSERA_WEBHOOK_ALLOW_PRIVATE): a webhook must not become a way into the network it runs in.
 * Node's BlockList also matches the IPv4-mapped IPv6 form of every IPv4 range (::ffff:10.0.0.1).
 */
const REFUSED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  REFUSED.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64: an IPv4 address in disguise
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  REFUSED.addSubnet(network, prefix, 'ipv6');
}

/** Whether an address is loopback, private, link-local or otherwise not on the public internet. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return REFUSED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The host of a URL as an address when it is one (brackets of an IPv6 literal removed). */
function literalAddress(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? undefined : bare;
}

export class RefusedAddressError extends Error {}

/**
 * What is wrong with a webhook URL, or undefined: http(s) only, no credentials, and (unless
 * `allowPrivate`) a host whose every address is public. The host is resolved now; delivery checks
 * again against the address it connects to (see guardedLookup), since DNS can change its answer.
 */
export async function urlProblem(raw: string, allowPrivate: boolean): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http or https URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (url.username !== '' || url.password !== '') {
    return 'must not carry credentials: receivers verify the Tessera-Signature header instead';
  }
  if (allowPrivate) return undefined;
  const literal = literalAddress(url.hostname);
  const addresses = literal === undefined ? await resolveAll(url.hostname) : [literal];
  if (addresses === undefined) return `has a host that does not resolve ('${url.hostname.slice(0, 256)}')`;
  if (addresses.some(isPrivateAddress)) {
    return 'points at a loopback, private or link-local address, which webhooks may not reach';
  }
  return undefined;
}

async function resolveAll(hostname: string): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    dnsLookup(hostname, { all: true }, (error, addresses) => {
      resolve(error === null && addresses.length > 0 ? addresses.map((a) => a.address) : undefined);
    });
  });
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for node:http(s) that refuses private addresses: the check is made on the addresses
 * the connection will actually use, so a name that resolved to a public address when the webhook
 * was saved and to 127.0.0.1 now (DNS rebinding) is refused.
 */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true } as LookupAllOptions, (error, addresses) => {
    if (error !== null) return callback(error, []);
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused !== undefined) {
      return callback(new RefusedAddressError(`${hostname} resolves to a private address`), []);
    }
    if (options.all === true) return callback(null, addresses);
    const first = addresses[0];
    if (first === undefined) return callback(new RefusedAddressError(`${hostname} has no address`), []);
    callback(null, first.address, first.family);
  });
}

/** Before connecting to a URL whose host is an address (no lookup happens): refused when private. */
export function refusedLiteral(url: URL): boolean {
  const literal = literalAddress(url.hostname);
  return literal !== undefined && isPrivateAddress(literal);
}
