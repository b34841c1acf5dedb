/**
 * List pages are written as JSON text without the response serializer (src/db/listing/json-page.ts): each
 * row's item is rendered when the row is written (`list_item`), and rows without one are rendered
 * as they are read (on SQLite by the database). Their items must be, byte for byte, what the
 * serializer writes for each item on its own: the single-item GET answers, which it writes from
 * the same schema. Names and descriptions here hold everything JSON must escape: what the API
 * accepts, and the control characters it now refuses but rows written before may hold.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { role } from '../helpers/keys.js';
import { createSecret } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';

/** Names that need escaping in JSON, all printable (the API refuses control characters in names). */
const AWKWARD = [
  'quote " and backslash \\ and slash /',
  'line separator \u2028 paragraph separator \u2029',
  'emoji 🔑, accents é ü, CJK 鍵',
  '</script><!-- {"json":[1]} -->',
  'null',
  "apostrophe ' percent % backtick ` dollar $",
  'inner  spaces, no-break\u00a0space, soft\u00adhyphen, BOM \ufeff, non-character \uffff',
];
/** Descriptions may also span lines and hold tabs. */
const DESCRIPTION = 'tab\tnewline\n and \\n "escaped" \u2028';
/**
 * Control characters, which names and descriptions held before the API refused them: rows
 * written then still hold them, and are listed like every other row.
 */
const CONTROLS =
  'tab\tnewline\ncarriage return\rform feed\fbackspace\b \u0001 \u001f delete \u007f \u001b[31m \u0085';

const suite = useTestServer({ app: { changeNotices: { mode: 'uncached' } } }, async () => {
  // No in-process caches: rows are rewritten behind the API below, as rows written by an earlier
  // release are, and the single-item answers must read them as stored.
  for (const [i, text] of AWKWARD.entries()) {
    suite.server.advance(1000);
    const reply = await suite.call('POST', '/api/v1/auth/key', {
      token: suite.server.adminToken,
      body: {
        name: `key ${text}`,
        ...(i % 2 === 0 ? { description: i === 0 ? DESCRIPTION : text } : {}),
        ...(i === 1 ? { expirationDate: '2099-01-01T00:00:00Z' } : {}),
        roles: [role(i % 3 === 0 ? 'READ_ONLY' : 'USER'), ...(i === 2 ? [role('ADMIN')] : [])],
      },
    });
    assert.equal(reply.status, 200, reply.text);
    await createSecret(suite.server, { name: `secret ${text}` });
  }
});

/** The list answer the serializer would write: each item's own GET answer, in list order. */
async function expectedPage(listPath: string, itemPath: (id: string) => string, key: string, query: string) {
  const listed = await suite.call('GET', `${listPath}?${query}`, { token: suite.server.adminToken });
  assert.equal(listed.status, 200, listed.text);
  const items: string[] = [];
  for (const item of listed.body[key] as { cid?: string; id?: string }[]) {
    const single = await suite.call('GET', itemPath((item.cid ?? item.id) as string), {
      token: suite.server.adminToken,
    });
    assert.equal(single.status, 200, single.text);
    items.push(single.text);
  }
  const { page, total, totalPages } = listed.body;
  return {
    listed,
    expected: `{"${key}":[${items.join(',')}],"page":${page},"total":${total},"totalPages":${totalPages}}`,
  };
}

type Listed = 'api_keys' | 'secrets';

/** How many of a table's rows hold a stored item text, and how many hold none. */
async function storedItems(table: Listed): Promise<{ stored: number; missing: number }> {
  const rows = await suite.server.store.db.selectFrom(table).select('list_item').execute();
  const stored = rows.filter((row) => row.list_item !== null).length;
  return { stored, missing: rows.length - stored };
}

