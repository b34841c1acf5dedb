import type { Selectable } from 'kysely';

/**
 * `active`: new values are wrapped under it. `next`: a rotation has announced it. `previous`: a
 * rotation made another key active and is re-wrapping what this one still wraps. `retired`: no data
 * depends on it and it can no longer be reached.
 */
export type MasterKeyState = 'active' | 'next' | 'previous' | 'retired';

export interface MasterKeyTable {
  key_id: string;
  verifier: string;
  state: MasterKeyState;
  /** The key this row's key is sealed under, during a rotation. */
  link_by: string | null;
  link_iv: Buffer | null;
  link_data: Buffer | null;
  created_at: string;
}

export type MasterKeyRow = Selectable<MasterKeyTable>;
