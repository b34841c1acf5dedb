import type { Kysely } from 'kysely';
import type { Database, Dialect } from '../../db/database.js';
import type { Page, PageQuery } from '../../domain/page.js';
import { deliveriesListing, webhooksListing } from './webhooks.listing.js';
import type { Delivery, Webhook } from './webhooks.mapping.js';
import type { WebhookDeliveryRow, WebhookDeliveryTable, WebhookRow } from './webhooks.table.js';

/** Queries only: no rules, no mapping. `db` may be a transaction. */
type Db = Kysely<Database>;

/** What the outbox needs of every webhook: which events go where. */
export type Subscriber = Pick<WebhookRow, 'id' | 'events'>;

export async function insertWebhook(db: Db, dialect: Dialect, row: WebhookRow): Promise<void> {
  await webhooksListing.insert(db, dialect, row);
}

export async function listWebhooks(db: Db, dialect: Dialect, query: PageQuery): Promise<Page<Webhook>> {
  return webhooksListing.page(db, dialect, query);
}

export async function findWebhook(db: Db, id: string): Promise<WebhookRow | undefined> {
  return db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function readSubscribers(db: Db): Promise<Subscriber[]> {
  return db.selectFrom('webhooks').select(['id', 'events']).orderBy('id').execute();
}

export async function updateWebhook(
  db: Db,
  id: string,
  changes: Pick<WebhookRow, 'url' | 'events' | 'description' | 'updated_at'>,
): Promise<boolean> {
  const { numUpdatedRows } = await db
    .updateTable('webhooks')
    .set(changes)
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return numUpdatedRows === 1n;
}

export async function deleteWebhook(db: Db, dialect: Dialect, id: string): Promise<boolean> {
  // Its deliveries go with it (the foreign key cascades): nothing is sent for it any more.
  return webhooksListing.delete(db, dialect, id);
}

/** Webhook secrets still wrapped under a master key, for the rekey command. */
export async function webhooksWrappedBy(db: Db, masterKeyId: string, limit: number): Promise<WebhookRow[]> {
  return db
    .selectFrom('webhooks')
    .selectAll()
    .where('master_key_id', '=', masterKeyId)
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function countWebhooksWrappedBy(db: Db, masterKeyId: string): Promise<number> {
  const { count } = await db
    .selectFrom('webhooks')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('master_key_id', '=', masterKeyId)
    .executeTakeFirstOrThrow();
  return Number(count);
}

/** A re-wrapped data key, written only if the row is still wrapped under `from`. */
export async function rewrapWebhookSecret(
  db: Db,
  id: string,
  from: string,
  sealed: { keyId: string; iv: Buffer; data: Buffer },
): Promise<void> {
  await db
    .updateTable('webhooks')
    .set({ dek_iv: sealed.iv, dek_data: sealed.data, master_key_id: sealed.keyId })
    .where('id', '=', id)
    .where('master_key_id', '=', from)
    .execute();
}

export async function insertDeliveries(db: Db, rows: readonly WebhookDeliveryTable[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('webhook_deliveries')
    .values([...rows])
    .execute();
}

export async function listDeliveries(
  db: Db,
  dialect: Dialect,
  webhookId: string,
  query: PageQuery,
): Promise<Page<Delivery>> {
  return deliveriesListing.page(db, dialect, query, (q) => q.where('webhook_id', '=', webhookId));
}

/**
 * Leases up to `limit` due deliveries to `node` until `leaseUntil`: pending, due, and not leased
 * by a node still within its lease. The outer conditions are checked again on the row as it is
 * when updated (PostgreSQL re-reads a row another node changed meanwhile), so two nodes never
 * lease the same delivery at once; SQLite has one writer.
 */
export async function leaseDueDeliveries(
  db: Db,
  node: string,
  now: string,
  leaseUntil: string,
  limit: number,
): Promise<WebhookDeliveryRow[]> {
  const free = (q: Db) =>
    q
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('status', '=', 'PENDING')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .orderBy('next_attempt_at')
      .limit(limit);
  return db
    .updateTable('webhook_deliveries')
    .set({ lease_until: leaseUntil, leased_by: node })
    .where('id', 'in', free(db))
    .where('status', '=', 'PENDING')
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .returningAll()
    .execute();
}

/** An attempt's outcome, written only while this node still holds the lease. */
export async function recordAttempt(
  db: Db,
  id: string,
  node: string,
  outcome: Pick<
    WebhookDeliveryRow,
    'status' | 'attempts' | 'next_attempt_at' | 'response_status' | 'last_error' | 'attempted_at'
  >,
): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ ...outcome, lease_until: null, leased_by: null })
    .where('id', '=', id)
    .where('leased_by', '=', node)
    .execute();
}

/** Sends a delivery again: pending and due now, its attempts counted afresh. */
export async function resetDelivery(db: Db, webhookId: string, id: string, now: string): Promise<boolean> {
  const { numUpdatedRows } = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'PENDING', attempts: 0, next_attempt_at: now, lease_until: null, leased_by: null })
    .where('id', '=', id)
    .where('webhook_id', '=', webhookId)
    .executeTakeFirstOrThrow();
  return numUpdatedRows === 1n;
}

/** Deletes delivered and given-up deliveries created before `cutoff`: the outbox does not grow for ever. */
export async function pruneFinishedDeliveries(db: Db, cutoff: string): Promise<void> {
  await db
    .deleteFrom('webhook_deliveries')
    .where('status', 'in', ['DELIVERED', 'FAILED'])
    .where('created_at', '<', cutoff)
    .execute();
}

/** How many deliveries wait to be sent (the queue-depth gauge). */
export async function countPending(db: Db): Promise<number> {
  const { count } = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('status', '=', 'PENDING')
    .executeTakeFirstOrThrow();
  return Number(count);
}
