// Builds a migrated, empty PGlite database folder once per test run (scripts/run-tests.mjs calls
// this before the PostgreSQL pass). Each test store then starts from a copy, which is several
// times faster than initialising and migrating a fresh PGlite database every time.
import { PGlite } from '@electric-sql/pglite';
import { storeFromPool } from '../../src/db/connect-postgres.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { PglitePool } from './database.js';

const target = process.argv[2];
if (target === undefined) throw new Error('usage: pglite-template.ts <folder>');
const store = storeFromPool(new PglitePool(new PGlite(target)), 'postgres');
await migrateToLatest(store.db, store.dialect);
await store.close();
