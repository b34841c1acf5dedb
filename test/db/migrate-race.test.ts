/**
 * Migrating while another schema of the same database is dropped. Kysely finds its bookkeeping
 * tables through a catalogue query over every schema, which resolves each table by name: a schema
 * or table dropped between the listing and the look-up fails that query (seen in CI, where test
 * files drop their schemas side by side). migrateToLatest looks again then, and only then: the
 * errors below are PostgreSQL's own, raised by the same functions the catalogue query calls.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Store } from '../../src/db/database.js';
import { racedAnotherSchema } from '../../src/db/migrate.js';
import { openMigratedStore, testDialect } from '../helpers/database.js';

const skip =
  testDialect() === 'sqlite' ? 'a catalogue of schemas is PostgreSQL’s: the PostgreSQL pass' : false;

async function errorOf(store: Store, query: ReturnType<typeof sql>): Promise<unknown> {
  try {
    await query.execute(store.db);
  } catch (error) {
    return error;
  }
  assert.fail('the query succeeded');
}

describe('a migration run that raced a drop elsewhere', { skip }, () => {
  let opened: Awaited<ReturnType<typeof openMigratedStore>>;
  before(async () => {
    opened = await openMigratedStore('migrate-race');
  });
  after(() => opened.close());

  test('a table gone when resolved (undefined_table) before any migration ran is looked at again', async () => {
    const gone = await errorOf(
      opened.store,
      sql`select pg_get_serial_sequence(quote_ident(current_schema()) || '.tessera_dropped_meanwhile', 'id')`,
    );
    assert.equal((gone as { code?: string }).code, '42P01');
    assert.equal(racedAnotherSchema(gone, undefined), true);
    // Once a migration has run (results exist), the same error is that migration's own: no retry.
    assert.equal(racedAnotherSchema(gone, []), false);
  });

  test('a column gone when resolved (undefined_column) before any migration ran is looked at again', async () => {
    // Kysely asks pg_get_serial_sequence of every column it listed: a table of another schema
    // dropped and made again in between has lost the column it asks about (seen in CI: 'column
    // "seq" of relation "audit_checkpoints" does not exist').
    await sql`create table tessera_remade_meanwhile (id integer)`.execute(opened.store.db);
    const gone = await errorOf(
      opened.store,
      sql`select pg_get_serial_sequence(quote_ident(current_schema()) || '.tessera_remade_meanwhile', 'seq')`,
    );
    await sql`drop table tessera_remade_meanwhile`.execute(opened.store.db);
    assert.equal((gone as { code?: string }).code, '42703');
    assert.equal(racedAnotherSchema(gone, undefined), true);
    assert.equal(racedAnotherSchema(gone, []), false);
  });

  test('a schema being dropped (invalid_schema_name) is looked at again', async () => {
    const gone = await errorOf(
      opened.store,
      sql`select has_schema_privilege('tessera_dropped_meanwhile', 'USAGE')`,
    );
    assert.equal((gone as { code?: string }).code, '3F000');
    assert.equal(racedAnotherSchema(gone, undefined), true);
  });

  test('anything else fails the start', () => {
    assert.equal(racedAnotherSchema(Object.assign(new Error('x'), { code: '42601' }), undefined), false);
    assert.equal(racedAnotherSchema(new Error('no code'), undefined), false);
  });
});
