/**
 * List pages are written as JSON text without the response serializer (src/db/json-page.ts; on
 * SQLite the database writes the item array). Their items must be, byte for byte, what the
 * serializer writes for each item on its own: the single-item GET answers, which it writes from
 * the same schema. Names and descriptions here hold everything JSON must escape.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, type Call, role } from '../helpers/keys.js';
import { createSecret } from '../helpers/secrets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const AWKWARD = [
  'quote " and backslash \\ and slash /',
  'tab\tnewline\ncarriage return\rform feed\fbackspace\b',
  'control \u0001 \u001f and delete \u007f',
  'line separator \u2028 paragraph separator \u2029',
  'emoji 🔑, accents é ü, CJK 鍵',
  '</script><!-- {"json":[1]} -->',
  'null',
];

let server: TestServer;
let call: Call;
before(async () => {
  server = await startTestServer();
  call = api(server);
  for (const [i, text] of AWKWARD.entries()) {
    server.advance(1000);
    const reply = await call('POST', '/api/v1/auth/key', {
      token: server.adminToken,
      body: {
        name: `key ${text}`,
        ...(i % 2 === 0 ? { description: text } : {}),
        ...(i === 1 ? { expirationDate: '2099-01-01T00:00:00Z' } : {}),
        roles: [role(i % 3 === 0 ? 'READ_ONLY' : 'USER'), ...(i === 2 ? [role('ADMIN')] : [])],
      },
    });
    assert.equal(reply.status, 200, reply.text);
    await createSecret(server, { name: `secret ${text}` });
  }
});
after(async () => server.close());

/** The list answer the serializer would write: each item's own GET answer, in list order. */
async function expectedPage(listPath: string, itemPath: (id: string) => string, key: string, query: string) {
  const listed = await call('GET', `${listPath}?${query}`, { token: server.adminToken });
  assert.equal(listed.status, 200, listed.text);
  const items: string[] = [];
  for (const item of listed.body[key] as { cid?: string; id?: string }[]) {
    const single = await call('GET', itemPath((item.cid ?? item.id) as string), { token: server.adminToken });
    assert.equal(single.status, 200, single.text);
    items.push(single.text);
  }
  const { page, total, totalPages } = listed.body;
  return {
    listed,
    expected: `{"${key}":[${items.join(',')}],"page":${page},"total":${total},"totalPages":${totalPages}}`,
  };
}

describe('a list page is its items’ own answers, byte for byte', () => {
  for (const [name, listPath, itemPath, key, count] of [
    [
      'API keys',
      '/api/v1/auth/key',
      (cid: string) => `/api/v1/auth/key/${cid}`,
      'apiKeys',
      AWKWARD.length + 1,
    ],
    ['secrets', '/api/v1/secrets', (id: string) => `/api/v1/secrets/${id}`, 'secrets', AWKWARD.length],
  ] as const) {
    test(`${name}: a whole list, a middle page and a page past the end`, async () => {
      const whole = await expectedPage(listPath, itemPath, key, 'pageSize=1000');
      assert.equal(whole.listed.body[key].length, count);
      assert.equal(whole.listed.text, whole.expected);
      assert.equal(whole.listed.headers.get('content-type'), 'application/json; charset=utf-8');

      const middle = await expectedPage(listPath, itemPath, key, 'pageSize=3&page=1');
      assert.equal(middle.listed.body[key].length, 3);
      assert.equal(middle.listed.text, middle.expected);
      // The middle page is the whole list's rows 3 to 5: same order, same bytes.
      assert.deepEqual(middle.listed.body[key], whole.listed.body[key].slice(3, 6));

      const past = await call('GET', `${listPath}?pageSize=3&page=9`, { token: server.adminToken });
      assert.equal(past.status, 200);
      const totalPages = Math.ceil(count / 3);
      assert.equal(past.text, `{"${key}":[],"page":9,"total":${count},"totalPages":${totalPages}}`);
    });
  }

  test('the awkward texts come back as they were sent, names trimmed', async () => {
    const keys = (await call('GET', '/api/v1/auth/key?pageSize=1000', { token: server.adminToken })).body
      .apiKeys;
    const secrets = (await call('GET', '/api/v1/secrets?pageSize=1000', { token: server.adminToken })).body
      .secrets;
    assert.deepEqual(
      keys.slice(1).map((k: { name: string }) => k.name),
      AWKWARD.map((text) => `key ${text}`.trim()),
    );
    assert.deepEqual(
      secrets.map((s: { name: string }) => s.name),
      AWKWARD.map((text) => `secret ${text}`.trim()),
    );
  });
});
