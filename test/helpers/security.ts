/**
 * The authorization matrix: every route of the API (the rows, test/helpers/protected-routes.ts:
 * MATRIX_ROWS) × every kind of caller (the columns, CALLERS below). Each cell's expected status
 * comes from SPEC §3 and §6 as restated in test/helpers/spec.ts (`accessStatus`), never from src/.
 * test/security/authorization-matrix.test.ts runs every cell once, on one server whose caller
 * keys are made once (`createCallerKeys`), and prints the table.
 *
 * Cells are requests that would succeed but for the caller: a valid body, an existing target.
 * So a 401 can only come from the credentials, a 403 only from the permission, and a 200 proves
 * that a table entry is not too strict.
 */
import assert from 'node:assert/strict';
import { generateToken } from '../../src/crypto/tokens.js';
import type { Reply } from './http.js';
import { api, type Call, createKey, deleteKey, expiringKey, flipChar } from './keys.js';
import { assertProblem } from './problem.js';
import type { TestServer } from './server.js';
import {
  accessStatus,
  DEFAULT_ROLES,
  type DefaultRole,
  type Identity,
  type Permission,
  type Requirement,
} from './spec.js';

export type Vars = Record<string, string>;

export interface RouteContext {
  server: TestServer;
  call: Call;
  /** The bootstrap ADMIN key's token. */
  adminToken: string;
}

export interface ProtectedRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** As in the OpenAPI document: `/api/v1/auth/key/{cid}`. Placeholders are filled from `setup`. */
  path: string;
  /** The permission the call needs (a list: any one of them); `null`: any valid key will do (no 403 case). */
  permission: Permission | readonly Permission[] | null;
  /** A valid body, so that a permitted key gets 200. A function receives `setup`'s values. */
  body?: unknown | ((vars: Vars) => unknown);
  /**
   * Creates what the placeholders name (as the admin) and returns their values, e.g. `{ cid }`.
   * Called afresh for every request expected to get through, so a DELETE always has a target.
   */
  setup?: (context: RouteContext) => Promise<Vars>;
}

/** A route that needs no token at all (SPEC §9: health probes, the API reference). */
export interface PublicRoute {
  method: 'GET';
  path: string;
  /** Whether the OpenAPI document lists it (the reference page `/docs` is not an API operation). */
  documented: boolean;
}

/** One row of the matrix: a route and what it asks of its caller. */
export type MatrixRow = Omit<ProtectedRoute, 'permission'> & { requirement: Requirement };