describe('a list page is its items’ own answers, byte for byte', () => {
  const lists = [
    [
      'API keys',
      'api_keys',
      '/api/v1/auth/key',
      (cid: string) => `/api/v1/auth/key/${cid}`,
      'apiKeys',
      AWKWARD.length + 1,
    ],
    [
      'secrets',
      'secrets',
      '/api/v1/secrets',
      (id: string) => `/api/v1/secrets/${id}`,
      'secrets',
      AWKWARD.length,
    ],
  ] as const;

  test('the awkward texts come back as they were sent, names trimmed (before any row is rewritten below)', async () => {
    const keys = (
      await suite.call('GET', '/api/v1/auth/key?pageSize=1000', { token: suite.server.adminToken })
    ).body.apiKeys;
    const secrets = (
      await suite.call('GET', '/api/v1/secrets?pageSize=1000', { token: suite.server.adminToken })
    ).body.secrets;
    assert.deepEqual(
      keys.slice(1).map((k: { name: string }) => k.name),
      AWKWARD.map((text) => `key ${text}`.trim()),
    );
    assert.deepEqual(
      secrets.map((s: { name: string }) => s.name),
      AWKWARD.map((text) => `secret ${text}`.trim()),
    );
  });

  // First as the service writes rows; then with every other row as written before list_item
  // existed (migration 0005), so a page mixes stored texts with texts rendered as it is read.
  for (const rows of ['items stored when written', 'every other row without a stored item'] as const) {
    for (const [name, table, listPath, itemPath, key, count] of lists) {
      test(`${name}, ${rows}: a whole list, a middle page and a page past the end`, async () => {
        if (rows === 'items stored when written') {
          assert.deepEqual(await storedItems(table), { stored: count, missing: 0 });
        } else {
          // Every other row in list order (the keys' own is oldest first, then by id), written as
          // before migration 0005 and before names and descriptions refused control characters.
          const ids = (
            await suite.call('GET', `${listPath}?pageSize=1000`, { token: suite.server.adminToken })
          ).body[key].map((item: { cid?: string; id?: string }) => item.cid ?? item.id);
          const legacy = ids.filter((_: string, i: number) => i % 2 === 1);
          const texts =
            table === 'api_keys'
              ? sql`name = ${`legacy ${CONTROLS}`}, description = ${CONTROLS}`
              : sql`name = ${`legacy ${CONTROLS}`}`;
          await sql`update ${sql.table(table)} set list_item = null, ${texts} where ${sql.ref(
            table === 'api_keys' ? 'cid' : 'id',
          )} in (${sql.join(legacy)})`.execute(suite.server.store.db);
          assert.deepEqual(await storedItems(table), {
            stored: count - legacy.length,
            missing: legacy.length,
          });
        }
        const whole = await expectedPage(listPath, itemPath, key, 'pageSize=1000');
        assert.equal(whole.listed.body[key].length, count);
        assert.equal(whole.listed.text, whole.expected);
        assert.equal(whole.listed.headers.get('content-type'), 'application/json; charset=utf-8');

        const middle = await expectedPage(listPath, itemPath, key, 'pageSize=3&page=1');
        assert.equal(middle.listed.body[key].length, 3);
        assert.equal(middle.listed.text, middle.expected);
        // The middle page is the whole list's rows 3 to 5: same order, same bytes.
        assert.deepEqual(middle.listed.body[key], whole.listed.body[key].slice(3, 6));

        const past = await suite.call('GET', `${listPath}?pageSize=3&page=9`, {
          token: suite.server.adminToken,
        });
        assert.equal(past.status, 200);
        const totalPages = Math.ceil(count / 3);
        assert.equal(past.text, `{"${key}":[],"page":9,"total":${count},"totalPages":${totalPages}}`);
      });
    }
  }
});

