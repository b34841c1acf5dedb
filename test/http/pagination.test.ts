/** SPEC §2 on the API-key list: bounds, totals, pages past the end, and a stable order. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, type Call, type CreatedKey, createKey } from '../helpers/keys.js';
import { assertViolations } from '../helpers/problem.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CREATED = 7;

let server: TestServer;
let call: Call;
let bootstrapCid: string;
/** In creation order; the server clock moves a second between them. */
const keys: CreatedKey[] = [];
before(async () => {
  server = await startTestServer();
  call = api(server);
  bootstrapCid = (await call('GET', '/api/v1/me', { token: server.adminToken })).body.cid;
  for (let i = 0; i < CREATED; i++) {
    server.advance(1000);
    keys.push(await createKey(server, { name: `page-${i}` }));
  }
});
after(async () => server.close());

const list = (query: string) => call('GET', `/api/v1/auth/key${query}`, { token: server.adminToken });
const TOTAL = CREATED + 1; // and the bootstrap key

describe('page and pageSize bounds', () => {
  test('defaults: page 0 and pageSize 250', async () => {
    const reply = await list('');
    assert.equal(reply.status, 200);
    assert.equal(reply.body.page, 0);
    assert.equal(reply.body.total, TOTAL);
    assert.equal(reply.body.totalPages, 1);
    assert.equal(reply.body.apiKeys.length, TOTAL);
  });

  test('pageSize 1 and 1000 are fine', async () => {
    for (const [size, pages] of [
      [1, TOTAL],
      [1000, 1],
    ] as const) {
      const reply = await list(`?pageSize=${size}`);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.apiKeys.length, Math.min(size, TOTAL));
      assert.equal(reply.body.totalPages, pages);
    }
  });

  for (const [query, pointer] of [
    ['?pageSize=0', '/query/pageSize'],
    ['?pageSize=1001', '/query/pageSize'],
    ['?pageSize=-1', '/query/pageSize'],
    ['?pageSize=abc', '/query/pageSize'],
    ['?pageSize=1.5', '/query/pageSize'],
    ['?pageSize=', '/query/pageSize'],
    ['?pageSize=1e2', '/query/pageSize'],
    ['?page=-1', '/query/page'],
    ['?page=abc', '/query/page'],
    ['?page=1.5', '/query/page'],
    ['?page=', '/query/page'],
    ['?page=0x1', '/query/page'],
  ] as const) {
    test(`${query}: 400 at ${pointer}`, async () => {
      assertViolations(await list(query), [pointer]);
    });
  }
});

describe('totals', () => {
  test('totalPages = ceil(total / pageSize) for every size', async () => {
    for (const size of [1, 2, 3, TOTAL - 1, TOTAL, TOTAL + 1, 250]) {
      const reply = await list(`?pageSize=${size}`);
      assert.equal(reply.body.total, TOTAL);
      assert.equal(reply.body.totalPages, Math.ceil(TOTAL / size), `pageSize ${size}`);
    }
  });

  test('a page past the end is an empty array with the true totals', async () => {
    for (const page of [4, 5, 100, 2_000_000_000]) {
      const reply = await list(`?page=${page}&pageSize=2`);
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(reply.body.apiKeys, []);
      assert.equal(reply.body.page, page);
      assert.equal(reply.body.total, TOTAL);
      assert.equal(reply.body.totalPages, Math.ceil(TOTAL / 2));
    }
  });

  test('the last page holds the remainder', async () => {
    const reply = await list('?page=2&pageSize=3');
    assert.equal(reply.body.apiKeys.length, TOTAL - 6);
  });

  test('exactly one top-level array, under apiKeys', async () => {
    const reply = await list('?pageSize=2');
    const arrays = Object.entries(reply.body).filter(([, value]) => Array.isArray(value));
    assert.deepEqual(
      arrays.map(([name]) => name),
      ['apiKeys'],
    );
  });
});

describe('order', () => {
  test('oldest first: paging by 2 shows every key exactly once, in creation order', async () => {
    const seen: string[] = [];
    for (let page = 0; page < Math.ceil(TOTAL / 2); page++) {
      const reply = await list(`?page=${page}&pageSize=2`);
      assert.equal(reply.body.page, page);
      seen.push(...reply.body.apiKeys.map((k: { cid: string }) => k.cid));
    }
    assert.deepEqual(seen, [bootstrapCid, ...keys.map((k) => k.cid)]);
  });

  test('keys created in the same instant still page without skips or repeats', async () => {
    const burst = await Promise.all([1, 2, 3, 4, 5].map((i) => createKey(server, { name: `burst-${i}` })));
    const all = (await list('?pageSize=1000')).body.apiKeys as { cid: string; createdDate: string }[];
    // Sorted by creation time, then by cid (the tie-break SPEC §2 names).
    const sorted = [...all].sort((a, b) =>
      a.createdDate === b.createdDate ? (a.cid < b.cid ? -1 : 1) : a.createdDate < b.createdDate ? -1 : 1,
    );
    assert.deepEqual(
      all.map((k) => k.cid),
      sorted.map((k) => k.cid),
    );
    const paged: string[] = [];
    for (let page = 0; page < all.length; page++) {
      paged.push(...(await list(`?page=${page}&pageSize=1`)).body.apiKeys.map((k: { cid: string }) => k.cid));
    }
    assert.deepEqual(
      paged,
      all.map((k) => k.cid),
    );
    for (const key of burst) assert.equal(paged.filter((cid) => cid === key.cid).length, 1);
    await Promise.all(
      burst.map((k) => call('DELETE', `/api/v1/auth/key/${k.cid}`, { token: server.adminToken })),
    );
  });
});
