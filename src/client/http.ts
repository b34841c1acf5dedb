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
    const url = this.base + path + queryString(options.query);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.token}`,
      accept: 'application/json',
    };
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    for (let attempt = 1; ; attempt += 1) {
      const response = await this.send(url, { method, headers, body }, timeoutMs, options.signal);
      const text = await response.text();
      if (response.ok) return (text === '' ? undefined : JSON.parse(text)) as T;
      const wait = retryDelay(
        this.options.retry,
        attempt,
        response.status,
        response.headers.get('retry-after'),
      );
      if (wait === undefined) throw problemOf(response, text);
      await sleep(wait, options.signal);
    }
  }

  private async send(
    url: string,
    init: { method: string; headers: Record<string, string>; body: string | undefined },
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      return await fetch(url, {
        ...init,
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
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

function problemOf(response: Response, text: string): TesseraProblem {
  let body: Partial<ProblemBody> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Partial<ProblemBody>;
  } catch {
    // Not problem+json (a proxy's page, say): the status alone is the message.
  }
  return new TesseraProblem(response.status, body, response.headers.get('x-request-id') ?? undefined);
}

/** ECONNREFUSED, ENOTFOUND, ...: the cause's code, or its message; fetch's own says only "fetch failed". */
function causeOf(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return code;
  if (cause instanceof Error) return cause.message;
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
