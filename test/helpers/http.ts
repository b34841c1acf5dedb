/**
 * A small fetch wrapper for tests: JSON in, parsed JSON (or text) out, headers kept. It feeds the
 * leak scan (test/helpers/sensitive.ts): the tokens and secret values it carries are registered,
 * and error replies are kept until the server closes.
 */
import { recordErrorReply, registerSensitive } from './sensitive.js';

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export interface CallOptions {
  token?: string | undefined;
  body?: unknown;
  /** Sent as-is (not JSON-encoded) when given. */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  /** Abort the call after this long (unset: no bound). */
  timeoutMs?: number;
}

export function client(baseUrl: string) {
  return async function call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body: string | Buffer | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    registerRequest(method, path, headers, options.body);
    const signal = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
    const response = await fetch(baseUrl + path, { method, headers, body, signal });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // keep the text
    }
    const reply = { status: response.status, headers: response.headers, body: parsed, text };
    registerReply(path, reply);
    if (reply.status >= 400) recordErrorReply(baseUrl, { method, path, ...reply });
    return reply;
  };
}

/** What a token looks like (SPEC §4's prefix), well-formed or not; other junk is not a token. */
const BEARER_TOKEN = /^Bearer +(tsk_\S*)/i;

/**
 * The bearer token sent, and the `secret` field of a body written to the secrets routes: a value
 * Tessera is told is secret. (A `secret` field sent elsewhere is just an unknown field, and tests
 * reuse such strings as names and descriptions, which are stored in plaintext by design.)
 */
function registerRequest(method: string, path: string, headers: Record<string, string>, body: unknown): void {
  const bearer = BEARER_TOKEN.exec(headers.authorization ?? headers.Authorization ?? '')?.[1];
  if (bearer !== undefined) registerSensitive(bearer, 'token');
  if ((method === 'POST' || method === 'PUT') && path.startsWith('/api/v1/secrets')) {
    for (const value of fieldValues(body, 'secret')) registerSensitive(value, 'secret value');
  }
}

/** Every `apiKey` a reply carries (a new key's token), and a revealed value. */
function registerReply(path: string, reply: Reply): void {
  for (const token of fieldValues(reply.body, 'apiKey')) registerSensitive(token, 'token');
  if (reply.status === 200 && /\/value(\?|$)/.test(path)) {
    for (const value of fieldValues(reply.body, 'value')) registerSensitive(value, 'secret value');
  }
}

function fieldValues(data: unknown, field: string): string[] {
  if (typeof data !== 'object' || data === null) return [];
  return Object.entries(data).flatMap(([key, value]) =>
    key === field && typeof value === 'string' ? [value] : fieldValues(value, field),
  );
}