export function routeName(route: Pick<ProtectedRoute, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

/** Fills `{name}` placeholders; an unfilled placeholder is a bug in the table. */
export function fillPath(path: string, vars: Vars): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${path}: add a setup`);
    return encodeURIComponent(value);
  });
}

// ---------------------------------------------------------------------------------------------
// The callers (columns)

/** The keys the callers use, made once per server by `createCallerKeys`. */
export interface CallerKeys {
  role: Record<DefaultRole, string>;
  /** READ_ONLY and MANAGER together: SPEC §6's union. */
  multiRole: string;
  /** A key holding only the custom role MATRIX_CUSTOM_ROLE, and one holding it beside USER. */
  custom: string;
  customAndUser: string;
  /** ADMIN keys that expired: one used (so in the token cache) before it expired, one never used. */
  expiredCached: string;
  expiredUncached: string;
  /** ADMIN keys that were deleted: one used (cached) before, one never used. */
  deletedCached: string;
  deletedUncached: string;
}

export interface MatrixCaller {
  /** Its column of the printed table; several callers may share one. */
  group: string;
  label: string;
  identity: Identity;
  /** The Authorization header to send; undefined: none. */
  authorization: (keys: CallerKeys) => string | undefined;
  /**
   * Sends malformed JSON instead of the route's valid body (routes with a body only): access is
   * decided before the body is read, so the caller learns nothing about the schema.
   */
  malformedBody?: boolean;
}

const NO_KEY: Identity = { valid: false };

/**
 * The custom role of the matrix's CUSTOM columns: a mix no default role has, so that a cell can
 * only be right if the key's custom role is what decides it.
 */
const MATRIX_CUSTOM_ROLE = 'matrix-custom';
const MATRIX_CUSTOM_PERMISSIONS: readonly Permission[] = ['READ_SECRET_VALUES', 'EDIT_ROLES'];
const holding = (...roles: DefaultRole[]): Identity => ({ valid: true, roles });

/**
 * Malformed Authorization headers, each built from a valid ADMIN token (permitted everywhere), so
 * that only the malformation can be the reason for the 401.
 */
export const MALFORMED_AUTHORIZATION: readonly [string, (valid: string) => string][] = [
  ['wrong prefix', (t) => `Bearer gsk_${t.slice(4)}`],
  ['upper-case prefix', (t) => `Bearer TSK_${t.slice(4)}`],
  ['one character of the random part changed (bad checksum)', (t) => `Bearer ${flipChar(t, 10)}`],
  ['one character of the checksum changed', (t) => `Bearer ${flipChar(t, -1)}`],
  ['one character too long', (t) => `Bearer ${t}A`],
  ['one character too short', (t) => `Bearer ${t.slice(0, -1)}`],
  ['a character outside base62', (t) => `Bearer ${t.slice(0, 20)}-${t.slice(21)}`],
  ['"Bearer" and nothing', () => 'Bearer'],
  ['the token without a scheme', (t) => t],
  ['Basic credentials', () => 'Basic xyz'],
  ['Basic carrying the token', (t) => `Basic ${Buffer.from(`${t}:`).toString('base64')}`],
  ['two tokens', (t) => `Bearer ${t} ${t}`],
];

const DEFAULT_ROLE_CALLERS = DEFAULT_ROLES.map(
  (name): MatrixCaller => ({
    group: name,
    label: `a key with the ${name} role`,
    identity: holding(name),
    authorization: (keys) => `Bearer ${keys.role[name]}`,
  }),
);

/** Every caller, in the printed table's column order. */
export const CALLERS: readonly MatrixCaller[] = [
  { group: 'none', label: 'no Authorization header', identity: NO_KEY, authorization: () => undefined },
  { group: 'empty', label: 'an empty Authorization header', identity: NO_KEY, authorization: () => '' },
  ...MALFORMED_AUTHORIZATION.map(
    ([label, header]): MatrixCaller => ({
      group: 'malformed',
      label: `malformed: ${label}`,
      identity: NO_KEY,
      authorization: (keys) => header(keys.role.ADMIN),
    }),
  ),
  {
    group: 'unknown',
    label: 'a well-formed but unknown token',
    identity: NO_KEY,
    // Made here, not once: no two cells share a token that could end up cached.
    authorization: () => `Bearer ${generateToken()}`,
  },
  {
    group: 'expired',
    label: 'an ADMIN key that expired while in the token cache',
    identity: NO_KEY,
    authorization: (keys) => `Bearer ${keys.expiredCached}`,
  },
  {
    group: 'expired',
    label: 'an ADMIN key that expired before its first use',
    identity: NO_KEY,
    authorization: (keys) => `Bearer ${keys.expiredUncached}`,
  },
  {
    group: 'deleted',
    label: 'an ADMIN key deleted while in the token cache',
    identity: NO_KEY,
    authorization: (keys) => `Bearer ${keys.deletedCached}`,
  },
  {
    group: 'deleted',
    label: 'an ADMIN key deleted before its first use',
    identity: NO_KEY,
    authorization: (keys) => `Bearer ${keys.deletedUncached}`,
  },
  {
    group: 'bad JSON',
    label: 'no token, malformed JSON body',
    identity: NO_KEY,
    authorization: () => undefined,
    malformedBody: true,
  },
  {
    group: 'bad JSON',
    label: 'a READ_ONLY key, malformed JSON body',
    identity: holding('READ_ONLY'),
    authorization: (keys) => `Bearer ${keys.role.READ_ONLY}`,
    malformedBody: true,
  },
  ...DEFAULT_ROLE_CALLERS,
  {
    group: 'READ_ONLY+MANAGER',
    label: 'a key holding READ_ONLY and MANAGER (the union of their permissions)',
    identity: holding('READ_ONLY', 'MANAGER'),
    authorization: (keys) => `Bearer ${keys.multiRole}`,
  },
  {
    group: 'CUSTOM',
    label: `a key holding only a custom role granting ${MATRIX_CUSTOM_PERMISSIONS.join(', ')}`,
    identity: { valid: true, roles: [], custom: MATRIX_CUSTOM_PERMISSIONS },
    authorization: (keys) => `Bearer ${keys.custom}`,
  },
  {
    group: 'CUSTOM+USER',
    label: 'a key holding that custom role and USER (the union of their permissions)',
    identity: { valid: true, roles: ['USER'], custom: MATRIX_CUSTOM_PERMISSIONS },
    authorization: (keys) => `Bearer ${keys.customAndUser}`,
  },
  // RFC 7235 §2.1 (which SPEC §3's "Bearer" scheme follows): the scheme name is case-insensitive.
  {
    group: 'bearer/BEARER',
    label: 'a USER key with the scheme written "bearer"',
    identity: holding('USER'),
    authorization: (keys) => `bearer ${keys.role.USER}`,
  },
  {
    group: 'bearer/BEARER',
    label: 'a USER key with the scheme written "BEARER"',
    identity: holding('USER'),
    authorization: (keys) => `BEARER ${keys.role.USER}`,
  },
];

/**
 * The status a cell must get, or `undefined` when the caller does not apply to the row (a
 * malformed body on a route without one; a malformed body for a key that may make the call,
 * which would rightly be a 400, outside this matrix).
 */
export function expectedStatus(row: MatrixRow, caller: MatrixCaller): 200 | 401 | 403 | undefined {
  const status = accessStatus(row.requirement, caller.identity);
  if (caller.malformedBody === true && (row.method === 'GET' || status === 200)) return undefined;
  return status;
}

/** Expiring keys are created this long before the clock is moved past them. */
const EXPIRY_MS = 60_000;

/**
 * Makes the callers' keys on `server`: one per default role, a two-role key, and ADMIN keys that
 * are then made invalid (expired, deleted), half of them after a first use so the token cache
 * holds them. Moves the server's clock past the expiry; nothing else in the file may rely on it.
 */
export async function createCallerKeys(server: TestServer): Promise<CallerKeys> {
  const named = (roles: DefaultRole[], name: string) =>
    createKey(server, { name, roles }).then((k) => k.apiKey);
  const made = await api(server)('POST', '/api/v1/roles', {
    token: server.adminToken,
    body: { tag: MATRIX_CUSTOM_ROLE, name: 'matrix custom role', permissions: MATRIX_CUSTOM_PERMISSIONS },
  });
  assert.equal(made.status, 200, `creating the matrix's custom role failed: ${made.text}`);
  const withCustom = (roles: DefaultRole[], name: string) =>
    createKey(server, { name, roles, customRoles: [MATRIX_CUSTOM_ROLE] }).then((k) => k.apiKey);
  const [custom, customAndUser] = await Promise.all([
    withCustom([], 'matrix CUSTOM'),
    withCustom(['USER'], 'matrix CUSTOM+USER'),
  ]);
  const [admin, manager, user, readOnly, viewer, multiRole] = await Promise.all([
    named(['ADMIN'], 'matrix ADMIN'),
    named(['MANAGER'], 'matrix MANAGER'),
    named(['USER'], 'matrix USER'),
    named(['READ_ONLY'], 'matrix READ_ONLY'),
    named(['VIEWER'], 'matrix VIEWER'),
    named(['READ_ONLY', 'MANAGER'], 'matrix READ_ONLY+MANAGER'),
  ]);
  const [expiredCached, expiredUncached, deletedCached, deletedUncached] = await Promise.all([
    expiringKey(server, EXPIRY_MS, ['ADMIN']),
    expiringKey(server, EXPIRY_MS, ['ADMIN']),
    createKey(server, { name: 'matrix deleted, cached', roles: ['ADMIN'] }),
    createKey(server, { name: 'matrix deleted, never used', roles: ['ADMIN'] }),
  ]);
  for (const used of [expiredCached, deletedCached]) {
    const me = await api(server)('GET', '/api/v1/me', { token: used.apiKey });
    assert.equal(me.status, 200, `the key should work before it is made invalid: ${me.text}`);
  }
  await deleteKey(server, deletedCached.cid);
  await deleteKey(server, deletedUncached.cid);
  server.advance(EXPIRY_MS + 1_000);
  return {
    role: { ADMIN: admin, MANAGER: manager, USER: user, READ_ONLY: readOnly, VIEWER: viewer },
    multiRole,
    custom,
    customAndUser,
    expiredCached: expiredCached.apiKey,
    expiredUncached: expiredUncached.apiKey,
    deletedCached: deletedCached.apiKey,
    deletedUncached: deletedUncached.apiKey,
  };
}

