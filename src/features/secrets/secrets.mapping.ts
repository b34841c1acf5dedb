import type { SecretChangeAction, SecretChangeRow, SecretRow, SecretVersionRow } from './secrets.table.js';

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

/** One change to a secret as the change feed shows it: never a value. */
export interface SecretChange {
  id: string;
  tag: string;
  version: number;
  action: SecretChangeAction;
  /** True when the change set a value (a create, or an update with a value). */
  valueChanged: boolean;
  changedDate: string;
}

export const toSecretChange = (row: SecretChangeRow): SecretChange => ({
  id: row.secret_id,
  tag: row.tag,
  version: row.version,
  action: row.action,
  valueChanged: Number(row.value_changed) === 1,
  changedDate: row.changed_at,
});
