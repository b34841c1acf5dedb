import type { ApiKey, CreatedKey, NewKey } from './types';

/**
 * A key's per-key settings and last use (Tessera's extensions to the key shape: `null` when unset).
 * Read defensively: a server that predates them leaves them out, and the console then shows
 * nothing for them rather than failing.
 */
export interface KeyExtras {
  allowedIps?: string[] | null;
  rateLimitPerMinute?: number | null;
  lastUsedDate?: string | null;
}

export type ShownKey = ApiKey & KeyExtras;
export type NewKeyWithExtras = NewKey & Omit<KeyExtras, 'lastUsedDate'>;
export type CreatedKeyWithExtras = CreatedKey & KeyExtras;
