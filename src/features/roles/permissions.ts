import { PERMISSIONS, type Permission } from '../../domain/permissions.js';

/** The default roles (SPEC §6) and what each grants. */
export const DEFAULT_ROLES = ['ADMIN', 'MANAGER', 'USER', 'READ_ONLY', 'VIEWER'] as const;
export type DefaultRole = (typeof DEFAULT_ROLES)[number];

const DEFAULT_ROLE_PERMISSIONS: Record<DefaultRole, readonly Permission[]> = {
  ADMIN: PERMISSIONS,
  MANAGER: ['CREATE_SECRETS', 'VIEW_AUDIT_LOGS'],
  USER: ['CREATE_SECRETS'],
  READ_ONLY: [],
  VIEWER: [],
};

/** A role reference as the API and storage carry it. */
export type RoleRef = { type: 'DEFAULT'; role: DefaultRole } | { type: 'CUSTOM'; tag: string };

export function permissionsOf(roles: readonly RoleRef[]): Set<Permission> {
  const granted = new Set<Permission>();
  for (const ref of roles) {
    // Custom roles arrive with their own issue; until then no custom role can be stored.
    if (ref.type === 'DEFAULT') for (const p of DEFAULT_ROLE_PERMISSIONS[ref.role]) granted.add(p);
  }
  return granted;
}

export function isSubset(inner: ReadonlySet<Permission>, outer: ReadonlySet<Permission>): boolean {
  for (const p of inner) if (!outer.has(p)) return false;
  return true;
}

export function holdsAdmin(roles: readonly RoleRef[]): boolean {
  return roles.some((r) => r.type === 'DEFAULT' && r.role === 'ADMIN');
}

/** Sorted by the table order above, so responses are stable. */
export function sortedPermissions(granted: ReadonlySet<Permission>): Permission[] {
  return PERMISSIONS.filter((p) => granted.has(p));
}
