import type { SecretRow, SecretVersionRow } from './secrets.table.js';

/** A secret as Cortex shows it: never its value. */
export interface Secret {
  id: string;
  name: string;
  tag: string;
}

export interface SecretVersionInfo {
  version: number;
  createdDate: string;
  createdBy: string | null;
  current: boolean;
}

export const toSecret = (row: Pick<SecretRow, 'id' | 'name' | 'tag'>): Secret => ({
  id: row.id,
  name: row.name,
  tag: row.tag,
});

/** A stored version as the versions call shows it: who made it and when, never its value. */
export const toVersionInfo = (
  row: Pick<SecretVersionRow, 'version' | 'created_at' | 'created_by'>,
  currentVersion: number,
): SecretVersionInfo => ({
  version: row.version,
  createdDate: row.created_at,
  createdBy: row.created_by,
  current: row.version === currentVersion,
});
