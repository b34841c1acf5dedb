/**
 * GET /api/v1/audit-logs in Cortex's shape (issue 5): `{logs, page, total, totalPages}`, newest
 * first, pagination, and Cortex's filters: comma-joined values OR together, different filters
 * AND together, zone-less times are UTC, unknown values are 400 with violations.
 *
 * Each filter's answer is compared with the audit_events rows filtered here in the test, and
 * with a few events known by name, so neither an empty answer nor an unfiltered one passes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateToken } from '../../src/crypto/tokens.js';
import type { AuditEventRow } from '../../src/features/audit/audit.table.js';
import { type AuditLogEntry, auditLogs, auditRows } from '../helpers/audit.js';
import { type CreatedKey, createKey, deleteKey } from '../helpers/keys.js';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { createSecret, type Secret } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';
import { ISO_UTC } from '../helpers/spec.js';

let manager: CreatedKey;
let user: CreatedKey;
let early: Secret;
let late: Secret;
let target: CreatedKey;
/** The last event before the clock jumps an hour, and the first after. */
let lastEarly: AuditEventRow;
let firstLate: AuditEventRow;
const suite = useTestServer({}, async () => {
  manager = await createKey(suite.server, { name: 'manager', roles: ['MANAGER'] });
  user = await createKey(suite.server, { name: 'user', roles: ['USER'] });
  early = await createSecret(suite.server, { token: manager.apiKey });
  target = await createKey(suite.server, { name: 'target' });
  lastEarly = (await auditRows(suite.server)).at(-1) as AuditEventRow;
  suite.server.advance(60 * 60 * 1000);
  late = await createSecret(suite.server);
  firstLate = (await auditRows(suite.server)).at(-1) as AuditEventRow;
  const renamed = await suite.call('PUT', `/api/v1/auth/key/${target.cid}`, {
    token: suite.server.adminToken,
    body: { name: 'target, renamed' },
  });
  assert.equal(renamed.status, 200);
  await deleteKey(suite.server, target.cid);
  const denied = await suite.call('GET', '/api/v1/secrets', { token: generateToken() });
  assert.equal(denied.status, 401);
  const reveal = await suite.call('GET', `/api/v1/secrets/${late.tag}/value`, {
    token: suite.server.adminToken,
  });
  assert.equal(reveal.status, 200);
});

/** The ids GET /api/v1/audit-logs returns for `query` (one page of 1000). */
async function idsFor(query: Record<string, string>): Promise<number[]> {
  const page = await auditLogs(suite.server, { ...query, pageSize: 1000 });
  assert.equal(page.total, page.logs.length);
  return page.logs.map((l) => l.id);
}

/** The ids of the stored events `keep` selects, newest first. */
async function expectedIds(keep: (row: AuditEventRow) => boolean): Promise<number[]> {
  return (await auditRows(suite.server))
    .filter(keep)
    .map((r) => Number(r.seq))
    .reverse();
}

/** Asserts the filter returns exactly the events `keep` selects, and at least `atLeast` of them. */
async function assertFilter(
  query: Record<string, string>,
  keep: (row: AuditEventRow) => boolean,
  atLeast = 1,
): Promise<number[]> {
  const ids = await idsFor(query);
  assert.deepEqual(ids, await expectedIds(keep), JSON.stringify(query));
  assert.ok(ids.length >= atLeast, `${JSON.stringify(query)} matched ${ids.length}`);
  return ids;
}

const seqOf = (row: AuditEventRow) => Number(row.seq);

