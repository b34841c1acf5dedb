import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, sql } from 'kysely';
import { registerChangeStamp } from './change-stamp.js';
import type { Database, Store } from './database.js';
import { BUSY_TIMEOUT_MS, SqliteQueueDialect } from './sqlite-driver.js';
import SQLite from './sqlite-native.js';

export const SQLITE_FILE_NAME = 'tessera.db';

export interface ConnectOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** PostgreSQL connections per node. */
  poolSize?: number;
}

export async function connect(options: ConnectOptions): Promise<Store> {
  if (options.databaseUrl !== undefined) {
    // Loaded only when configured: the embedded default starts without the PostgreSQL client.
    const { connectPostgres } = await import('./connect-postgres.js');
    return connectPostgres(options.databaseUrl, options.poolSize ?? 10);
  }
  return connectSqlite(options.dataDir);
}

/**
 * The embedded default: one file in the data folder, WAL for concurrent readers, and
 * synchronous=FULL so that a commit acknowledged to a client survives a power cut.
 */
export function connectSqlite(dataDir: string): Store {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, SQLITE_FILE_NAME);
  // Create the file owner-only before SQLite opens it; SQLite gives its -wal and -shm the same mode.
  closeSync(openSync(file, 'a', 0o600));
  const database = new SQLite(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // Deleted and overwritten content is zeroed, not left in free space: a copy of the file must not
  // hold a deleted secret's ciphertext or a cleared master-key link.
  database.pragma('secure_delete = ON');
  const db = new Kysely<Database>({ dialect: new SqliteQueueDialect(database) });
  // Read outside the connection queue, possibly inside another caller's open transaction: both
  // counters only grow, so a reading taken then is at worst stale, never too new (change-stamp.ts).
  // Two plain statements: the pragma_data_version table-valued function prepares a PRAGMA
  // statement on every read, which made the stamp about 8% of a list page's CPU.
  const dataVersion = database.prepare('pragma data_version').pluck();
  const ownChanges = database.prepare('select total_changes()').pluck();
  registerChangeStamp(db, () => `${dataVersion.get() as number}:${ownChanges.get() as number}`);
  return {
    db,
    dialect: 'sqlite',
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

/** How long forgetting overwritten data keeps trying while other processes hold the log. */
export const FORGET_WITHIN_MS = 2_000;
/**
 * How long one attempt lets SQLite wait for readers. Its busy handler sleeps on the calling
 * thread, so this is also the longest the event loop stops for; with the connection's usual
 * BUSY_TIMEOUT_MS one attempt stopped it for 5 s.
 */
const ATTEMPT_WAIT_MS = 10;
/** The pause between attempts, on a timer: requests use the connection meanwhile. */
const RETRY_EVERY_MS = 50;

/**
 * After overwriting sensitive data: on SQLite, copies the write-ahead log into the database and
 * truncates it, so that old versions of pages survive in neither file. A reader in another process
 * keeps the log in use while its transaction lasts, so this tries again on a timer for up to
 * `withinMs`, each attempt waiting only ATTEMPT_WAIT_MS; false when the log was still in use then
 * (the caller says what that leaves behind). PostgreSQL: nothing to do here (old row versions go
 * with vacuum; its own WAL and archives are the operator's, see docs/security.md).
 */
export async function forgetOverwrittenData(store: Store, withinMs = FORGET_WITHIN_MS): Promise<boolean> {
  if (store.dialect !== 'sqlite') return true;
  const deadline = performance.now() + withinMs;
  for (;;) {
    // One connection for the three statements, so the short wait never applies to anyone else's.
    const busy = await store.db.connection().execute(async (db) => {
      await sql.raw(`pragma busy_timeout = ${ATTEMPT_WAIT_MS}`).execute(db);
      try {
        const { rows } = await sql<{ busy: number }>`pragma wal_checkpoint(TRUNCATE)`.execute(db);
        return rows[0]?.busy !== 0;
      } finally {
        await sql.raw(`pragma busy_timeout = ${BUSY_TIMEOUT_MS}`).execute(db);
      }
    });
    if (!busy) return true;
    if (performance.now() + RETRY_EVERY_MS > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
  }
}

/** An online, consistent copy of the embedded database (SQLite's backup API). */
export async function backupSqlite(options: ConnectOptions, target: string): Promise<void> {
  if (options.databaseUrl !== undefined) {
    throw new Error('backup copies the embedded SQLite database; back PostgreSQL up with its own tools');
  }
  const database = new SQLite(join(options.dataDir, SQLITE_FILE_NAME), {
    readonly: true,
    fileMustExist: true,
  });
  try {
    // The copy holds token hashes and wrapped keys: owner-only, like the original.
    closeSync(openSync(target, 'w', 0o600));
    chmodSync(target, 0o600);
    await database.backup(target);
  } finally {
    database.close();
  }
}
