import type { ProblemBody } from './api.js';
import { TesseraProblem, TesseraUnreachable } from './problem.js';
import { type RetryPolicy, retryDelay } from './retry.js';

export type QueryValue = string | number | boolean | undefined;

export interface CallOptions {
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  /** Aborts the call (and any wait before a retry). */
  signal?: AbortSignal;
  /** This call's time limit, when not the client's. */
  timeoutMs?: number;
}

export interface TransportOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  retry: RetryPolicy;
}

/**
 * One HTTP call to the API: the bearer token, JSON both ways, a time limit on each try, retries of
 * 429 and 503 (retry.ts), and every error reply thrown as a TesseraProblem. A call that gets no
 * reply (refused connection, reset, time limit) throws TesseraUnreachable, whose message names the
 * server's origin and the cause, never the token or a body.
 */
export class Transport {
  readonly origin: string;
  private readonly base: string;

  constructor(private readonly options: TransportOptions) {
    this.base = normalizeBaseUrl(options.baseUrl);
    this.origin = new URL(this.base).origin;
    if (!/^[\x21-\x7e]+$/.test(options.token)) {
      throw new TypeError('the token is empty or holds characters a token never has');
    }
  }

  async call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const url = new URL(this.base + path + queryString(options.query));
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.token}`,
      accept: 'application/json',
      ...(body === undefined
        ? {}
        : { 'content-type': 'application/json', 'content-length': String(body.length) }),
    };
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    for (let attempt = 1; ; attempt += 1) {
      const reply = await this.send(url, method, headers, body, timeoutMs, options.signal);
      if (reply.status >= 200 && reply.status < 300) {
        return (reply.text === '' ? undefined : JSON.parse(reply.text)) as T;
      }
      const wait = retryDelay(this.options.retry, attempt, reply.status, reply.header('retry-after'));
      if (wait === undefined) throw problemOf(reply);
      await sleep(wait, options.signal);
    }
  }

  /**
   * One request through node:http (node:https for https URLs, loaded only then): Node's own
   * client loads in a fraction of the time fetch's does, which `tessera run` pays on every start.
   */
  private async send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<RawReply> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const both = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
    try {
      return await new Promise<RawReply>((done, fail) => {
        const outgoing = request(url, { method, headers, signal: both }, (incoming) => {
          const chunks: Buffer[] = [];
          let size = 0;
          incoming.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_REPLY_BYTES)
              incoming.destroy(new Error(`a reply larger than ${MAX_REPLY_BYTES} bytes`));
            else chunks.push(chunk);
          });
          incoming.on('error', fail);
          incoming.on('end', () => {
            const header = (name: string) => {
              const value = incoming.headers[name];
              return typeof value === 'string' ? value : null;
            };
            done({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), header });
          });
        });
        outgoing.on('error', fail);
        outgoing.end(body);
      });
    } catch (error) {
      if (signal?.aborted === true) throw signal.reason;
      if (timeout.aborted) {
        throw new TesseraUnreachable(`${this.origin} did not answer within ${timeoutMs} ms`);
      }
      throw new TesseraUnreachable(`${this.origin} could not be reached (${causeOf(error)})`);
    }
  }
}

/** A reply as read off the wire. */
interface RawReply {
  status: number;
  text: string;
  header(name: string): string | null;
}

/** No reply of the API comes near this (a page of 1000 audit events is well under a megabyte). */
const MAX_REPLY_BYTES = 64 * 1024 * 1024;

/** The base URL without a trailing slash; only http and https, and no credentials in it. */
export function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError('the base URL is not a URL (e.g. https://tessera.example.com)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError('the base URL must start with http:// or https://');
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('the base URL may not hold a user name or password: give the token instead');
  }
  if (url.search !== '' || url.hash !== '')
    throw new TypeError('the base URL may not hold a query or fragment');
  return url.href.replace(/\/+$/, '');
}

function queryString(query: Record<string, QueryValue> | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) params.set(name, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function problemOf(reply: RawReply): TesseraProblem {
  let body: Partial<ProblemBody> | undefined;
  try {
    const parsed: unknown = JSON.parse(reply.text);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Partial<ProblemBody>;
  } catch {
    // Not problem+json (a proxy's page, say): the status alone is the message.
  }
  return new TesseraProblem(reply.status, body, reply.header('x-request-id') ?? undefined);
}

/** ECONNREFUSED, ECONNRESET, ENOTFOUND, ...: the error's code, or its message. */
function causeOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done, fail) => {
    if (signal?.aborted === true) return fail(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      done();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      fail(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
