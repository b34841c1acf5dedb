import type { RoleGrant } from '../../domain/grants.js';
import type { Permission } from '../../domain/permissions.js';
import type { RoleRow } from './roles.table.js';

/** A custom role as the API shows it. */
export interface Role {
  tag: string;
  name: string;
  description: string | null;
  permissions: readonly Permission[];
  secretTags: readonly string[] | null;
  createdDate: string;
  updatedDate: string;
}

export function toRole(row: RoleRow): Role {
  return {
    tag: row.tag,
    name: row.name,
    description: row.description,
    permissions: JSON.parse(row.permissions) as Permission[],
    secretTags: row.secret_tags === null ? null : (JSON.parse(row.secret_tags) as string[]),
    createdDate: row.created_at,
    updatedDate: row.updated_at,
  };
}

/** What a role grants, for a key's union of grants. */
export function grantOf(role: Pick<Role, 'permissions' | 'secretTags'>): RoleGrant {
  return { permissions: role.permissions, secretTags: role.secretTags };
}