// ---------------------------------------------------------------------------------------------
// Running a cell

/**
 * Targets for cells that must be refused: one per row, made on first need. A refused call
 * changes nothing, so they can share it; should one wrongly get through, that cell fails itself.
 */
const sharedTargets = new WeakMap<TestServer, Map<string, Promise<Vars>>>();

function targetFor(server: TestServer, row: MatrixRow, fresh: boolean): Promise<Vars> {
  if (row.setup === undefined) return Promise.resolve({});
  const context = { server, call: api(server), adminToken: server.adminToken };
  if (fresh) return row.setup(context);
  let targets = sharedTargets.get(server);
  if (targets === undefined) {
    targets = new Map();
    sharedTargets.set(server, targets);
  }
  let target = targets.get(routeName(row));
  if (target === undefined) {
    target = row.setup(context);
    targets.set(routeName(row), target);
  }
  return target;
}

/** Sends one cell's request (fresh target when it is expected to get through). */
export async function sendCell(
  server: TestServer,
  keys: CallerKeys,
  row: MatrixRow,
  caller: MatrixCaller,
  expected: 200 | 401 | 403,
): Promise<{ reply: Reply; path: string }> {
  const vars = await targetFor(server, row, expected === 200);
  const path = fillPath(row.path, vars);
  const authorization = caller.authorization(keys);
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  const body = typeof row.body === 'function' ? (row.body as (v: Vars) => unknown)(vars) : row.body;
  const reply =
    caller.malformedBody === true
      ? await api(server)(row.method, path, {
          headers: { ...headers, 'content-type': 'application/json' },
          rawBody: '{"name": ',
        })
      : await api(server)(row.method, path, { headers, body });
  return { reply, path };
}

/** Asserts a cell's status, and SPEC §3's problem body (with `WWW-Authenticate` on 401) when refused. */
export function assertCell(reply: Reply, path: string, expected: 200 | 401 | 403): void {
  if (expected === 200) {
    assert.equal(reply.status, 200, `expected 200, got ${reply.status}: ${reply.text}`);
    return;
  }
  const problem = assertProblem(reply, expected, expected === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN');
  assert.equal(problem.instance, path);
  if (expected === 401) assert.equal(reply.headers.get('www-authenticate'), 'Bearer');
}
