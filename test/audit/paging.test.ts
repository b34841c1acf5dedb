/**
 * Paging GET /api/v1/audit-logs through its listing (src/features/audit/audit.listing.ts): the
 * unfiltered total and each page's start come from the `seq` range, filtered ones from counting
 * the matches. Every page is compared with the stored events read here, newest first, and the
 * body byte for byte with what the response schema's serializer writes for the same answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fastJson from 'fast-json-stringify';
import { generateToken } from '../../src/crypto/tokens.js';
import { toAuditLog } from '../../src/features/audit/audit.mapping.js';
import { pruneAuditEvents } from '../../src/features/audit/audit.retention.js';
import { auditLogListSchema } from '../../src/features/audit/audit.schemas.js';
import type { AuditEventRow } from '../../src/features/audit/audit.table.js';
import { auditRows } from '../helpers/audit.js';
import { api, createKey, deleteKey } from '../helpers/keys.js';
import { createSecret } from '../helpers/secrets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const DAY = 24 * 60 * 60 * 1000;
const serialize = fastJson(auditLogListSchema as object);

let server: TestServer;

before(async () => {
  server = await startTestServer();
  for (let i = 0; i < 12; i++) await createSecret(server);
  server.advance(2 * DAY);
  for (let i = 0; i < 8; i++) {
    const key = await createKey(server, { name: `paging ${i}` });
    if (i % 2 === 0) await deleteKey(server, key.cid);
    // A denial whose user agent needs escaping in JSON.
    const denied = await api(server)('GET', '/api/v1/secrets', {
      token: generateToken(),
      headers: { 'user-agent': `agent "${i}" \\ </script> \t` },
    });
    assert.equal(denied.status, 401);
  }
  await createSecret(server);
});
after(async () => server?.close());

/** One page over HTTP, its body checked against the serializer's text for the same answer. */
async function page(query: Record<string, string | number>) {
  const search = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
  const reply = await api(server)('GET', `/api/v1/audit-logs?${search}`, { token: server.adminToken });
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.text, serialize(JSON.parse(reply.text)), 'the body is what the schema writes');
  return reply.body as {
    logs: ReturnType<typeof toAuditLog>[];
    page: number;
    total: number;
    totalPages: number;
  };
}

/** The stored events `keep` selects, as the log lists them: newest first. */
async function listed(keep: (row: AuditEventRow) => boolean = () => true) {
  return (await auditRows(server)).filter(keep).reverse().map(toAuditLog);
}

async function assertEveryPage(query: Record<string, string>, expected: ReturnType<typeof toAuditLog>[]) {
  for (const pageSize of [1, 3, 7, 1000]) {
    const pages = Math.ceil(expected.length / pageSize);
    for (let number = 0; number <= pages; number++) {
      const read = await page({ ...query, page: number, pageSize });
      const label = `${JSON.stringify(query)} page ${number} of size ${pageSize}`;
      assert.equal(read.total, expected.length, `${label}: total`);
      assert.equal(read.totalPages, pages, `${label}: totalPages`);
      assert.deepEqual(read.logs, expected.slice(number * pageSize, (number + 1) * pageSize), label);
    }
  }
}

describe('the audit log in pages', () => {
  test('every page, deep ones included, is the stored events newest first', async () => {
    const all = await listed();
    assert.ok(all.length > 25, `${all.length} events`);
    await assertEveryPage({}, all);
  });

  test('a page past the end is empty and keeps the total', async () => {
    const total = (await listed()).length;
    const read = await page({ page: 100_000, pageSize: 1000 });
    assert.deepEqual(read, { logs: [], page: 100_000, total, totalPages: Math.ceil(total / 1000) });
  });

  test('filtered pages count and page over the matches only', async () => {
    await assertEveryPage({ actions: 'CREATE' }, await listed((row) => row.action === 'CREATE'));
    await assertEveryPage(
      { objectTypes: 'API_KEY', actions: 'DELETE,READ' },
      await listed((row) => row.object_type === 'API_KEY' && ['DELETE', 'READ'].includes(row.action)),
    );
    await assertEveryPage({ actorTypes: 'ANONYMOUS' }, await listed((row) => row.actor_type === 'ANONYMOUS'));
    const none = await page({ actorEmails: 'someone@example.com' });
    assert.deepEqual(none, { logs: [], page: 0, total: 0, totalPages: 0 });
  });

  test('after retention deletes the oldest events, totals and pages cover the rest', async () => {
    const before = await listed();
    const pruned = await pruneAuditEvents(server.store, new Date(Date.now() + DAY));
    assert.equal(pruned, 13, 'the bootstrap key and twelve secrets, two days old');
    const after = await listed();
    assert.equal(after.length, before.length - pruned);
    await assertEveryPage({}, after);
    await assertEveryPage({ actions: 'CREATE' }, await listed((row) => row.action === 'CREATE'));
    // New events carry on from the kept ones.
    await createSecret(server);
    await assertEveryPage({}, await listed());
  });
});
