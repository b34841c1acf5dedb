import type { Kysely } from 'kysely';
import type { Database, Dialect } from '../../db/database.js';
import type { Page, PageQuery } from '../../domain/page.js';
import { ipAllowlistListing } from './ip-allowlist.listing.js';
import type { IpAllowlistEntry } from './ip-allowlist.mapping.js';

/** Queries only: no rules, no mapping. `db` may be a transaction. */
type Db = Kysely<Database>;

/** Rows per INSERT: three parameters each, well inside both databases' limits. */
const ROWS_PER_INSERT = 500;

export async function listIpAllowlist(
  db: Db,
  dialect: Dialect,
  query: PageQuery,
): Promise<Page<IpAllowlistEntry>> {
  return ipAllowlistListing.page(db, dialect, query);
}

/** Every stored address, in list order: what the nodes match clients against. */
export async function readAllowedAddresses(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('ip_allowlist').select('address').orderBy('position').execute();
  return rows.map((row) => row.address);
}

/**
 * Replaces the whole list, in the caller's transaction: its entries take positions 0 to n − 1.
 * Written in bulk rather than through the listing's one-row insert; the listing's counting is
 * told so (a dense sequence counts nothing, but the listing, not this file, knows that).
 */
export async function replaceIpAllowlist(db: Db, entries: readonly IpAllowlistEntry[]): Promise<void> {
  await db.deleteFrom('ip_allowlist').execute();
  for (let start = 0; start < entries.length; start += ROWS_PER_INSERT) {
    const rows = entries.slice(start, start + ROWS_PER_INSERT).map((entry, i) => ({
      position: start + i,
      address: entry.address,
      description: entry.description,
    }));
    await db.insertInto('ip_allowlist').values(rows).execute();
  }
  await ipAllowlistListing.recount(db);
}
