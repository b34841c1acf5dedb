/**
 * One declaration is enough (src/db/listing/define-listing.ts): tables that exist only in this
 * test, each declared in a few lines, get counting, stored item texts and paging, checked against
 * the obvious answer (every row read, mapped and sliced), on this pass's dialect.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Store } from '../../src/db/database.js';
import { defineListing } from '../../src/db/listing/define-listing.js';
import { denseSequence } from '../../src/db/listing/dense-sequence.js';
import { pageBlocks } from '../../src/db/listing/page-blocks.js';
import { openMigratedStore, testDialect } from '../helpers/database.js';

interface NoteRow {
  id: string;
  title: string;
  labels: string;
  created_at: string;
}

/** A third listed table: notes oldest first, their labels a stored JSON list, blocks of three. */
const notes = defineListing({
  table: 'listing_test_notes',
  key: 'id',
  order: { by: ['created_at', 'id'], direction: 'asc' },
  fields: [
    { key: 'noteId', column: 'id' },
    { key: 'title', column: 'title' },
    { key: 'labels', column: 'labels', json: true },
  ],
  toItem: (row: NoteRow) => ({
    noteId: row.id,
    title: row.title,
    labels: JSON.parse(row.labels) as string[],
  }),
  counting: pageBlocks({ blockRows: 3 }),
  storesItems: true,
});

/** A log newest first, counted by its key's range. */
const entries = defineListing({
  table: 'listing_test_entries',
  key: 'seq',
  order: { by: ['seq'], direction: 'desc' },
  fields: [
    { key: 'n', column: 'seq' },
    { key: 'text', column: 'body' },
  ],
  toItem: (row: { seq: number | string; body: string }) => ({ n: Number(row.seq), text: row.body }),
  counting: denseSequence(),
  storesItems: false,
});

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

