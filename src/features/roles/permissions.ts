import type { RoleGrant } from '../../domain/grants.js';
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

/** What a default role grants: its permissions, on every secret. */
export function defaultRoleGrant(role: DefaultRole): RoleGrant {
  return { permissions: DEFAULT_ROLE_PERMISSIONS[role], secretTags: null };
}

/** The custom roles' tags among a key's roles. */
export function customTagsOf(roles: readonly RoleRef[]): string[] {
  return roles.flatMap((ref) => (ref.type === 'CUSTOM' ? [ref.tag] : []));
}

export function holdsAdmin(roles: readonly RoleRef[]): boolean {
  return roles.some((r) => r.type === 'DEFAULT' && r.role === 'ADMIN');
}

/** Sorted by the table order above, so responses are stable. */
export function sortedPermissions(granted: ReadonlySet<Permission>): Permission[] {
  return PERMISSIONS.filter((p) => granted.has(p));
}
