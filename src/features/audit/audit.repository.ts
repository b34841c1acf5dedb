import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { Database, Dialect } from '../../db/database.js';
import type { Page, PageQuery } from '../../domain/page.js';
import { type ChainHead, GENESIS_HASH } from './audit.chain.js';
import { auditListing } from './audit.listing.js';
import type { AuditLogEntry } from './audit.mapping.js';
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

const isUnfiltered = (f: AuditFilter) =>
  Object.values(f).every((value) => value === undefined || value === false);

/**
 * A page of events, newest first (audit.listing.ts). Unfiltered, the log's `seq` range gives the
 * total and the page's start. Filtered, the matches are counted and skipped through the filters'
 * indexes (time, object, actor; actions, types and addresses narrow what those find): exact,
 * at a cost that grows with the matches and the page's depth, for a caller looking for a few.
 */
export async function listAuditEvents(
  db: Db,
  dialect: Dialect,
  f: AuditFilter,
  query: PageQuery,
): Promise<Page<AuditLogEntry>> {
  return auditListing.page(db, dialect, query, isUnfiltered(f) ? undefined : (q) => filtered(q, f));
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

/**
 * The chain's last event, or the last checkpoint when retention pruned every event (genesis when
 * there is neither). The caller holds the chain's lock, so no append can come between.
 */
export async function readChainHead(db: Db): Promise<ChainHead> {
  const last =
    (await db
      .selectFrom('audit_events')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()) ??
    (await db
      .selectFrom('audit_checkpoints')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst());
  return { seq: Number(last?.seq ?? 0), hash: last?.hash ?? GENESIS_HASH };
}

/** Events written but not chained yet (PostgreSQL; always 0 on SQLite). */
export async function countPending(db: Db): Promise<number> {
  const row = await db
    .selectFrom('audit_pending')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
