/**
 * The background rendering of stored list items (src/db/listing/list-item-backfill.ts): rows without a
 * `list_item` (written before migration 0005, or cleared by its trigger) get exactly the text the
 * listing writes when a row is created or renamed, a bounded batch at a time in key order, and
 * the pass stops when asked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import {
  type BackfillLog,
  renderListItems,
  startListItemBackfill,
} from '../../src/db/listing/list-item-backfill.js';
import { apiKeysListing } from '../../src/features/api-keys/api-keys.listing.js';
import { LISTINGS } from '../../src/features/listings.js';
import { secretsListing } from '../../src/features/secrets/secrets.listing.js';
import { testDialect } from '../helpers/database.js';
import { createKey } from '../helpers/keys.js';
import { createSecret } from '../helpers/secrets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const TABLES = [apiKeysListing, secretsListing] as const;

const quiet: BackfillLog = { info: () => {}, warn: () => {} };

describe(`rendering stored list items in the background (${testDialect()})`, () => {
  let server: TestServer;
  /** Each row's text as the service rendered it on create, by table and key. */
  const rendered = new Map<string, string>();

  const texts = async (table: string, key: string) =>
    (
      await sql<{ key: string; text: string | null }>`
        select ${sql.ref(key)} as key, list_item as text from ${sql.table(table)} order by ${sql.ref(key)}`.execute(
        server.store.db,
      )
    ).rows;

  const clearAll = async () => {
    for (const { table } of TABLES)
      await sql`update ${sql.table(table)} set list_item = null`.execute(server.store.db);
  };

  const assertAllAsRendered = async (tables: readonly (typeof TABLES)[number][] = TABLES) => {
    for (const { table, key } of tables) {
      for (const row of await texts(table, key)) {
        assert.equal(row.text, rendered.get(`${table}:${row.key}`), `${table} ${row.key}`);
      }
    }
  };

  before(async () => {
    server = await startTestServer();
    for (let i = 0; i < 12; i++) {
      await createKey(server, {
        name: `key "${i}" \\ \u2028 🔑`,
        description: i % 2 === 0 ? `about\n${i}` : undefined,
      });
      await createSecret(server, { name: `secret </${i}> "q" \\ \u2028` });
    }
    for (const { table, key } of TABLES) {
      for (const row of await texts(table, key)) {
        assert.notEqual(row.text, null, 'the service renders every row it creates');
        rendered.set(`${table}:${row.key}`, row.text as string);
      }
    }
  });
  after(async () => server?.close());

  test('a batch looks at the next rows in key order and renders those without a text', async () => {
    await clearAll();
    const keys = (await texts('secrets', 'id')).map((row) => row.key);
    const first = await renderListItems(server.store, TABLES[1], '', 5);
    assert.deepEqual(first, { rendered: 5, next: keys[4] });
    const second = await renderListItems(server.store, TABLES[1], first.next as string, 5);
    assert.deepEqual(second, { rendered: 5, next: keys[9] });
    const rows = await texts('secrets', 'id');
    assert.deepEqual(
      rows.map((row) => row.text !== null),
      keys.map((_, i) => i < 10),
    );
    for (const row of rows.slice(0, 10)) assert.equal(row.text, rendered.get(`secrets:${row.key}`));
    // The last window runs to the end of the table: nothing to continue after.
    assert.deepEqual(await renderListItems(server.store, TABLES[1], second.next as string, 5), {
      rendered: keys.length - 10,
      next: undefined,
    });
    await assertAllAsRendered([TABLES[1]]);
  });

  test('rows that have their text are passed over, and never rewritten', async () => {
    await assertAllAsRendered([TABLES[1]]);
    const keys = (await texts('secrets', 'id')).map((row) => row.key);
    // Two rows of the first window lose their text; a third keeps a text the service did not write.
    for (const id of [keys[1], keys[3]]) {
      await sql`update secrets set list_item = null where id = ${id}`.execute(server.store.db);
    }
    await sql`update secrets set list_item = ${'{"kept":true}'} where id = ${keys[2]}`.execute(
      server.store.db,
    );
    assert.deepEqual(await renderListItems(server.store, TABLES[1], '', 5), { rendered: 2, next: keys[4] });
    const rows = await texts('secrets', 'id');
    assert.equal(rows[1]?.text, rendered.get(`secrets:${keys[1]}`));
    assert.equal(rows[3]?.text, rendered.get(`secrets:${keys[3]}`));
    assert.equal(rows[2]?.text, '{"kept":true}');
    await sql`update secrets set list_item = ${rendered.get(`secrets:${keys[2]}`)} where id = ${keys[2]}`.execute(
      server.store.db,
    );
  });

  test('a whole pass renders every table, byte for byte as the service does, and says so once', async () => {
    await clearAll();
    const lines: { details: object; message: string }[] = [];
    const log: BackfillLog = { info: (details, message) => lines.push({ details, message }), warn: () => {} };
    // The registry the server starts it with: listings that keep no texts are passed over.
    const backfill = startListItemBackfill(server.store, LISTINGS, log, { batchRows: 4, pauseMs: 0 });
    await backfill.finished;
    await assertAllAsRendered();
    const keys = (await texts('api_keys', 'cid')).length;
    assert.equal(lines.length, 1);
    const [line] = lines as [{ details: { rendered: object; ms: unknown }; message: string }];
    assert.equal(line.message, 'stored list items rendered for rows that had none');
    assert.deepEqual(line.details.rendered, { api_keys: keys, secrets: 12 });
    assert.equal(typeof line.details.ms, 'number');
    // Nothing left: a second pass renders nothing and writes no line.
    const again = startListItemBackfill(server.store, TABLES, log, { batchRows: 4, pauseMs: 0 });
    await again.finished;
    assert.equal(lines.length, 1);
  });

  test('a rename before the pass is rendered with the new name', async () => {
    await clearAll();
    const [first] = await texts('secrets', 'id');
    const id = first?.key as string;
    await sql`update secrets set name = ${'renamed "directly"'} where id = ${id}`.execute(server.store.db);
    await startListItemBackfill(server.store, TABLES, quiet, { pauseMs: 0 }).finished;
    const row = (await texts('secrets', 'id')).find((r) => r.key === id);
    const tag = (
      await sql<{ tag: string }>`select tag from secrets where id = ${id}`.execute(server.store.db)
    ).rows[0]?.tag;
    assert.equal(row?.text, JSON.stringify({ id, name: 'renamed "directly"', tag }));
  });

  test('stop ends the pass after its batch in progress, leaving the rest for the next start', async () => {
    await clearAll();
    const backfill = startListItemBackfill(server.store, TABLES, quiet, { batchRows: 2, pauseMs: 60_000 });
    // The first batch runs at once; the pass then waits out its pause, which stop cuts short.
    while ((await texts('api_keys', 'cid')).every((row) => row.text === null)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await backfill.stop();
    const keys = await texts('api_keys', 'cid');
    assert.equal(keys.filter((row) => row.text !== null).length, 2);
    assert.ok((await texts('secrets', 'id')).every((row) => row.text === null));
    await backfill.finished;
  });
});
