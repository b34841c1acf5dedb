/**
 * Every protected route, one entry each, by feature. Each feature's security test runs the
 * shared suite over its own table (test/security/api-keys-security.test.ts over API_KEY_ROUTES,
 * test/security/secrets-security.test.ts over SECRET_ROUTES, test/security/audit-security.test.ts
 * over AUDIT_ROUTES), and
 * test/security/api-keys-security.test.ts fails when the OpenAPI document lists an /api/v1
 * operation missing from PROTECTED_ROUTES, so a new route cannot be forgotten.
 *
 * A new feature: put its table with its helpers (as test/helpers/secrets.ts does), spread it into
 * PROTECTED_ROUTES, and run securitySuite over it in its own test/security/ file.
 */
import { AUDIT_ROUTES } from './audit.js';
import { createKey, role } from './keys.js';
import { SECRET_ROUTES } from './secrets.js';
import type { ProtectedRoute, RouteContext, Vars } from './security.js';

let created = 0;

/** A fresh READ_ONLY key to read, update or delete. */
async function newKey({ server }: RouteContext): Promise<Vars> {
  const key = await createKey(server, { name: 'security-target' });
  return { cid: key.cid };
}

/** SPEC §4's five calls and GET /api/v1/me. */
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
  { method: 'DELETE', path: '/api/v1/auth/key/{cid}', permission: 'EDIT_API_KEYS', setup: newKey },
  { method: 'GET', path: '/api/v1/me', permission: null },
];

/** Every protected route of the API. */
export const PROTECTED_ROUTES: readonly ProtectedRoute[] = [
  ...API_KEY_ROUTES,
  ...SECRET_ROUTES,
  ...AUDIT_ROUTES,
];
