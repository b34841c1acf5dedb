import type { Insertable, Selectable } from 'kysely';

/** Storage row of an API key. `token_hash` is SHA-256 hex: the token itself is never stored. */
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
  /** The key as a list page shows it, JSON; NULL: rendered when read (src/db/json-page.ts). */
  list_item: string | null;
}

export type ApiKeyRow = Selectable<ApiKeyTable>;
export type NewApiKeyRow = Insertable<ApiKeyTable>;
/** What a list page reads of each key: the columns the API shows. */
export type ListedApiKeyRow = Omit<ApiKeyRow, 'token_hash' | 'is_admin' | 'list_item'>;
