/** Node's HTTP server limits against slow or stalling clients, in milliseconds. */
export interface HttpLimits {
  /** The request line and headers must all arrive within this: a slowloris client is cut off. */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (a 2 MB body needs far less). */
  requestTimeoutMs: number;
  /** A connection with no traffic either way for this long is closed (a client not reading). */
  idleTimeoutMs: number;
  /**
   * An idle keep-alive connection is closed after this: longer than load balancers' idle timeouts
   * (60 s is common), so a balancer never sends a request on a connection the server is closing.
   */
  keepAliveTimeoutMs: number;
  /** How often Node checks the first two timeouts: they fire up to this much late. */
  timeoutCheckIntervalMs: number;
}

export const HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 72_000,
  timeoutCheckIntervalMs: 1_000,
});
/** Request line plus headers, in bytes (Node's default, stated): a token needs under 100. 431 past it. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Characters in one path parameter; the longest identifier (a tag) has 100. */
export const MAX_PARAM_LENGTH = 200;
/**
 * Headers past this many are never read: Node 20 leaves them out of the request, later lines
 * refuse the request with 431. Real clients send about ten.
 */
export const MAX_HEADERS_COUNT = 100;