describe('the shape', () => {
  test('{logs, page, total, totalPages}; each log has Cortex’s fields; every event, newest first', async () => {
    const reply = await suite.call('GET', '/api/v1/audit-logs', { token: suite.server.adminToken });
    assert.equal(reply.status, 200, reply.text);
    const rows = await auditRows(suite.server);
    assert.deepEqual(Object.keys(reply.body).sort(), ['logs', 'page', 'total', 'totalPages']);
    assert.equal(reply.body.page, 0);
    assert.equal(reply.body.total, rows.length);
    assert.equal(reply.body.totalPages, 1);
    const logs = reply.body.logs as AuditLogEntry[];
    assert.equal(logs.length, rows.length);
    for (const log of logs) {
      for (const field of [
        'action',
        'actorIdentifier',
        'ipAddress',
        'objectIdentifier',
        'objectType',
        'timestamp',
      ])
        assert.ok(field in log, `a log lacks '${field}': ${JSON.stringify(log)}`);
      assert.match(log.timestamp, ISO_UTC);
      assert.equal(typeof log.actorIdentifier, 'string');
    }
    assert.deepEqual(
      logs.map((l) => l.id),
      rows.map(seqOf).reverse(),
      'newest first',
    );
    for (let i = 1; i < logs.length; i++) {
      assert.ok((logs[i - 1] as AuditLogEntry).timestamp >= (logs[i] as AuditLogEntry).timestamp);
    }
    assert.equal(reply.headers.get('cache-control'), 'no-store');
  });

  test('an anonymous denial reads as actorIdentifier "anonymous", a key’s call as its cid', async () => {
    const logs = (await auditLogs(suite.server)).logs;
    const anonymous = logs.find((l) => l.actorType === 'ANONYMOUS');
    assert.equal(anonymous?.actorIdentifier, 'anonymous');
    assert.equal(anonymous?.outcome, 'DENIED');
    const byManager = logs.find((l) => l.objectIdentifier === early.tag);
    assert.equal(byManager?.actorIdentifier, manager.cid);
    assert.equal(byManager?.ipAddress, '127.0.0.1');
  });
});

describe('pagination', () => {
  test('pageSize=1: exactly one log per page, in order; totals true on every page', async () => {
    const all = (await auditLogs(suite.server)).logs.map((l) => l.id);
    for (const [page, id] of all.entries()) {
      const reply = await auditLogs(suite.server, { page, pageSize: 1 });
      assert.deepEqual(
        reply.logs.map((l) => l.id),
        [id],
      );
      assert.equal(reply.page, page);
      assert.equal(reply.total, all.length);
      assert.equal(reply.totalPages, all.length);
    }
  });

  test('pages of 3 put together are the whole list', async () => {
    const all = (await auditLogs(suite.server)).logs.map((l) => l.id);
    const pages: number[] = [];
    for (let page = 0; page * 3 < all.length; page++) {
      const reply = await auditLogs(suite.server, { page, pageSize: 3 });
      assert.equal(reply.totalPages, Math.ceil(all.length / 3));
      pages.push(...reply.logs.map((l) => l.id));
    }
    assert.deepEqual(pages, all);
  });

  test('past the end: no logs, true totals', async () => {
    const total = (await auditRows(suite.server)).length;
    const reply = await auditLogs(suite.server, { page: total, pageSize: 1 });
    assert.deepEqual(reply.logs, []);
    assert.equal(reply.page, total);
    assert.equal(reply.total, total);
    assert.equal(reply.totalPages, total);
  });

  test('a filter’s total counts the filtered events', async () => {
    const reply = await auditLogs(suite.server, { actions: 'DELETE', pageSize: 1 });
    const deletes = (await auditRows(suite.server)).filter((r) => r.action === 'DELETE').length;
    assert.ok(deletes >= 1);
    assert.equal(reply.total, deletes);
    assert.equal(reply.totalPages, deletes);
    assert.equal(reply.logs.length, 1);
  });

  test('pageSize 0 or 1001, or a negative page: 400', async () => {
    for (const [query, pointer] of [
      ['pageSize=0', '/query/pageSize'],
      ['pageSize=1001', '/query/pageSize'],
      ['page=-1', '/query/page'],
    ] as const) {
      const reply = await suite.call('GET', `/api/v1/audit-logs?${query}`, {
        token: suite.server.adminToken,
      });
      assertViolations(reply, [pointer]);
    }
  });
});

