import type { Selectable } from 'kysely';

/** A secret's row. The table also keeps its list item (src/db/database.ts; secrets.listing.ts). */
export interface SecretTable {
  id: string;
  tag: string;
  name: string;
  current_version: number;
  created_at: string;
  updated_at: string;
}

/** One encrypted value version (envelope encryption: see src/crypto/envelope.ts). */
export interface SecretVersionTable {
  secret_id: string;
  version: number;
  value_iv: Buffer;
  value_data: Buffer;
  dek_iv: Buffer;
  dek_data: Buffer;
  master_key_id: string;
  created_at: string;
  created_by: string | null;
}

export type SecretRow = Selectable<SecretTable>;
export type SecretVersionRow = Selectable<SecretVersionTable>;
/** What a list page reads of each secret: the columns the API shows, and the list order's. */
export type ListedSecretRow = Pick<SecretRow, 'id' | 'name' | 'tag' | 'created_at'>;
