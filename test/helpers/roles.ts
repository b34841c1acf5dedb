/** Helpers for the custom-role tests, and the roles' rows of the authorization matrix. */
import assert from 'node:assert/strict';
import { api } from './keys.js';
import type { ProtectedRoute, RouteContext, Vars } from './security.js';
import type { TestServer } from './server.js';
import type { Permission } from './spec.js';

export interface Role {
  tag: string;
  name: string;
  description: string | null;
  permissions: Permission[];
  secretTags: string[] | null;
  createdDate: string;
  updatedDate: string;
}

export interface NewRole {
  tag?: string;
  name?: string;
  description?: string | null;
  permissions?: Permission[];
  secretTags?: string[] | null;
}

let counter = 0;

/** A role tag no other test uses. */
export function uniqueRoleTag(prefix = 'role'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/** Creates a custom role over HTTP (as the admin unless `token`) and asserts the 200. */
export async function createRole(
  server: TestServer,
  options: NewRole = {},
  token = server.adminToken,
): Promise<Role> {
  const body: Record<string, unknown> = {
    tag: options.tag ?? uniqueRoleTag(),
    name: options.name ?? 'a test role',
    permissions: options.permissions ?? [],
  };
  if (options.description !== undefined) body.description = options.description;
  if (options.secretTags !== undefined) body.secretTags = options.secretTags;
  const reply = await api(server)('POST', '/api/v1/roles', { token, body });
  assert.equal(reply.status, 200, `creating a role failed: ${reply.text}`);
  return reply.body as Role;
}

/** A fresh role granting nothing, to read, replace or delete. */
async function newRole({ server }: RouteContext): Promise<Vars> {
  return { tag: (await createRole(server, { name: 'security-target' })).tag };
}

/**
 * The custom-role calls (Tessera), EDIT_ROLES each. Bodies grant nothing, so that any caller
 * permitted the call may make them (a role beyond the caller's grants is a 403 of its own).
 */
export const ROLE_ROUTES: readonly ProtectedRoute[] = [
  { method: 'GET', path: '/api/v1/roles', permission: 'EDIT_ROLES' },
  {
    method: 'POST',
    path: '/api/v1/roles',
    permission: 'EDIT_ROLES',
    body: () => ({ tag: uniqueRoleTag('security'), name: 'security-created', permissions: [] }),
  },
  { method: 'GET', path: '/api/v1/roles/{tag}', permission: 'EDIT_ROLES', setup: newRole },
  {
    method: 'PUT',
    path: '/api/v1/roles/{tag}',
    permission: 'EDIT_ROLES',
    body: { name: 'security-replaced', permissions: [] },
    setup: newRole,
  },
  { method: 'DELETE', path: '/api/v1/roles/{tag}', permission: 'EDIT_ROLES', setup: newRole },
];
