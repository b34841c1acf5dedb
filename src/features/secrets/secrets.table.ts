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

/** What a change did to a secret, as the change feed reports it. */
export type SecretChangeAction = 'CREATE' | 'UPDATE' | 'DELETE';

/**
 * One change to a secret, for the change feed (secret-changes.repository.ts). Keyed by the `seq`
 * of the audit event written in the same transaction: sequence numbers are in commit order.
 */
export interface SecretChangeTable {
  seq: number | string;
  secret_id: string;
  tag: string;
  /** The secret's current value version once the change committed (a delete: its last). */
  version: number;
  action: SecretChangeAction;
  /** Whether the change set a value (a create, or an update with one): false for a rename or a delete. */
  value_changed: 0 | 1;
  changed_at: string;
}

export type SecretChangeRow = Selectable<SecretChangeTable>;