describe('time filters', () => {
  /** A boundary between the two phases, half an hour after the last early event. */
  const boundary = () => new Date(Date.parse(lastEarly.occurred_at) + 30 * 60 * 1000);

  test('startTime with a Z: only the later events', async () => {
    const at = boundary().toISOString();
    await assertFilter({ startTime: at }, (r) => r.occurred_at >= at, 5);
    const ids = await idsFor({ startTime: at });
    assert.ok(ids.includes(seqOf(firstLate)) && !ids.includes(seqOf(lastEarly)));
  });

  test('zone-less startTime and endTime are UTC (with and without seconds, with milliseconds)', async () => {
    const at = boundary();
    const iso = at.toISOString();
    for (const zoneless of [iso.slice(0, -1), iso.slice(0, 19), iso.slice(0, 16)]) {
      const instant = new Date(`${zoneless}Z`).toISOString();
      assert.ok(instant > lastEarly.occurred_at && instant < firstLate.occurred_at, 'test bug: boundary');
      const later = await assertFilter({ startTime: zoneless }, (r) => r.occurred_at >= instant);
      assert.equal(later.at(-1), seqOf(firstLate), zoneless);
      // An end without milliseconds covers its whole second (or minute): inclusive to its last ms.
      const unit = zoneless.length === 16 ? 59_999 : zoneless.length === 19 ? 999 : 0;
      const end = new Date(Date.parse(instant) + unit).toISOString();
      const earlier = await assertFilter({ endTime: zoneless }, (r) => r.occurred_at <= end, 5);
      assert.equal(earlier[0], seqOf(lastEarly), zoneless);
    }
  });

  test('an endTime to the minute includes the whole minute', async () => {
    const minute = lastEarly.occurred_at.slice(0, 16);
    const ids = await idsFor({ endTime: minute });
    assert.ok(ids.includes(seqOf(lastEarly)), `${minute}: ${JSON.stringify(ids)}`);
  });

  test('an offset is honoured: the same instant written in +02:00', async () => {
    const at = boundary();
    const shifted = new Date(at.getTime() + 2 * 60 * 60 * 1000).toISOString().slice(0, 19);
    const withOffset = `${shifted}+02:00`;
    const instant = new Date(withOffset).toISOString();
    assert.ok(instant > lastEarly.occurred_at && instant < firstLate.occurred_at, 'test bug: boundary');
    await assertFilter({ startTime: withOffset }, (r) => r.occurred_at >= instant);
  });

  test('both bounds are inclusive: an event’s own timestamp as startTime and endTime finds it', async () => {
    const ids = await idsFor({ startTime: firstLate.occurred_at, endTime: firstLate.occurred_at });
    assert.ok(ids.includes(seqOf(firstLate)), JSON.stringify(ids));
    assert.ok(ids.every((id) => id >= seqOf(firstLate)));
  });

  test('startTime after endTime: empty', async () => {
    const reply = await auditLogs(suite.server, {
      startTime: firstLate.occurred_at,
      endTime: lastEarly.occurred_at,
    });
    assert.deepEqual(reply.logs, []);
    assert.equal(reply.total, 0);
  });

  test('an invalid startTime or endTime: 400 naming it', async () => {
    for (const [name, value] of [
      ['startTime', 'yesterday'],
      ['startTime', '2026-02-30T00:00:00'],
      ['endTime', '2026-11-21T25:00:00'],
      ['endTime', '21/11/2026'],
    ]) {
      const reply = await suite.call(
        'GET',
        `/api/v1/audit-logs?${name}=${encodeURIComponent(value as string)}`,
        {
          token: suite.server.adminToken,
        },
      );
      assertViolations(reply, [`/query/${name}`]);
    }
  });
});

