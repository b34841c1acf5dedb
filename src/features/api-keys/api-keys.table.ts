import type { Selectable } from 'kysely';

/**
 * Storage row of an API key. `token_hash` is SHA-256 hex: the token itself is never stored. The
 * table also keeps each key's list item (src/db/database.ts; api-keys.listing.ts).
 */
export interface ApiKeyTable {
  cid: string;
  name: string;
  description: string | null;
  token_hash: string;
  last4: string;
  /** JSON array of RoleRef. */
  roles: string;
  /** 1 when roles include DEFAULT ADMIN. */
  is_admin: number;
  created_at: string;
  expires_at: string | null;
}

export type ApiKeyRow = Selectable<ApiKeyTable>;
/** What a list page reads of each key: the columns the API shows. */
export type ListedApiKeyRow = Omit<ApiKeyRow, 'token_hash' | 'is_admin'>;
