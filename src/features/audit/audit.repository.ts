import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { Database } from '../../db/database.js';
import type { AuditEventRow } from './audit.table.js';

type Db = Kysely<Database>;

export interface AuditFilter {
  from?: string;
  to?: string;
  actions?: string[];
  objectIds?: string[];
  objectTypes?: string[];
  actorTypes?: string[];
  actorIds?: string[];
  ips?: string[];
  /** A filter that can match nothing (Cortex-only values): skip the query. */
  impossible?: boolean;
}

function filtered<O>(query: SelectQueryBuilder<Database, 'audit_events', O>, f: AuditFilter) {
  let q = query;
  if (f.from !== undefined) q = q.where('occurred_at', '>=', f.from);
  if (f.to !== undefined) q = q.where('occurred_at', '<=', f.to);
  if (f.actions !== undefined) q = q.where('action', 'in', f.actions as AuditEventRow['action'][]);
  if (f.objectIds !== undefined) q = q.where('object_id', 'in', f.objectIds);
  if (f.objectTypes !== undefined)
    q = q.where('object_type', 'in', f.objectTypes as AuditEventRow['object_type'][]);
  if (f.actorTypes !== undefined)
    q = q.where('actor_type', 'in', f.actorTypes as AuditEventRow['actor_type'][]);
  if (f.actorIds !== undefined) q = q.where('actor_id', 'in', f.actorIds);
  if (f.ips !== undefined) q = q.where('ip', 'in', f.ips);
  return q;
}

/** Newest first. */
export async function listAuditEvents(db: Db, f: AuditFilter, offset: number, limit: number) {
  return filtered(db.selectFrom('audit_events').selectAll(), f)
    .orderBy('seq', 'desc')
    .offset(offset)
    .limit(limit)
    .execute();
}

export async function countAuditEvents(db: Db, f: AuditFilter): Promise<number> {
  const { count } = await filtered(
    db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number | string>().as('count')),
    f,
  ).executeTakeFirstOrThrow();
  return Number(count);
}

/** Events in chain order from `afterSeq` (exclusive), a batch at a time. */
export async function auditEventsAfter(db: Db, afterSeq: number, limit: number): Promise<AuditEventRow[]> {
  return db
    .selectFrom('audit_events')
    .selectAll()
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

export async function latestCheckpoint(db: Db) {
  return db.selectFrom('audit_checkpoints').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
}
