import type { Kysely } from 'kysely';

/**
 * A cheap reading that differs from every earlier reading once data may have changed: a commit by
 * any other connection or process, or any row this connection has changed (committed or not).
 * Equal readings mean nothing changed in between. Caches of derived data (listing/page-blocks.ts) keep
 * the reading they were filled under and refill when it moves.
 *
 * Only the embedded database has one (SQLite's data_version and total_changes(), a few µs);
 * PostgreSQL offers no such reading, so what would be cached there is read afresh instead.
 */
export type ChangeStamp = () => string;

// biome-ignore lint/suspicious/noExplicitAny: keyed by the root Kysely instance, whatever its schema
const stamps = new WeakMap<Kysely<any>, ChangeStamp>();

// biome-ignore lint/suspicious/noExplicitAny: see above
export function registerChangeStamp(db: Kysely<any>, stamp: ChangeStamp): void {
  stamps.set(db, stamp);
}

/** The stamp of a root Kysely instance; none for PostgreSQL, or for a transaction's `trx`. */
// biome-ignore lint/suspicious/noExplicitAny: see above
export function changeStampOf(db: Kysely<any>): ChangeStamp | undefined {
  return stamps.get(db);
}
