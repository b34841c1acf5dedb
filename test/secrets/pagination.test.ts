/** SPEC §2 on GET /api/v1/secrets: page/pageSize, totals, oldest first, stable paging. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertViolations } from '../helpers/problem.js';
import { createSecret, type Secret } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';

const suite = useTestServer();

const list = async (query = '') => {
  const reply = await suite.call('GET', `/api/v1/secrets${query}`, { token: suite.server.adminToken });
  assert.equal(reply.status, 200, reply.text);
  assert.deepEqual(Object.keys(reply.body).sort(), ['page', 'secrets', 'total', 'totalPages']);
  return reply.body as { secrets: Secret[]; page: number; total: number; totalPages: number };
};

/** Every page of `pageSize`, concatenated. */
async function allPages(pageSize: number): Promise<Secret[]> {
  const first = await list(`?pageSize=${pageSize}`);
  const items = [...first.secrets];
  for (let page = 1; page < first.totalPages; page++) {
    const next = await list(`?page=${page}&pageSize=${pageSize}`);
    assert.equal(next.page, page);
    assert.equal(next.total, first.total);
    items.push(...next.secrets);
  }
  return items;
}

/** Secrets created one after another, a second of server time apart: their order is known. */
const inOrder: Secret[] = [];

test('no secrets: an empty array, total 0, totalPages 0', async () => {
  assert.deepEqual(await list(), { secrets: [], page: 0, total: 0, totalPages: 0 });
  assert.deepEqual(await list('?page=3&pageSize=10'), { secrets: [], page: 3, total: 0, totalPages: 0 });
});

test('oldest first, whatever the tags and names', async () => {
  // Tags and names in reverse alphabetical order, so neither could explain the order.
  for (let i = 0; i < 11; i++) {
    const letter = String.fromCharCode(122 - i);
    const { value: _value, ...secret } = await createSecret(suite.server, {
      tag: `${letter}-ordered`,
      name: letter,
    });
    inOrder.push(secret);
    suite.server.advance(1000);
  }
  assert.deepEqual((await list()).secrets, inOrder);
});

test('defaults: page 0 and up to 250 per page', async () => {
  const body = await list();
  assert.equal(body.page, 0);
  assert.equal(body.total, inOrder.length);
  assert.equal(body.totalPages, 1);
});

test('pages of 3: totals, sizes, and the pages put together are the whole list', async () => {
  const first = await list('?pageSize=3');
  assert.equal(first.total, 11);
  assert.equal(first.totalPages, 4);
  assert.equal(first.secrets.length, 3);
  const last = await list('?page=3&pageSize=3');
  assert.equal(last.secrets.length, 2);
  assert.deepEqual(await allPages(3), inOrder);
  assert.deepEqual(await allPages(1), inOrder);
  assert.deepEqual(await allPages(11), inOrder);
});

test('a page past the end: an empty array with the true totals', async () => {
  assert.deepEqual(await list('?page=4&pageSize=3'), { secrets: [], page: 4, total: 11, totalPages: 4 });
  assert.deepEqual(await list('?page=2147483647&pageSize=1000'), {
    secrets: [],
    page: 2147483647,
    total: 11,
    totalPages: 1,
  });
});

test('secrets created in the same instant page without gaps or repeats, and stay in place', async () => {
  const burst = await Promise.all(
    Array.from({ length: 9 }, (_, i) => createSecret(suite.server, { name: `burst ${i}` })),
  );
  const whole = (await list('?pageSize=1000')).secrets;
  assert.equal(whole.length, 20);
  assert.deepEqual(whole.slice(0, 11), inOrder, 'older secrets come first');
  assert.deepEqual(new Set(whole.slice(11).map((s) => s.id)), new Set(burst.map((s) => s.id)));
  for (const size of [1, 2, 4, 7]) assert.deepEqual(await allPages(size), whole, `pages of ${size}`);
  assert.deepEqual((await list('?pageSize=1000')).secrets, whole, 'the order is stable between calls');
});

test('renaming or changing a value does not move a secret; deleting one closes the gap', async () => {
  const before = (await list('?pageSize=1000')).secrets;
  const target = before[3] as Secret;
  suite.server.advance(1000);
  await suite.call('PUT', `/api/v1/secrets/${target.id}`, {
    token: suite.server.adminToken,
    body: { name: 'renamed', secret: 'new value' },
  });
  const after = (await list('?pageSize=1000')).secrets;
  assert.deepEqual(
    after.map((s) => s.id),
    before.map((s) => s.id),
  );
  assert.equal(after[3]?.name, 'renamed');
  assert.equal(
    (await suite.call('DELETE', `/api/v1/secrets/${target.id}`, { token: suite.server.adminToken })).status,
    200,
  );
  const shorter = await list('?pageSize=1000');
  assert.equal(shorter.total, before.length - 1);
  assert.deepEqual(
    shorter.secrets.map((s) => s.id),
    before.map((s) => s.id).filter((id) => id !== target.id),
  );
});

test('out-of-range or non-integer page and pageSize: 400 at the query pointer', async () => {
  const cases: [string, string][] = [
    ['?pageSize=0', '/query/pageSize'],
    ['?pageSize=1001', '/query/pageSize'],
    ['?pageSize=-1', '/query/pageSize'],
    ['?pageSize=abc', '/query/pageSize'],
    ['?pageSize=2.5', '/query/pageSize'],
    ['?page=-1', '/query/page'],
    ['?page=1.5', '/query/page'],
    ['?page=x', '/query/page'],
    ['?page=2147483648', '/query/page'],
  ];
  for (const [query, pointer] of cases) {
    assertViolations(await suite.call('GET', `/api/v1/secrets${query}`, { token: suite.server.adminToken }), [
      pointer,
    ]);
  }
});
