import assert from 'node:assert/strict';
import { type CallOptions, client, type Reply } from './http.js';
import type { TestServer } from './server.js';
import { CID, type DefaultRole, ISO_UTC, TOKEN } from './spec.js';

export type Call = (method: string, path: string, options?: CallOptions) => Promise<Reply>;

/** The HTTP client of a test server (one per server, kept). */
const clients = new WeakMap<TestServer, Call>();
export function api(server: TestServer): Call {
  let call = clients.get(server);
  if (call === undefined) {
    call = client(server.url);
    clients.set(server, call);
  }
  return call;
}

export const role = (name: DefaultRole) => ({ type: 'DEFAULT', role: name }) as const;
export const customRole = (tag: string) => ({ type: 'CUSTOM', tag }) as const;

export interface NewKey {
  name?: string;
  description?: string | null;
  expirationDate?: string | null;
  /** Default roles; ADMIN-created. Default: READ_ONLY, unless custom roles are given. */
  roles?: DefaultRole[];
  /** Custom roles' tags. */
  customRoles?: string[];
  allowedIps?: string[] | null;
  rateLimitPerMinute?: number | null;
  /** The caller; default: the bootstrap admin. */
  token?: string;
}

/** A key as the create call returns it, `apiKey` (the token) included. */
export interface CreatedKey {
  apiKey: string;
  cid: string;
  name: string;
  description: string | null;
  expirationDate: string | null;
  createdDate: string;
  last4: string;
  roles: { type: string; role?: string; tag?: string }[];
  allowedIps: string[] | null;
  rateLimitPerMinute: number | null;
  lastUsedDate: string | null;
}

let counter = 0;

/** Creates a key over HTTP and asserts the 200. */
export async function createKey(server: TestServer, options: NewKey = {}): Promise<CreatedKey> {
  counter += 1;
  const body: Record<string, unknown> = {
    name: options.name ?? `test-key-${counter}`,
    roles: [
      ...(options.roles ?? (options.customRoles === undefined ? ['READ_ONLY'] : [])).map(role),
      ...(options.customRoles ?? []).map(customRole),
    ],
  };
  if (options.description !== undefined) body.description = options.description;
  if (options.expirationDate !== undefined) body.expirationDate = options.expirationDate;
  if (options.allowedIps !== undefined) body.allowedIps = options.allowedIps;
  if (options.rateLimitPerMinute !== undefined) body.rateLimitPerMinute = options.rateLimitPerMinute;
  const reply = await api(server)('POST', '/api/v1/auth/key', {
    token: options.token ?? server.adminToken,
    body,
  });
  assert.equal(reply.status, 200, `creating a key failed: ${reply.text}`);
  return reply.body as CreatedKey;
}

export async function deleteKey(server: TestServer, cid: string, token = server.adminToken): Promise<void> {
  const reply = await api(server)('DELETE', `/api/v1/auth/key/${cid}`, { token });
  assert.equal(reply.status, 200, `deleting a key failed: ${reply.text}`);
}

/**
 * The server's clock (tests move it with `server.advance`), read through the API: the
 * `createdDate` of a throw-away key, deleted again.
 */
export async function serverNow(server: TestServer, token = server.adminToken): Promise<Date> {
  const probe = await createKey(server, { name: 'clock-probe', token });
  await deleteKey(server, probe.cid, token);
  return new Date(probe.createdDate);
}

/** A key that is valid for `ms` more milliseconds of server time (created by `token`). */
export async function expiringKey(
  server: TestServer,
  ms: number,
  roles: DefaultRole[] = ['READ_ONLY'],
  token = server.adminToken,
): Promise<CreatedKey> {
  const now = await serverNow(server, token);
  return createKey(server, { roles, token, expirationDate: new Date(now.getTime() + ms).toISOString() });
}

/** `token` with the character at `index` replaced by a different base62 character. */
export function flipChar(token: string, index: number): string {
  const at = index < 0 ? token.length + index : index;
  const replacement = token[at] === 'A' ? 'B' : 'A';
  return token.slice(0, at) + replacement + token.slice(at + 1);
}

/** `%5F` for `_`: one character percent-encoded, as a client or a proxy may write it. */
function escaped(char: string, lower = false): string {
  const hex = `%${char.charCodeAt(0).toString(16).toUpperCase()}`;
  return lower ? hex.toLowerCase() : hex;
}

/**
 * The token as it may appear in a URL, percent-encoded in part or whole: `tsk%5F…`, `tsk%5f…`,
 * `%74sk_…`, one character of its random part escaped, every character escaped.
 */
export function percentEncodedForms(token: string): string[] {
  const body = token.slice(4);
  return [
    `tsk${escaped('_')}${body}`,
    `tsk${escaped('_', true)}${body}`,
    `${escaped('t')}sk_${body}`,
    `tsk_${body.slice(0, 20)}${escaped(body[20] ?? 'x', true)}${body.slice(21)}`,
    [...token].map((c) => escaped(c)).join(''),
  ];
}

/** The fields of SPEC §4's `ApiKey`, and Tessera's extensions to it (null when unset). */
export const API_KEY_FIELDS = [
  'cid',
  'name',
  'description',
  'createdDate',
  'expirationDate',
  'last4',
  'roles',
  'allowedIps',
  'rateLimitPerMinute',
  'lastUsedDate',
];

/**
 * Asserts SPEC §4's `ApiKey` shape: every field present (unset ones as null), `cid`, ISO dates,
 * and no token anywhere unless `withToken` (the create response only).
 */
export function assertApiKeyShape(key: Record<string, any>, options: { withToken?: boolean } = {}): void {
  for (const field of API_KEY_FIELDS)
    assert.ok(field in key, `ApiKey lacks '${field}': ${JSON.stringify(key)}`);
  assert.match(key.cid, CID);
  assert.equal(typeof key.name, 'string');
  assert.ok(key.description === null || typeof key.description === 'string');
  assert.match(key.createdDate, ISO_UTC);
  assert.ok(key.expirationDate === null || ISO_UTC.test(key.expirationDate), key.expirationDate);
  assert.match(key.last4, /^[0-9A-Za-z]{4}$/);
  assert.ok(Array.isArray(key.roles) && key.roles.length > 0);
  assert.ok(
    key.allowedIps === null || (Array.isArray(key.allowedIps) && key.allowedIps.length > 0),
    JSON.stringify(key.allowedIps),
  );
  assert.ok(key.rateLimitPerMinute === null || Number.isInteger(key.rateLimitPerMinute));
  assert.ok(key.lastUsedDate === null || ISO_UTC.test(key.lastUsedDate), key.lastUsedDate);
  if (options.withToken === true) {
    assert.match(key.apiKey, TOKEN);
    assert.equal(key.last4, key.apiKey.slice(-4));
  } else {
    assert.ok(!('apiKey' in key), `a token outside the create response: ${JSON.stringify(key)}`);
  }
}
