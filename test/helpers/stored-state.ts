/**
 * Direct, read-only looks at a Tessera database left behind by a crash: the rows that matter for
 * consistency, read from a SQLite file or a PostgreSQL schema, and the invariants no committed
 * state may break (a secret without its current version, a version that does not decrypt, a change
 * without its audit event, a deleted object still present). Never through the server under test.
 */

import pg from 'pg';
import { decryptValue } from '../../src/crypto/envelope.js';
import { type MasterKey, masterKeyFrom } from '../../src/crypto/master-key.js';
import SQLite from '../../src/db/sqlite-native.js';
import type { SecretVersionRow } from '../../src/features/secrets/secrets.table.js';

export interface StoredSecret {
  id: string;
  tag: string;
  current_version: number;
}

/** A version's columns that decrypting it needs, as the service stores them. */
export type StoredVersion = Pick<
  SecretVersionRow,
  'secret_id' | 'version' | 'value_iv' | 'value_data' | 'dek_iv' | 'dek_data' | 'master_key_id'
>;

export interface StoredAuditEvent {
  seq: number;
  action: string;
  object_type: string;
  object_id: string | null;
  detail: string | null;
  request_id: string | null;
}

export interface StoredRows {
  secrets: StoredSecret[];
  versions: StoredVersion[];
  apiKeyCids: string[];
  audit: StoredAuditEvent[];
}

const QUERIES = {
  secrets: 'select id, tag, current_version from secrets',
  versions:
    'select secret_id, version, value_iv, value_data, dek_iv, dek_data, master_key_id from secret_versions',
  apiKeys: 'select cid from api_keys',
  audit: 'select seq, action, object_type, object_id, detail, request_id from audit_events order by seq',
};

/** Numbers arrive as bigint strings from PostgreSQL: make every row look the same on both dialects. */
function normalise(rows: StoredRows): StoredRows {
  return {
    secrets: rows.secrets.map((s) => ({ ...s, current_version: Number(s.current_version) })),
    versions: rows.versions.map((v) => ({ ...v, version: Number(v.version) })),
    apiKeyCids: rows.apiKeyCids,
    audit: rows.audit.map((e) => ({ ...e, seq: Number(e.seq) })),
  };
}

export interface SqliteInspection {
  /** `PRAGMA integrity_check`: ['ok'] when the file is sound. */
  integrity: string[];
  /** `PRAGMA foreign_key_check`: rows that point at nothing. */
  foreignKeyViolations: number;
  rows: StoredRows;
}

/** Opens a SQLite database file (no server may have it open) and reads it. */
export function inspectSqlite(file: string): SqliteInspection {
  const database = new SQLite(file, { fileMustExist: true });
  try {
    const integrity = database
      .prepare('pragma integrity_check')
      .all()
      .map((row) => String(Object.values(row as object)[0]));
    const foreignKeyViolations = database.prepare('pragma foreign_key_check').all().length;
    const all = <T>(sql: string) => database.prepare(sql).all() as T[];
    const rows = normalise({
      secrets: all<StoredSecret>(QUERIES.secrets),
      versions: all<StoredVersion>(QUERIES.versions),
      apiKeyCids: all<{ cid: string }>(QUERIES.apiKeys).map((r) => r.cid),
      audit: all<StoredAuditEvent>(QUERIES.audit),
    });
    return { integrity, foreignKeyViolations, rows };
  } finally {
    database.close();
  }
}

/** Reads the rows of the schema that `url` selects (one repeatable-read snapshot). */
export async function inspectPostgres(url: string): Promise<StoredRows> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query('begin transaction isolation level repeatable read read only');
    const all = async <T>(sql: string) => (await client.query(sql)).rows as T[];
    const rows = normalise({
      secrets: await all<StoredSecret>(QUERIES.secrets),
      versions: await all<StoredVersion>(QUERIES.versions),
      apiKeyCids: (await all<{ cid: string }>(QUERIES.apiKeys)).map((r) => r.cid),
      audit: await all<StoredAuditEvent>(QUERIES.audit),
    });
    await client.query('commit');
    return rows;
  } finally {
    await client.end();
  }
}

