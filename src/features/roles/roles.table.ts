import type { Selectable } from 'kysely';

/** A custom role's row (migration 0006). */
export interface RoleTable {
  tag: string;
  name: string;
  description: string | null;
  /** JSON array of Permission. */
  permissions: string;
  /** JSON array of tag patterns; NULL: the role's secret permissions reach every secret. */
  secret_tags: string | null;
  created_at: string;
  updated_at: string;
}

/** Which keys hold which custom role: the key's `roles` column's custom tags, one row each. */
export interface ApiKeyRoleTable {
  cid: string;
  tag: string;
}

export type RoleRow = Selectable<RoleTable>;
