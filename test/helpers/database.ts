import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import pg from 'pg';
import { connectSqlite } from '../../src/db/connect.js';
import { connectPostgres, storeFromPool } from '../../src/db/connect-postgres.js';
import type { Dialect, Store } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';

/**
 * Which dialect this test process runs on: `npm test` runs the whole suite once per dialect
 * (scripts/run-tests.mjs sets TESSERA_TEST_DIALECT). PostgreSQL is the real server at
 * TEST_DATABASE_URL when set, PGlite (PostgreSQL compiled to WebAssembly, in-process) otherwise.
 */
export function testDialect(): Dialect {
  return process.env.TESSERA_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
}

export function postgresFlavour(): 'server' | 'pglite' {
  return process.env.TEST_DATABASE_URL ? 'server' : 'pglite';
}

export interface TestStore {
  store: Store;
  /**
   * Closes the store; with `drop`, also removes what it created outside the data folder (a
   * PostgreSQL schema). SQLite and PGlite files live in the data folder and go with it.
   */
  dispose(options?: { drop?: boolean }): Promise<void>;
}

/**
 * A store for one data folder. Opening the same folder again reaches the same data on every
 * dialect, so restart tests work everywhere.
 */
export async function createTestStore(dataDir: string): Promise<TestStore> {
  if (testDialect() === 'sqlite') {
    const store = connectSqlite(dataDir);
    return { store, dispose: () => store.close() };
  }
  const url = process.env.TEST_DATABASE_URL;
  if (url === undefined || url === '') {
    const folder = join(dataDir, 'pglite');
    const template = process.env.TESSERA_TEST_PGLITE_TEMPLATE;
    if (template !== undefined && !existsSync(folder)) cpSync(template, folder, { recursive: true });
    const store = storeFromPool(new PglitePool(new PGlite(folder)), 'postgres');
    return { store, dispose: () => store.close() };
  }
  // A schema per data folder, so test files can run side by side on one database.
  const schema = `tessera_test_${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`;
  await withClient(url, (client) => client.query(`create schema if not exists ${schema}`));
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  const store = connectPostgres(scoped.toString(), 5);
  return {
    store,
    async dispose(options = {}) {
      await store.close();
      if (options.drop === true)
        await withClient(url, (client) => client.query(`drop schema ${schema} cascade`));
    },
  };
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** PGlite as a pg-style pool of one connection, handed out to one transaction at a time. */
export class PglitePool implements PostgresPool {
  private queue: Promise<void> = Promise.resolve();
  constructor(private readonly db: PGlite) {}

  async connect(): Promise<PostgresPoolClient> {
    let release!: () => void;
    const previous = this.queue;
    this.queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    const db = this.db;
    const client = {
      async query<R>(sqlText: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>> {
        const result = await db.query<Record<string, unknown>>(sqlText, parameters as unknown[]);
        return {
          command: (
            sqlText.trim().split(/\s+/, 1)[0] ?? ''
          ).toUpperCase() as PostgresQueryResult<R>['command'],
          rowCount: result.affectedRows ?? result.rows.length,
          rows: result.rows.map(asBuffers) as R[],
        };
      },
      release,
    };
    return client as unknown as PostgresPoolClient;
  }

  async end() {
    await this.db.close();
  }
}

/** pg returns bytea as Buffer; PGlite as Uint8Array. Match pg. */
function asBuffers(row: Record<string, unknown>) {
  for (const [key, value] of Object.entries(row)) {
    if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
      row[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  }
  return row;
}

/** A migrated store in a fresh temporary folder, for tests of the storage layer itself. */
export async function openMigratedStore(name: string): Promise<{ store: Store; close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), `tessera-${name}-`));
  const { store, dispose } = await createTestStore(dataDir);
  const close = async () => {
    await dispose({ drop: true });
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await migrateToLatest(store.db, store.dialect);
  } catch (error) {
    await close();
    throw error;
  }
  return { store, close };
}
