import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, sql } from 'kysely';
import pg from 'pg';
import type { Database, Dialect, Store } from './database.js';
import { isStorageUnavailable } from './errors.js';

/** How long a request waits for a pooled connection before the database counts as unavailable. */
const CONNECT_TIMEOUT_MS = 1_500;

/**
 * PostgreSQL through a pool. Waits are bounded: a database that does not answer turns into 503s
 * within about two seconds instead of requests that hang, and the pool reconnects by itself.
 */
export function connectPostgres(url: string, poolSize: number): Store {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    // Server-side bounds: no statement or idle transaction may hold a connection for long.
    statement_timeout: 10_000,
    idle_in_transaction_session_timeout: 15_000,
    query_timeout: 12_000,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {});
  // Nor may a client that is checked out when its connection drops: pg emits 'error' on the
  // client, and with no listener that is an uncaught exception. Its query fails on its own
  // (a 503), and the pool discards the broken client when it is released.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return {
    ...storeFromPool(discardingFailedClients(pool), 'postgres'),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}

/**
 * The pool as Kysely sees it, except that a client whose query failed for want of the database
 * (a read timeout above all: the statement is still outstanding, so the connection would make
 * every later query wait behind it) is closed on release instead of going back to the pool.
 */
function discardingFailedClients(pool: pg.Pool): PostgresPool {
  return {
    async connect() {
      const client = await pool.connect();
      let failure: Error | undefined;
      const wrapped = {
        query(text: unknown, parameters?: unknown) {
          const result = client.query(text as string, parameters as unknown[]);
          if (result instanceof Promise) {
            result.catch((error: unknown) => {
              if (isStorageUnavailable(error)) failure = error as Error;
            });
          }
          return result;
        },
        release() {
          client.release(failure);
        },
      };
      return wrapped as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

/** A store over any pg-compatible pool (PostgreSQL itself, or an in-process stand-in). */
export function storeFromPool(pool: PostgresPool, dialect: Dialect): Store {
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}