const VALUE_VERSION = /^value version (\d+)$/;

/**
 * Every way the stored rows contradict a state the service could have committed, one line each
 * (empty when consistent). Assumes what the crash tests guarantee: tags are never reused, no
 * master-key rotation ran, and no audit retention pruned anything.
 */
export function invariantProblems(rows: StoredRows, masterKeyBytes: Buffer): string[] {
  const problems: string[] = [];
  const master: MasterKey = masterKeyFrom(masterKeyBytes);
  const secretsById = new Map(rows.secrets.map((s) => [s.id, s]));
  const versionsOf = new Map<string, Set<number>>();
  for (const v of rows.versions) {
    const secret = secretsById.get(v.secret_id);
    if (secret === undefined) {
      problems.push(`version ${v.version} of ${v.secret_id} has no secret row (orphan)`);
      continue;
    }
    if (v.version > secret.current_version) {
      problems.push(
        `secret ${secret.tag} has version ${v.version} above its current ${secret.current_version}`,
      );
    }
    versionsOf.set(v.secret_id, (versionsOf.get(v.secret_id) ?? new Set()).add(v.version));
    if (v.master_key_id !== master.id) {
      problems.push(`secret ${secret.tag} version ${v.version} is wrapped under an unknown master key`);
      continue;
    }
    try {
      decryptValue(
        master,
        {
          value: { iv: v.value_iv, data: v.value_data },
          wrappedKey: { iv: v.dek_iv, data: v.dek_data },
          masterKeyId: v.master_key_id,
        },
        v.secret_id,
        v.version,
      );
    } catch {
      problems.push(`secret ${secret.tag} version ${v.version} does not decrypt`);
    }
  }

  const eventsFor = new Map<string, StoredAuditEvent[]>();
  for (const event of rows.audit) {
    const key = `${event.action} ${event.object_type} ${event.object_id}`;
    eventsFor.set(key, [...(eventsFor.get(key) ?? []), event]);
  }
  const has = (action: string, type: string, id: string) => eventsFor.has(`${action} ${type} ${id}`);

  for (const secret of rows.secrets) {
    if (!versionsOf.get(secret.id)?.has(secret.current_version)) {
      problems.push(`secret ${secret.tag} lacks its current version ${secret.current_version}`);
    }
    if (!has('CREATE', 'SECRET', secret.tag)) problems.push(`secret ${secret.tag} has no CREATE audit event`);
    if (has('DELETE', 'SECRET', secret.tag))
      problems.push(`secret ${secret.tag} is present after its DELETE event`);
    // Each committed value update records its version: versions 2..current, once each.
    const recorded = (eventsFor.get(`UPDATE SECRET ${secret.tag}`) ?? [])
      .map((e) => VALUE_VERSION.exec(e.detail ?? '')?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const expected = Array.from({ length: secret.current_version - 1 }, (_, i) => i + 2);
    if (recorded.join(',') !== expected.join(',')) {
      problems.push(
        `secret ${secret.tag} is at version ${secret.current_version} but its audit events record versions [${recorded.join(', ')}]`,
      );
    }
  }

  for (const cid of rows.apiKeyCids) {
    if (!has('CREATE', 'API_KEY', cid)) problems.push(`key ${cid} has no CREATE audit event`);
    if (has('DELETE', 'API_KEY', cid)) problems.push(`key ${cid} is present after its DELETE event`);
  }

  // No retention ran: the chain starts at 1 and has no gaps (the first gap is enough to name).
  const gap = rows.audit.findIndex((event, index) => event.seq !== index + 1);
  if (gap >= 0)
    problems.push(`audit event #${gap + 1} is missing (the next stored is #${rows.audit[gap]?.seq})`);
  return problems;
}