describe(`a listing declared once (${testDialect()})`, () => {
  let store: Store;
  let close: () => Promise<void>;

  before(async () => {
    ({ store, close } = await openMigratedStore('listing'));
    await store.db.schema
      .createTable('listing_test_notes')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('labels', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('list_item', 'text')
      .execute();
    await store.db.schema
      .createTable('listing_test_entries')
      .addColumn('seq', 'bigint', (c) => c.primaryKey())
      .addColumn('body', 'text', (c) => c.notNull())
      .execute();
  });
  after(() => close());

  /** Every note, as the list shows it, in list order. */
  async function allNotes() {
    const { rows } = await sql<NoteRow>`
      select id, title, labels, created_at from listing_test_notes order by created_at, id`.execute(store.db);
    return rows.map((row) => ({ noteId: row.id, title: row.title, labels: JSON.parse(row.labels) }));
  }

  async function assertNotePages(label: string) {
    const all = await allNotes();
    for (const pageSize of [1, 2, 3, 5, 50]) {
      for (let page = 0; page * pageSize <= all.length + pageSize; page++) {
        const read = await notes.page(store.db, store.dialect, { page, pageSize });
        assert.equal(read.total, all.length, `${label}: total`);
        assert.equal(read.totalPages, Math.ceil(all.length / pageSize));
        assert.deepEqual(
          read.items,
          all.slice(page * pageSize, (page + 1) * pageSize),
          `${label}: ${page}×${pageSize}`,
        );
      }
    }
  }

  test('inserts are counted and their item texts stored; pages match every row read and mapped', async () => {
    const write = (id: string, s: number, title: string, labels: string[]) =>
      store.db
        .transaction()
        .execute((trx) =>
          notes.insert(trx, store.dialect, { id, title, labels: JSON.stringify(labels), created_at: at(s) }),
        );
    for (let i = 0; i < 11; i++)
      await write(`n${String(i).padStart(2, '0')}`, i, `note "${i}" \\ \u2028`, [`l${i}`]);
    // Older than every block, and in the same second as another: counted where they belong.
    await write('a-early', -5, 'early', []);
    await write('n05b', 5, 'same second', ['x', 'y']);
    const { rows } = await sql<{ id: string; list_item: string | null; title: string; labels: string }>`
      select id, list_item, title, labels from listing_test_notes`.execute(store.db);
    for (const row of rows) {
      assert.equal(
        row.list_item,
        JSON.stringify({ noteId: row.id, title: row.title, labels: JSON.parse(row.labels) }),
        'the stored text is the item as JSON.stringify writes it',
      );
    }
    // PostgreSQL's writers count in stripes: blocks split when the list is settled.
    await notes.settle(store.db, store.dialect);
    const blocks = await store.db
      .selectFrom('page_blocks')
      .selectAll()
      .where('list', '=', 'listing_test_notes')
      .execute();
    assert.ok(blocks.length >= 4, `13 rows in blocks of 3: ${blocks.length} blocks`);
    await assertNotePages('inserted');
  });

  test('rows without a stored text are rendered as they are read, to the same text', async () => {
    const stored = await notes.page(store.db, store.dialect, { page: 0, pageSize: 100 });
    await sql`update listing_test_notes set list_item = null where id in ('n01', 'n05b', 'a-early')`.execute(
      store.db,
    );
    const rendered = await notes.page(store.db, store.dialect, { page: 0, pageSize: 100 });
    assert.deepEqual(rendered.items, stored.items);
    // The text itself, byte for byte (on SQLite json_object writes it, elsewhere JSON.stringify).
    const text = (page: typeof stored) => JSON.stringify(page.items);
    assert.equal(text(rendered), text(stored));
  });

  test('an update of a shown column gets its text from the listing; deletes are uncounted', async () => {
    const before = (await allNotes()).find((note) => note.noteId === 'n03');
    assert.ok(before);
    const changes = notes.withItem(
      { id: 'n03', title: before.title, labels: '["l3"]', created_at: at(3) },
      { title: 'renamed' },
    );
    assert.deepEqual(changes, {
      title: 'renamed',
      list_item: '{"noteId":"n03","title":"renamed","labels":["l3"]}',
    });
    assert.deepEqual(notes.withItem({ id: 'n03', title: 'x', labels: '[]', created_at: at(3) }, {}), {});
    await sql`update listing_test_notes set title = ${changes.title}, list_item = ${changes.list_item} where id = 'n03'`.execute(
      store.db,
    );
    for (const id of ['n00', 'n07', 'a-early', 'n10']) {
      await store.db.transaction().execute(async (trx) => {
        assert.equal(await notes.delete(trx, store.dialect, id), true);
      });
    }
    assert.equal(await notes.delete(store.db, store.dialect, 'n07'), false, 'gone already');
    await assertNotePages('updated and deleted');
  });

  test('a dense sequence: total and pages from its range, after a prefix is deleted, and past the end', async () => {
    for (let seq = 1; seq <= 17; seq++) {
      await sql`insert into listing_test_entries (seq, body) values (${seq}, ${`entry ${seq}`})`.execute(
        store.db,
      );
    }
    const expected = async () => {
      const { rows } = await sql<{ seq: number | string; body: string }>`
        select seq, body from listing_test_entries order by seq desc`.execute(store.db);
      return rows.map((row) => ({ n: Number(row.seq), text: row.body }));
    };
    const assertPages = async (label: string) => {
      const all = await expected();
      for (const pageSize of [1, 4, 17, 100]) {
        for (let page = 0; page * pageSize <= all.length + pageSize; page++) {
          const read = await entries.page(store.db, store.dialect, { page, pageSize });
          assert.equal(read.total, all.length, `${label}: total`);
          assert.deepEqual(
            read.items,
            all.slice(page * pageSize, (page + 1) * pageSize),
            `${label}: ${page}×${pageSize}`,
          );
        }
      }
    };
    await assertPages('seventeen');
    await sql`delete from listing_test_entries where seq <= 6`.execute(store.db);
    await assertPages('a prefix deleted');
    await sql`delete from listing_test_entries`.execute(store.db);
    const empty = await entries.page(store.db, store.dialect, { page: 0, pageSize: 10 });
    assert.deepEqual([empty.total, empty.totalPages, empty.items], [0, 0, []]);
  });

  test('a declaration its counting cannot serve is refused when made', () => {
    assert.throws(
      () => defineListing({ ...entriesSpec(), counting: pageBlocks() }),
      /page blocks count a list ordered by \(time, key\) ascending/,
    );
    assert.throws(
      () => defineListing({ ...entriesSpec(), order: { by: ['body', 'seq'], direction: 'desc' } }),
      /a dense sequence counts a list ordered by its key alone/,
    );
  });
});

function entriesSpec() {
  return {
    table: 'listing_test_entries',
    key: 'seq' as const,
    order: { by: ['seq'] as ('seq' | 'body')[], direction: 'desc' as const },
    fields: [{ key: 'n', column: 'seq' as const }],
    toItem: (row: { seq: number; body: string }) => ({ n: row.seq }),
    counting: denseSequence(),
    storesItems: false,
  };
}
