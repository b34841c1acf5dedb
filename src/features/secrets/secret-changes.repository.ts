import { type Kysely, sql } from 'kysely';
import type { Database, Dialect } from '../../db/database.js';
import { tagMatchesAny } from './secrets.repository.js';
import type { SecretChangeRow } from './secrets.table.js';

type Db = Kysely<Database>;

/** Written in the transaction of the change, with the seq of its audit event (see the migration). */
export async function insertSecretChange(db: Db, row: SecretChangeRow): Promise<void> {
  await db.insertInto('secret_changes').values(row).execute();
}

/**
 * Changes after `seq`, oldest first, at most `limit`, of secrets whose tag matches `tagPatterns`
 * (undefined: every secret). By `seq` alone: what a reader has seen up to N, it never sees below N
 * again, since rows commit in `seq` order.
 */
export async function secretChangesAfter(
  db: Db,
  dialect: Dialect,
  seq: number,
  limit: number,
  tagPatterns: readonly string[] | undefined,
): Promise<SecretChangeRow[]> {
  let query = db.selectFrom('secret_changes').selectAll().where('seq', '>', seq);
  if (tagPatterns !== undefined) query = query.where(tagMatchesAny(dialect, tagPatterns));
  return query.orderBy('seq').limit(limit).execute();
}

/**
 * The feed's bounds: the newest audit seq (every change so far is at or below it), and the seq
 * retention has pruned up to (a cursor below it may have missed pruned changes). 0 when none.
 */
export async function secretChangeBounds(db: Db): Promise<{ head: number; pruned: number }> {
  const { rows } = await sql<{ head: number | string | null; pruned: number | string | null }>`select
      (select max(seq) from audit_events) as head,
      (select max(seq) from audit_checkpoints) as pruned`.execute(db);
  const pruned = Number(rows[0]?.pruned ?? 0);
  return { head: Math.max(Number(rows[0]?.head ?? 0), pruned), pruned };
}

/**
 * PostgreSQL: a change written before its audit event was sealed is keyed by minus the event's
 * pending id (never a cursor: those are 0 or more). The sealer calls this in its own transaction
 * with each sealed event's pending id and seq, so the change turns up in the feed exactly when its
 * event joins the chain, in the chain's (commit) order.
 */
export async function rekeySealedChanges(db: Db, pendingIds: readonly number[], seqs: readonly number[]) {
  if (pendingIds.length === 0) return;
  await sql`update secret_changes as change set seq = sealed.seq
    from unnest(${pendingIds.map((id) => -id)}::bigint[], ${seqs}::bigint[]) as sealed(key, seq)
    where change.seq = sealed.key`.execute(db);
}
