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
  /** JSON array of addresses and CIDR ranges the key may call from; null: anywhere. */
  allowed_ips: string | null;
  /** The key's own requests per minute; null: the server's default. */
  rate_limit_per_minute: number | null;
  /** The latest use, written in batches (last-used.ts); null: never used. */
  last_used_at: string | null;
  /** The token a roll replaced, while its grace period runs (its SHA-256 hex, as token_hash). */
  previous_token_hash: string | null;
  /** When that token stops working. */
  previous_token_expires_at: string | null;
}

export type ApiKeyRow = Selectable<ApiKeyTable>;
/** What a list page reads of each key: the columns the API shows. */
export type ListedApiKeyRow = Omit<
  ApiKeyRow,
  'token_hash' | 'is_admin' | 'previous_token_hash' | 'previous_token_expires_at'
>;
