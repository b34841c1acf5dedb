/**
 * The shared security suite (SPEC §3's 401/403 rules) for any protected route. Each route is
 * one `ProtectedRoute` entry; `securitySuite` registers the same node:test cases for it:
 *
 * - no Authorization header, a malformed one, a well-formed unknown token, an expired token
 *   and a deleted token: 401 UNAUTHORIZED with `WWW-Authenticate: Bearer`;
 * - a body is not looked at before the caller is known (malformed JSON without a token: 401);
 * - every default role lacking the route's permission: 403 FORBIDDEN;
 * - every default role holding it: 200 (so a wrong table entry cannot pass unnoticed).
 *
 * It creates keys on the server it is given and moves that server's clock a minute forward per
 * route (the expired-token case); nothing else it leaves behind matters to other tests.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { generateToken } from '../../src/crypto/tokens.js';
import { api, type Call, createKey, deleteKey, expiringKey, flipChar } from './keys.js';
import { assertProblem } from './problem.js';
import type { TestServer } from './server.js';
import { DEFAULT_ROLES, type DefaultRole, type Permission, ROLES_BY_PRIVILEGE, roleHolds } from './spec.js';

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
  /** The permission the call needs; `null`: any valid key will do (no 403 case). */
  permission: Permission | null;
  /** A valid body, so that a permitted key gets 200. A function receives `setup`'s values. */
  body?: unknown | ((vars: Vars) => unknown);
  /**
   * Creates what the placeholders name (as the admin) and returns their values, e.g. `{ cid }`.
   * Called afresh for every request that may get through, so a DELETE always has a target.
   */
  setup?: (context: RouteContext) => Promise<Vars>;
}

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

/** Runs the route's setup and fills its path. */
async function prepare(server: TestServer, route: ProtectedRoute): Promise<{ path: string; vars: Vars }> {
  const vars = route.setup === undefined ? {} : await route.setup(contextOf(server));
  return { path: fillPath(route.path, vars), vars };
}

/** Sends the route's request (with its valid body) and the given Authorization header, or none. */
async function send(server: TestServer, route: ProtectedRoute, authorization: string | undefined) {
  const { path, vars } = await prepare(server, route);
  const body = typeof route.body === 'function' ? (route.body as (v: Vars) => unknown)(vars) : route.body;
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  return api(server)(route.method, path, { headers, body });
}

/** One token per default role, created once per server. */
const roleTokens = new WeakMap<TestServer, Map<DefaultRole, Promise<string>>>();
function tokenFor(server: TestServer, roleName: DefaultRole): Promise<string> {
  let tokens = roleTokens.get(server);
  if (tokens === undefined) {
    tokens = new Map();
    roleTokens.set(server, tokens);
  }
  let token = tokens.get(roleName);
  if (token === undefined) {
    token = createKey(server, { name: `security-${roleName}`, roles: [roleName] }).then((k) => k.apiKey);
    tokens.set(roleName, token);
  }
  return token;
}

/** The weakest default role that may make the call. */
function holderOf(route: ProtectedRoute): DefaultRole {
  const found = ROLES_BY_PRIVILEGE.find((r) => roleHolds(r, route.permission));
  if (found === undefined) throw new Error(`no default role holds ${route.permission}`);
  return found;
}

/**
 * Malformed Authorization headers, each built from a valid, permitted token so that only the
 * malformation can be the reason for the 401.
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

/**
 * Registers the security cases for `route`. `getServer` is called when the tests run (the
 * server is usually started in a `before` hook).
 */
export function securitySuite(getServer: () => TestServer, route: ProtectedRoute): void {
  describe(`security: ${routeName(route)}`, () => {
    let server: TestServer;
    let holder: string;
    before(async () => {
      server = getServer();
      holder = await tokenFor(server, holderOf(route));
    });

    test('no Authorization header: 401', async () => {
      const { path } = await prepare(server, route);
      const reply = await api(server)(route.method, path, { body: route.method === 'GET' ? undefined : {} });
      const problem = assertProblem(reply, 401, 'UNAUTHORIZED');
      assert.equal(reply.headers.get('www-authenticate'), 'Bearer');
      assert.equal(problem.instance, path);
    });

    if (route.method !== 'GET') {
      test('without a token the body is not read: malformed JSON is 401, not 400', async () => {
        const { path } = await prepare(server, route);
        const reply = await api(server)(route.method, path, {
          rawBody: '{"name": ',
          headers: { 'content-type': 'application/json' },
        });
        assertProblem(reply, 401, 'UNAUTHORIZED');
      });
    }

    describe('malformed tokens: 401', () => {
      for (const [label, header] of MALFORMED_AUTHORIZATION) {
        test(label, async () => {
          assertProblem(await send(server, route, header(holder)), 401, 'UNAUTHORIZED');
        });
      }
    });

    test('a well-formed but unknown token: 401', async () => {
      assertProblem(await send(server, route, `Bearer ${generateToken()}`), 401, 'UNAUTHORIZED');
    });

    test('an expired token: 401 from the instant it expires', async () => {
      const key = await expiringKey(server, 60_000, [holderOf(route)]);
      const before = await send(server, route, `Bearer ${key.apiKey}`);
      assert.equal(before.status, 200, `the key should work before it expires: ${before.text}`);
      server.advance(61_000);
      assertProblem(await send(server, route, `Bearer ${key.apiKey}`), 401, 'UNAUTHORIZED');
    });

    test('a deleted token: 401', async () => {
      const key = await createKey(server, { roles: [holderOf(route)] });
      const before = await send(server, route, `Bearer ${key.apiKey}`);
      assert.equal(before.status, 200, `the key should work before it is deleted: ${before.text}`);
      await deleteKey(server, key.cid);
      assertProblem(await send(server, route, `Bearer ${key.apiKey}`), 401, 'UNAUTHORIZED');
    });

    for (const roleName of DEFAULT_ROLES) {
      if (roleHolds(roleName, route.permission)) {
        test(`a ${roleName} key may make the call: 200`, async () => {
          const reply = await send(server, route, `Bearer ${await tokenFor(server, roleName)}`);
          assert.equal(reply.status, 200, reply.text);
        });
      } else {
        test(`a ${roleName} key lacks ${route.permission}: 403`, async () => {
          const reply = await send(server, route, `Bearer ${await tokenFor(server, roleName)}`);
          assertProblem(reply, 403, 'FORBIDDEN');
        });
      }
    }
  });
}

function contextOf(server: TestServer): RouteContext {
  return { server, call: api(server), adminToken: server.adminToken };
}