describe('value filters', () => {
  test('actions=CREATE,DELETE: either (OR)', async () => {
    const ids = await assertFilter(
      { actions: 'CREATE,DELETE' },
      (r) => r.action === 'CREATE' || r.action === 'DELETE',
      6,
    );
    const creates = await idsFor({ actions: 'CREATE' });
    const deletes = await idsFor({ actions: 'DELETE' });
    assert.ok(creates.length > 0 && deletes.length > 0);
    assert.equal(ids.length, creates.length + deletes.length);
  });

  test('actions=READ and UPDATE', async () => {
    await assertFilter({ actions: 'READ' }, (r) => r.action === 'READ', 2);
    await assertFilter({ actions: 'UPDATE' }, (r) => r.action === 'UPDATE', 1);
  });

  test('objectIdentifiers: a tag and a cid', async () => {
    const ids = await assertFilter(
      { objectIdentifiers: `${late.tag},${target.cid}` },
      (r) => r.object_id === late.tag || r.object_id === target.cid,
      5,
    );
    // The target key: created, renamed, deleted; the late secret: created, revealed.
    assert.equal(ids.length, 5);
  });

  test('objectTypes', async () => {
    await assertFilter({ objectTypes: 'SECRET' }, (r) => r.object_type === 'SECRET', 3);
    await assertFilter(
      { objectTypes: 'API_KEY,SECRET' },
      (r) => ['API_KEY', 'SECRET'].includes(r.object_type),
      8,
    );
    assert.deepEqual(await idsFor({ objectTypes: 'MASTER_KEY' }), []);
  });

  test('actorTypes: ANONYMOUS, SYSTEM, API_KEY; Cortex’s own types match nothing', async () => {
    await assertFilter({ actorTypes: 'ANONYMOUS' }, (r) => r.actor_type === 'ANONYMOUS', 1);
    const system = await assertFilter({ actorTypes: 'SYSTEM' }, (r) => r.actor_type === 'SYSTEM', 1);
    assert.deepEqual(system, [1], 'the bootstrap key');
    await assertFilter({ actorTypes: 'API_KEY,SYSTEM' }, (r) => r.actor_type !== 'ANONYMOUS', 8);
    for (const cortex of ['OAUTH2', 'BACKSTAGE', 'PERSONAL_API_KEY']) {
      assert.deepEqual(await idsFor({ actorTypes: cortex }), [], cortex);
    }
  });

  test('actorApiKeyIdentifiers', async () => {
    const ids = await assertFilter(
      { actorApiKeyIdentifiers: manager.cid },
      (r) => r.actor_id === manager.cid,
      1,
    );
    assert.equal(ids.length, 1, 'the manager created one secret');
    await assertFilter(
      { actorApiKeyIdentifiers: `${manager.cid},${user.cid}` },
      (r) => r.actor_id === manager.cid || r.actor_id === user.cid,
    );
    assert.deepEqual(await idsFor({ actorApiKeyIdentifiers: 'ak0000000000000000' }), []);
  });

  test('actorIpAddresses', async () => {
    await assertFilter({ actorIpAddresses: '127.0.0.1' }, (r) => r.ip === '127.0.0.1', 8);
    assert.deepEqual(await idsFor({ actorIpAddresses: '10.0.0.1' }), []);
    await assertFilter({ actorIpAddresses: '10.0.0.1,127.0.0.1' }, (r) => r.ip === '127.0.0.1', 8);
  });

  test('different filters AND together', async () => {
    const ids = await assertFilter(
      { actions: 'CREATE', objectTypes: 'SECRET', actorApiKeyIdentifiers: manager.cid },
      (r) => r.action === 'CREATE' && r.object_type === 'SECRET' && r.actor_id === manager.cid,
    );
    assert.equal(ids.length, 1);
    const since = firstLate.occurred_at;
    const deleted = await assertFilter(
      { actions: 'CREATE,DELETE', objectTypes: 'API_KEY', startTime: since },
      (r) => ['CREATE', 'DELETE'].includes(r.action) && r.object_type === 'API_KEY' && r.occurred_at >= since,
    );
    assert.equal(deleted.length, 1, 'the target key’s deletion');
    assert.deepEqual(await idsFor({ actions: 'READ', objectTypes: 'API_KEY', actorTypes: 'SYSTEM' }), []);
  });

  test('actorEmails (Cortex’s user actors; Tessera has none): an empty list', async () => {
    const reply = await auditLogs(suite.server, { actorEmails: 'someone@example.com' });
    assert.deepEqual(reply, { logs: [], page: 0, total: 0, totalPages: 0 });
  });

  test('unknown values: 400 with a violation at /query/<name>', async () => {
    for (const [name, value] of [
      ['actions', 'NOPE'],
      ['actions', 'CREATE,NOPE'],
      ['actions', 'create'],
      ['objectTypes', 'CATALOG'],
      ['actorTypes', 'ROBOT'],
    ] as const) {
      const reply = await suite.call('GET', `/api/v1/audit-logs?${name}=${value}`, {
        token: suite.server.adminToken,
      });
      const [violation] = assertViolations(reply, [`/query/${name}`]);
      assert.ok(reply.body.detail.includes(value.split(',').at(-1) as string), reply.text);
      assert.equal(violation?.pointer, `/query/${name}`);
    }
  });

  test('several unknown values at once: one violation each', async () => {
    const reply = await suite.call(
      'GET',
      '/api/v1/audit-logs?actions=NOPE&objectTypes=CATALOG&actorTypes=ROBOT',
      {
        token: suite.server.adminToken,
      },
    );
    const violations = assertViolations(reply, ['/query/actions', '/query/objectTypes', '/query/actorTypes']);
    assert.equal(violations.length, 3);
  });
});

describe('who may read it', () => {
  test('a MANAGER key (VIEW_AUDIT_LOGS): 200', async () => {
    const reply = await auditLogs(suite.server, {}, manager.apiKey);
    assert.ok(reply.total > 0);
  });

  test('a USER key: 403', async () => {
    const reply = await suite.call('GET', '/api/v1/audit-logs', { token: user.apiKey });
    assertProblem(reply, 403, 'FORBIDDEN');
  });
});