describe('a stored item follows its row', () => {
  /** The list's item for `id`, and the row's stored text. */
  async function listedAndStored(table: Listed, id: string) {
    const [listPath, key, idColumn] =
      table === 'api_keys' ? ['/api/v1/auth/key', 'apiKeys', 'cid'] : ['/api/v1/secrets', 'secrets', 'id'];
    const listed = await suite.call('GET', `${listPath}?pageSize=1000`, { token: suite.server.adminToken });
    const item = (listed.body[key] as { cid?: string; id?: string }[]).find((i) => (i.cid ?? i.id) === id);
    const row = await suite.server.store.db
      .selectFrom(table)
      .select('list_item')
      .where(sql.ref(idColumn), '=', id)
      .executeTakeFirstOrThrow();
    return { item, stored: row.list_item };
  }

  test('an update through the API renders the item again, with the new name', async () => {
    const key = await suite.call('POST', '/api/v1/auth/key', {
      token: suite.server.adminToken,
      body: { name: 'before', roles: [role('USER')] },
    });
    const cid = key.body.cid as string;
    const put = await suite.call('PUT', `/api/v1/auth/key/${cid}`, {
      token: suite.server.adminToken,
      body: { name: 'after "renamed"', description: 'now described' },
    });
    assert.equal(put.status, 200, put.text);
    const single = await suite.call('GET', `/api/v1/auth/key/${cid}`, { token: suite.server.adminToken });
    const keyNow = await listedAndStored('api_keys', cid);
    assert.equal(keyNow.stored, single.text);
    assert.deepEqual(keyNow.item, JSON.parse(single.text));

    const secret = await createSecret(suite.server, { name: 'secret before' });
    const renamed = await suite.call('PUT', `/api/v1/secrets/${secret.id}`, {
      token: suite.server.adminToken,
      body: { name: 'secret after' },
    });
    assert.equal(renamed.status, 200, renamed.text);
    const renamedNow = await listedAndStored('secrets', secret.id);
    const singleRenamed = await suite.call('GET', `/api/v1/secrets/${secret.id}`, {
      token: suite.server.adminToken,
    });
    assert.equal(renamedNow.stored, singleRenamed.text);
    assert.equal((renamedNow.item as { name: string }).name, 'secret after');
    const valued = await suite.call('PUT', `/api/v1/secrets/${secret.id}`, {
      token: suite.server.adminToken,
      body: { name: 'secret after a new value', secret: 'rotated-0c41f9' },
    });
    assert.equal(valued.status, 200, valued.text);
    const secretNow = await listedAndStored('secrets', secret.id);
    const singleSecret = await suite.call('GET', `/api/v1/secrets/${secret.id}`, {
      token: suite.server.adminToken,
    });
    assert.equal(secretNow.stored, singleSecret.text);
    assert.equal((secretNow.item as { name: string }).name, 'secret after a new value');
  });

  test('a change to a shown column that does not render the item clears it, and the list shows the change', async () => {
    const key = await suite.call('POST', '/api/v1/auth/key', {
      token: suite.server.adminToken,
      body: { name: 'changed behind the API', roles: [role('USER')] },
    });
    const cid = key.body.cid as string;
    assert.notEqual((await listedAndStored('api_keys', cid)).stored, null);
    await suite.server.store.db
      .updateTable('api_keys')
      .set({ name: 'changed directly' })
      .where('cid', '=', cid)
      .execute();
    const keyNow = await listedAndStored('api_keys', cid);
    assert.equal(keyNow.stored, null);
    assert.equal((keyNow.item as { name: string }).name, 'changed directly');

    const secret = await createSecret(suite.server, { name: 'secret changed behind the API' });
    await suite.server.store.db
      .updateTable('secrets')
      .set({ name: 'secret changed directly' })
      .where('id', '=', secret.id)
      .execute();
    const secretNow = await listedAndStored('secrets', secret.id);
    assert.equal(secretNow.stored, null);
    assert.equal((secretNow.item as { name: string }).name, 'secret changed directly');

    // A column the list does not show leaves the stored text alone.
    const other = await createSecret(suite.server, { name: 'secret with a new version' });
    const storedBefore = (await listedAndStored('secrets', other.id)).stored;
    assert.notEqual(storedBefore, null);
    await suite.server.store.db
      .updateTable('secrets')
      .set({ updated_at: new Date(0).toISOString() })
      .where('id', '=', other.id)
      .execute();
    assert.equal((await listedAndStored('secrets', other.id)).stored, storedBefore);
  });
});
