/**
 * Every route of the API, one entry each: the rows of the authorization matrix
 * (test/helpers/security.ts, run by test/security/authorization-matrix.test.ts). That test fails
 * when the OpenAPI document lists an operation missing from MATRIX_ROWS, so a new route cannot be
 * forgotten.
 *
 * A new feature: put its table with its helpers (as test/helpers/secrets.ts does) and spread it
 * into PROTECTED_ROUTES; the matrix then runs every caller against it.
 */
import { AUDIT_ROUTES } from './audit.js';
import { IP_ALLOWLIST_ROUTES } from './ip-allowlist.js';
import { createKey, role } from './keys.js';
import { ROLE_ROUTES } from './roles.js';
import { SECRET_ROUTES } from './secrets.js';
import type { MatrixRow, ProtectedRoute, PublicRoute, RouteContext, Vars } from './security.js';
import { WEBHOOK_ROUTES } from './webhooks.js';

let created = 0;

/** A fresh READ_ONLY key to read, update or delete. */
async function newKey({ server }: RouteContext): Promise<Vars> {
  const key = await createKey(server, { name: 'security-target' });
  return { cid: key.cid };
}

/** SPEC §4's five calls, rolling a key, and GET /api/v1/me. */
export const API_KEY_ROUTES: readonly ProtectedRoute[] = [
  { method: 'GET', path: '/api/v1/auth/key', permission: 'EDIT_API_KEYS' },
  {
    method: 'POST',
    path: '/api/v1/auth/key',
    permission: 'EDIT_API_KEYS',
    body: () => ({ name: `security-created-${++created}`, roles: [role('READ_ONLY')] }),
  },
  { method: 'GET', path: '/api/v1/auth/key/{cid}', permission: 'EDIT_API_KEYS', setup: newKey },
  {
    method: 'PUT',
    path: '/api/v1/auth/key/{cid}',
    permission: 'EDIT_API_KEYS',
    body: { name: 'security-renamed' },
    setup: newKey,
  },
  {
    method: 'POST',
    path: '/api/v1/auth/key/{cid}/roll',
    permission: 'EDIT_API_KEYS',
    body: { expireOldAfterSeconds: 0 },
    setup: newKey,
  },
  { method: 'DELETE', path: '/api/v1/auth/key/{cid}', permission: 'EDIT_API_KEYS', setup: newKey },
  { method: 'GET', path: '/api/v1/me', permission: null },
];

/** Every protected route of the API. */
export const PROTECTED_ROUTES: readonly ProtectedRoute[] = [
  ...API_KEY_ROUTES,
  ...SECRET_ROUTES,
  ...AUDIT_ROUTES,
  ...IP_ALLOWLIST_ROUTES,
  ...ROLE_ROUTES,
  ...WEBHOOK_ROUTES,
];

/** SPEC §9's routes that need no token: health probes (unmetered) and the API reference. */
export const PUBLIC_ROUTES: readonly PublicRoute[] = [
  { method: 'GET', path: '/healthz', documented: true },
  { method: 'GET', path: '/readyz', documented: true },
  { method: 'GET', path: '/api/v1/openapi.json', documented: true },
  { method: 'GET', path: '/docs', documented: false },
];

/** The matrix's rows: every protected route, then every public one. */
export const MATRIX_ROWS: readonly MatrixRow[] = [
  ...PROTECTED_ROUTES.map(({ permission, ...route }) => ({ ...route, requirement: permission })),
  ...PUBLIC_ROUTES.map(({ method, path }) => ({ method, path, requirement: 'public' as const })),
];
