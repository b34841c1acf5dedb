import type { Grants } from './grants.js';
import type { AddressMatcher } from './ip-ranges.js';

/**
 * Who is calling: the API key behind the bearer token, with its effective grants (permissions,
 * and the tags its scoped permissions reach).
 */
export interface Principal extends Grants {
  cid: string;
  /** The addresses this key may call from; undefined: anywhere. */
  allowedFrom?: AddressMatcher | undefined;
  /** This key's own requests per minute; undefined: the server's default. */
  rateLimitPerMinute?: number | undefined;
}

/** Where a request came from, for the audit log. */
export interface RequestInfo {
  requestId: string;
  ip: string;
  userAgent: string | null;
}

/** A caller as services receive it: the key, and where the request came from when over HTTP. */
export type Caller<P extends Principal = Principal> = P & Partial<RequestInfo>;
