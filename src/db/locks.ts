import { type Kysely, sql } from 'kysely';
import type { Database, Dialect } from './database.js';

/**
 * Serialises transactions that check a rule across rows and then write (the last admin key, the
 * bootstrap key, a list's page-block counts). On PostgreSQL: a transaction-scoped advisory lock,
 * released at commit. On SQLite nothing is needed: one connection runs one transaction at a time.
 */
export async function lockWithinTransaction(trx: Kysely<Database>, dialect: Dialect, name: string) {
  // Advisory locks are database-wide: key them by schema too, so deployments (or test runs) in
  // other schemas of the same database never wait on each other.
  if (dialect === 'postgres') {
    await sql`select pg_advisory_xact_lock(hashtext(current_schema() || ${`:tessera:${name}`}))`.execute(trx);
  }
}
