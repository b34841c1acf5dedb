import { type Kysely, sql } from 'kysely';
import type { Database, Dialect } from './database.js';

/**
 * Advisory locks are database-wide: keyed by schema too, so deployments (or test runs) in other
 * schemas of the same database never wait on each other.
 */
const lockKey = (name: string) => sql`hashtext(current_schema() || ${`:tessera:${name}`})`;

/**
 * Serialises transactions that check a rule across rows and then write (the last admin key, the
 * bootstrap key, a list's page-block counts). On PostgreSQL: a transaction-scoped advisory lock,
 * released at commit. On SQLite nothing is needed: one connection runs one transaction at a time.
 */
export async function lockWithinTransaction(trx: Kysely<Database>, dialect: Dialect, name: string) {
  if (dialect === 'postgres') {
    await sql`select pg_advisory_xact_lock(${lockKey(name)})`.execute(trx);
  }
}

/**
 * PostgreSQL: the same lock, shared: holders of the shared lock do not wait for each other, and
 * the exclusive one waits for all of them (and they for it). On SQLite, nothing (one writer).
 */
export async function lockSharedWithinTransaction(trx: Kysely<Database>, dialect: Dialect, name: string) {
  if (dialect === 'postgres') {
    await sql`select pg_advisory_xact_lock_shared(${lockKey(name)})`.execute(trx);
  }
}
