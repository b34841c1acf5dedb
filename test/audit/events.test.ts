/**
 * Issue 5: every change and every denial leaves exactly one correct audit event, written in the
 * change's transaction; failed validations, 404s and conflicts leave none; and no event (read
 * over the API or straight from the audit_events table) carries a token or a secret value.
 * Anonymous denials (401s) are recorded in aggregate: a client's first in a window is its own
 * event, its further ones one event with their count when the window closes (or the server does),
 * so N of them add at most 2 rows; a 403 stays one event each.
 *
 * Each case runs an action and reads the rows it added (test/helpers/audit.ts: eventsOf), then
 * checks the newest entry of GET /api/v1/audit-logs is the same event. The server's denial window
 * is closed by the test (manualDenialWindow): each case starts in a fresh one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { masterKeyFrom } from '../../src/crypto/master-key.js';
import { generateToken } from '../../src/crypto/tokens.js';
import type { AuditEventRow } from '../../src/features/audit/audit.table.js';
import { verifyAuditChain } from '../../src/features/audit/audit.verify.js';
import { rekey } from '../../src/features/keyring/rekey.js';
import { auditCount, auditLogs, auditRows, eventsOf, manualDenialWindow } from '../helpers/audit.js';
import { eventually } from '../helpers/eventually.js';
import type { CallOptions, Reply } from '../helpers/http.js';
import { api, createKey, expiringKey } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { changeValue, createSecret, marker, uniqueTag } from '../helpers/secrets.js';
import { startTestServer, useTestServer } from '../helpers/server.js';
import { ISO_UTC } from '../helpers/spec.js';

/** A User-Agent no other test sends, so finding it in an event proves where it came from. */
const USER_AGENT = `tessera-audit-test/${randomBytes(4).toString('hex')}`;

let adminCid: string;
const denialWindow = manualDenialWindow();
/** Every token and secret value this file sends: none may appear in any event. */
const tokens = new Set<string>();
const values = new Set<string>();
const suite = useTestServer({ app: { denialWindow: denialWindow.open } }, async () => {
  tokens.add(suite.server.adminToken);
  const me = await call('GET', '/api/v1/me', { token: suite.server.adminToken });
  assert.equal(me.status, 200, me.text);
  adminCid = me.body.cid;
});

/** A request with this file's User-Agent. */
function call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  return suite.call(method, path, { ...options, headers: { 'user-agent': USER_AGENT, ...options.headers } });
}

/** Runs the request and returns its reply and the one event it left (asserting there is one). */
async function oneEvent(
  method: string,
  path: string,
  options: CallOptions,
  status: number,
): Promise<{ reply: Reply; event: AuditEventRow }> {
  await denialWindow.close();
  const { result: reply, events } = await eventsOf(suite.server, () => call(method, path, options));
  assert.equal(reply.status, status, reply.text);
  assert.equal(events.length, 1, `expected one event, got ${JSON.stringify(events)}`);
  return { reply, event: events[0] as AuditEventRow };
}

/** Runs the request and asserts its status and that it left no event. */
async function noEvent(method: string, path: string, options: CallOptions, status: number): Promise<Reply> {
  await denialWindow.close();
  const { result: reply, events } = await eventsOf(suite.server, () => call(method, path, options));
  assert.equal(reply.status, status, reply.text);
  assert.deepEqual(events, [], `expected no event after ${method} ${path} (${status})`);
  return reply;
}

interface Expected {
  actor_type: string;
  actor_id: string | null;
  action: string;
  object_type: string;
  object_id: string | null;
  outcome?: string;
  detail?: string | null | RegExp;
}

/**
 * Asserts the event's fields, that it came from `reply`'s request (client IP, User-Agent,
 * request id), and that the newest entry of GET /api/v1/audit-logs is this event.
 */
async function assertEvent(event: AuditEventRow, expected: Expected, reply?: Reply): Promise<void> {
  const { detail, ...fields } = { outcome: 'SUCCESS', ...expected };
  for (const [name, value] of Object.entries(fields)) {
    assert.equal(event[name as keyof AuditEventRow], value, `${name} of ${JSON.stringify(event)}`);
  }
  if (detail instanceof RegExp) assert.match(event.detail ?? '', detail);
  else if (detail !== undefined) assert.equal(event.detail, detail);
  assert.match(event.occurred_at, ISO_UTC);
  if (reply !== undefined) {
    assert.equal(event.ip, '127.0.0.1');
    assert.equal(event.user_agent, USER_AGENT);
    assert.equal(event.request_id, reply.headers.get('x-request-id'));
  }
  const newest = await auditLogs(suite.server, { pageSize: 1 });
  assert.deepEqual(newest.logs[0], {
    id: Number(event.seq),
    timestamp: event.occurred_at,
    action: event.action,
    actorIdentifier: event.actor_id ?? 'anonymous',
    actorType: event.actor_type,
    ipAddress: event.ip,
    userAgent: event.user_agent,
    requestId: event.request_id,
    objectIdentifier: event.object_id,
    objectType: event.object_type,
    outcome: event.outcome,
    detail: event.detail,
  });
}

describe('API keys', () => {
  test('the bootstrap key: one CREATE by SYSTEM "bootstrap", first in the chain', async () => {
    const rows = (await auditRows(suite.server)).filter((r) => r.actor_type === 'SYSTEM');
    assert.equal(rows.length, 1, JSON.stringify(rows));
    const event = rows[0] as AuditEventRow;
    assert.equal(Number(event.seq), 1);
    assert.equal(event.actor_id, 'bootstrap');
    assert.equal(event.action, 'CREATE');
    assert.equal(event.object_type, 'API_KEY');
    assert.equal(event.object_id, adminCid);
    assert.equal(event.outcome, 'SUCCESS');
    assert.equal(event.ip, null);
    assert.equal(event.request_id, null);
  });

  test('create: one CREATE API_KEY event naming the new cid and the caller', async () => {
    const { reply, event } = await oneEvent(
      'POST',
      '/api/v1/auth/key',
      {
        token: suite.server.adminToken,
        body: { name: 'audited', roles: [{ type: 'DEFAULT', role: 'USER' }] },
      },
      200,
    );
    const { cid } = reply.body;
    tokens.add(reply.body.apiKey);
    await assertEvent(
      event,
      { actor_type: 'API_KEY', actor_id: adminCid, action: 'CREATE', object_type: 'API_KEY', object_id: cid },
      reply,
    );
  });

  test('update: one UPDATE API_KEY event', async () => {
    const { cid } = await createKey(suite.server);
    const { reply, event } = await oneEvent(
      'PUT',
      `/api/v1/auth/key/${cid}`,
      { token: suite.server.adminToken, body: { name: 'audited, renamed', description: 'new words' } },
      200,
    );
    await assertEvent(
      event,
      { actor_type: 'API_KEY', actor_id: adminCid, action: 'UPDATE', object_type: 'API_KEY', object_id: cid },
      reply,
    );
  });

  test('delete: one DELETE API_KEY event', async () => {
    const { cid } = await createKey(suite.server);
    const { reply, event } = await oneEvent(
      'DELETE',
      `/api/v1/auth/key/${cid}`,
      { token: suite.server.adminToken },
      200,
    );
    await assertEvent(
      event,
      { actor_type: 'API_KEY', actor_id: adminCid, action: 'DELETE', object_type: 'API_KEY', object_id: cid },
      reply,
    );
  });

  test('reading keys (list, one, /me) is not recorded', async () => {
    const key = await createKey(suite.server);
    await noEvent('GET', '/api/v1/auth/key', { token: suite.server.adminToken }, 200);
    await noEvent('GET', `/api/v1/auth/key/${key.cid}`, { token: suite.server.adminToken }, 200);
    await noEvent('GET', '/api/v1/me', { token: suite.server.adminToken }, 200);
  });
});

describe('secrets', () => {
  let userKey: { cid: string; apiKey: string };

  before(async () => {
    userKey = await createKey(suite.server, { roles: ['USER'] });
    tokens.add(userKey.apiKey);
  });

  /** A fresh value, remembered so that no event may hold it. */
  const value = () => {
    const made = marker();
    values.add(made);
    return made;
  };

  /** A secret of the admin's with `versions` values, made before the request under test. */
  async function audited(versions = 1): Promise<{ tag: string; first: string }> {
    const tag = uniqueTag('audited');
    const first = value();
    await createSecret(suite.server, { name: 'audited secret', tag, secret: first });
    for (let version = 2; version <= versions; version++) await changeValue(suite.server, tag, value());
    return { tag, first };
  }

  const secretEvent = (tag: string, action: string, detail?: string | null, actor = adminCid): Expected => ({
    actor_type: 'API_KEY',
    actor_id: actor,
    action,
    object_type: 'SECRET',
    object_id: tag,
    ...(detail === undefined ? {} : { detail }),
  });

  test('create: one CREATE SECRET event naming the tag', async () => {
    const tag = uniqueTag('audited');
    const { reply, event } = await oneEvent(
      'POST',
      '/api/v1/secrets',
      { token: suite.server.adminToken, body: { name: 'audited secret', tag, secret: value() } },
      200,
    );
    await assertEvent(event, secretEvent(tag, 'CREATE'), reply);
  });

  test('update of the name only: one UPDATE event, detail "name"', async () => {
    const { tag } = await audited();
    const { reply, event } = await oneEvent(
      'PUT',
      `/api/v1/secrets/${tag}`,
      { token: suite.server.adminToken, body: { name: 'audited secret, renamed' } },
      200,
    );
    await assertEvent(event, secretEvent(tag, 'UPDATE', 'name'), reply);
  });

  test('update of the value (by another key): one UPDATE event naming the new version and that key', async () => {
    const { tag } = await audited();
    const { reply, event } = await oneEvent(
      'PUT',
      `/api/v1/secrets/${tag}`,
      { token: userKey.apiKey, body: { secret: value() } },
      200,
    );
    await assertEvent(event, secretEvent(tag, 'UPDATE', 'value version 2', userKey.cid), reply);
  });

  test('update of name and value together: still one event', async () => {
    const { tag } = await audited(2);
    const { reply, event } = await oneEvent(
      'PUT',
      `/api/v1/secrets/${tag}`,
      { token: suite.server.adminToken, body: { name: 'both at once', secret: value() } },
      200,
    );
    await assertEvent(event, secretEvent(tag, 'UPDATE', 'value version 3'), reply);
  });

  test('listing the versions: one READ event, detail "versions"', async () => {
    const { tag } = await audited(3);
    const { reply, event } = await oneEvent(
      'GET',
      `/api/v1/secrets/${tag}/versions`,
      { token: suite.server.adminToken },
      200,
    );
    assert.equal(reply.body.versions.length, 3);
    await assertEvent(event, secretEvent(tag, 'READ', 'versions'), reply);
  });

  test('revealing the value: one READ event naming the version (current, and ?version=1)', async () => {
    const { tag, first } = await audited(3);
    const current = await oneEvent(
      'GET',
      `/api/v1/secrets/${tag}/value`,
      { token: suite.server.adminToken },
      200,
    );
    assert.equal(current.reply.body.version, 3);
    await assertEvent(current.event, secretEvent(tag, 'READ', 'value version 3'), current.reply);
    const old = await oneEvent(
      'GET',
      `/api/v1/secrets/${tag}/value?version=1`,
      { token: suite.server.adminToken },
      200,
    );
    assert.equal(old.reply.body.value, first);
    await assertEvent(old.event, secretEvent(tag, 'READ', 'value version 1'), old.reply);
  });

  test('reading by id records the tag, not the id', async () => {
    const { tag } = await audited();
    const secret = await call('GET', `/api/v1/secrets/${tag}`, { token: suite.server.adminToken });
    const { reply, event } = await oneEvent(
      'GET',
      `/api/v1/secrets/${secret.body.id}/versions`,
      { token: suite.server.adminToken },
      200,
    );
    await assertEvent(event, secretEvent(tag, 'READ', 'versions'), reply);
  });

  test('listing and reading secrets (metadata) is not recorded', async () => {
    const { tag } = await audited();
    await noEvent('GET', '/api/v1/secrets', { token: suite.server.adminToken }, 200);
    await noEvent('GET', `/api/v1/secrets/${tag}`, { token: suite.server.adminToken }, 200);
  });

  test('delete: one DELETE SECRET event', async () => {
    const { tag } = await audited();
    const { reply, event } = await oneEvent(
      'DELETE',
      `/api/v1/secrets/${tag}`,
      { token: suite.server.adminToken },
      200,
    );
    await assertEvent(event, secretEvent(tag, 'DELETE'), reply);
  });
});

describe('401s: one DENIED event each, actor ANONYMOUS "anonymous"', () => {
  const anonymous = (action: string, objectType: string, objectId: string | null = null): Expected => ({
    actor_type: 'ANONYMOUS',
    actor_id: null,
    action,
    object_type: objectType,
    object_id: objectId,
    outcome: 'DENIED',
    detail: /^UNAUTHORIZED: /,
  });

  test('no token', async () => {
    const { reply, event } = await oneEvent('GET', '/api/v1/secrets', {}, 401);
    assertProblem(reply, 401, 'UNAUTHORIZED');
    await assertEvent(event, anonymous('READ', 'SECRET'), reply);
    assert.equal((await auditLogs(suite.server, { pageSize: 1 })).logs[0]?.actorIdentifier, 'anonymous');
  });

  test('no token on a write: the body (with a value) is not read, nor recorded', async () => {
    const value = marker();
    values.add(value);
    const tag = uniqueTag('denied');
    const { reply, event } = await oneEvent(
      'POST',
      '/api/v1/secrets',
      { body: { name: 'x', tag, secret: value } },
      401,
    );
    await assertEvent(event, anonymous('CREATE', 'SECRET'), reply);
  });

  test('malformed tokens', async () => {
    const valid = generateToken();
    tokens.add(valid);
    for (const authorization of [`Bearer gsk_${valid.slice(4)}`, `Bearer ${valid}A`, 'Basic xyz', valid]) {
      const { reply, event } = await oneEvent(
        'DELETE',
        `/api/v1/auth/key/ak0123456789abcdef`,
        {
          headers: { authorization },
        },
        401,
      );
      await assertEvent(event, anonymous('DELETE', 'API_KEY', 'ak0123456789abcdef'), reply);
      assert.match(event.detail ?? '', /Malformed|Authorization header/);
    }
  });

  test('a well-formed but unknown token', async () => {
    const unknown = generateToken();
    tokens.add(unknown);
    const { reply, event } = await oneEvent('GET', '/api/v1/audit-logs', { token: unknown }, 401);
    await assertEvent(event, anonymous('READ', 'AUDIT_LOG'), reply);
    assert.equal(event.detail, 'UNAUTHORIZED: Invalid API key');
  });

  test('a path identifier that names nothing and is not id-shaped (a NUL in it, a pasted value) is not recorded', async () => {
    for (const path of ['/api/v1/auth/key/%00ak%00', '/api/v1/secrets/not-a-stored-tag']) {
      const { reply, event } = await oneEvent('GET', path, {}, 401);
      await assertEvent(
        event,
        anonymous('READ', path.includes('secrets') ? 'SECRET' : 'API_KEY', null),
        reply,
      );
    }
    assert.deepEqual(await verifyAuditChain(suite.server.store), {
      ok: true,
      events: await auditCount(suite.server),
      fromSeq: 1,
    });
  });

  test('an expired token, on a stored secret named by its id: recorded under its tag', async () => {
    const secret = await createSecret(suite.server, { tag: uniqueTag('expired-target') });
    values.add(secret.value);
    const key = await expiringKey(suite.server, 60_000, ['USER']);
    tokens.add(key.apiKey);
    suite.server.advance(61_000);
    const { reply, event } = await oneEvent(
      'PUT',
      `/api/v1/secrets/${secret.id}`,
      {
        token: key.apiKey,
        body: { name: 'n' },
      },
      401,
    );
    await assertEvent(event, anonymous('UPDATE', 'SECRET', secret.tag), reply);
    assert.equal(event.detail, 'UNAUTHORIZED: API key has expired');
  });
});

describe('401s in aggregate: a client adds at most 2 rows a window', () => {
  /** A mix of every way to be denied anonymously; well-formed unknown tokens are looked up. */
  function anonymousDenial(i: number): CallOptions {
    const unknown = generateToken();
    tokens.add(unknown);
    const ways: CallOptions[] = [
      {},
      { token: unknown },
      { headers: { authorization: 'Basic xyz' } },
      { headers: { authorization: `Bearer ${unknown}A` } },
    ];
    return ways[i % ways.length] as CallOptions;
  }

  test('N denials from one address: the first at once, the other N - 1 in one event when the window closes', async () => {
    const N = 60;
    await denialWindow.close();
    const first = await eventsOf(suite.server, () => call('GET', '/api/v1/secrets', anonymousDenial(0)));
    assert.equal(first.events.length, 1, 'the first is recorded at once');
    const rest = await eventsOf(suite.server, async () => {
      const replies = [];
      for (let i = 1; i < N; i++)
        replies.push(await call('DELETE', '/api/v1/auth/key/ak0123456789abcdef', anonymousDenial(i)));
      return replies;
    });
    assert.ok(rest.result.every((r) => r.status === 401));
    assert.deepEqual(rest.events, [], 'the others are counted, not written');
    const last = rest.result.at(-1) as Reply;
    const closed = await eventsOf(suite.server, () => denialWindow.close());
    assert.equal(closed.events.length, 1);
    await assertEvent(
      closed.events[0] as AuditEventRow,
      {
        actor_type: 'ANONYMOUS',
        actor_id: null,
        action: 'DELETE',
        object_type: 'API_KEY',
        // The counted calls' path identifiers were never looked up.
        object_id: null,
        outcome: 'DENIED',
        detail: `UNAUTHORIZED: ${N - 1} more denials from this client within a minute of its first (the last: Malformed API key)`,
      },
      last,
    );
    // Closing again, with nothing counted, writes nothing; the next denial is a new window's first.
    assert.deepEqual((await eventsOf(suite.server, () => denialWindow.close())).events, []);
    const next = await eventsOf(suite.server, () => call('GET', '/api/v1/secrets', anonymousDenial(0)));
    assert.equal(next.events.length, 1);
    assert.deepEqual(await verifyAuditChain(suite.server.store), {
      ok: true,
      events: await auditCount(suite.server),
      fromSeq: 1,
    });
  });

  test("a key's 403s stay one event each while its address's 401s are being counted", async () => {
    const key = await createKey(suite.server, { roles: ['READ_ONLY'] });
    tokens.add(key.apiKey);
    await denialWindow.close();
    const { events } = await eventsOf(suite.server, async () => {
      for (let i = 0; i < 5; i++) {
        assert.equal((await call('GET', '/api/v1/secrets', anonymousDenial(i))).status, 401);
        assert.equal((await call('GET', '/api/v1/audit-logs', { token: key.apiKey })).status, 403);
      }
    });
    assert.deepEqual(
      events.map((e) => [e.actor_type, e.actor_id]),
      [['ANONYMOUS', null], ...Array(5).fill(['API_KEY', key.cid])],
    );
  });

  test('a graceful close writes the counts of the open window', async () => {
    const exported: AuditEventRow[] = [];
    // The default window: a minute, ended here by the close.
    const own = await startTestServer({ auditExport: (row) => void exported.push(row) });
    try {
      for (let i = 0; i < 7; i++) assert.equal((await api(own)('GET', '/api/v1/me', {})).status, 401);
      // The first is recorded at once, and exported once chained (on PostgreSQL, just after).
      await eventually('the first denial exported', () => exported.some((row) => row.outcome === 'DENIED'));
      assert.equal(exported.filter((row) => row.outcome === 'DENIED').length, 1);
    } finally {
      await own.close();
    }
    const denied = exported.filter((row) => row.outcome === 'DENIED');
    assert.equal(denied.length, 2);
    assert.match(denied[1]?.detail ?? '', /^UNAUTHORIZED: 6 more denials from this client within a minute/);
  });
});

describe("403s: one DENIED event each, naming the key's cid", () => {
  test('a READ_ONLY key on the secrets', async () => {
    const key = await createKey(suite.server, { roles: ['READ_ONLY'] });
    tokens.add(key.apiKey);
    const list = await oneEvent('GET', '/api/v1/secrets', { token: key.apiKey }, 403);
    assertProblem(list.reply, 403, 'FORBIDDEN');
    const denied = { actor_type: 'API_KEY', actor_id: key.cid, object_type: 'SECRET', outcome: 'DENIED' };
    await assertEvent(
      list.event,
      { ...denied, action: 'READ', object_id: null, detail: /^FORBIDDEN: / },
      list.reply,
    );

    const value = marker();
    values.add(value);
    const create = await oneEvent(
      'POST',
      '/api/v1/secrets',
      {
        token: key.apiKey,
        body: { name: 'n', tag: uniqueTag('denied'), secret: value },
      },
      403,
    );
    await assertEvent(create.event, { ...denied, action: 'CREATE', object_id: null }, create.reply);
  });

  test('a USER key revealing a value', async () => {
    const key = await createKey(suite.server, { roles: ['USER'] });
    tokens.add(key.apiKey);
    const tag = uniqueTag('hidden');
    const value = marker();
    values.add(value);
    const created = await call('POST', '/api/v1/secrets', {
      token: key.apiKey,
      body: { name: 'n', tag, secret: value },
    });
    assert.equal(created.status, 200, created.text);
    const { reply, event } = await oneEvent(
      'GET',
      `/api/v1/secrets/${tag}/value`,
      { token: key.apiKey },
      403,
    );
    assert.ok(!reply.text.includes(value));
    await assertEvent(
      event,
      {
        actor_type: 'API_KEY',
        actor_id: key.cid,
        action: 'READ',
        object_type: 'SECRET',
        object_id: tag,
        outcome: 'DENIED',
        detail: /^FORBIDDEN: .*READ_SECRET_VALUES/,
      },
      reply,
    );
  });

  test('a USER key reading the audit log', async () => {
    const key = await createKey(suite.server, { roles: ['USER'] });
    tokens.add(key.apiKey);
    const { reply, event } = await oneEvent('GET', '/api/v1/audit-logs', { token: key.apiKey }, 403);
    await assertEvent(
      event,
      {
        actor_type: 'API_KEY',
        actor_id: key.cid,
        action: 'READ',
        object_type: 'AUDIT_LOG',
        object_id: null,
        outcome: 'DENIED',
      },
      reply,
    );
  });
});

describe('calls that change nothing leave no event', () => {
  test('failed validations (400)', async () => {
    const value = marker();
    values.add(value);
    const admin = { token: suite.server.adminToken };
    await noEvent('POST', '/api/v1/secrets', { ...admin, body: { tag: uniqueTag(), secret: value } }, 400);
    await noEvent(
      'POST',
      '/api/v1/secrets',
      { ...admin, body: { name: '  ', tag: uniqueTag(), secret: value } },
      400,
    );
    await noEvent('POST', '/api/v1/auth/key', { ...admin, body: { name: 'x', roles: [] } }, 400);
    await noEvent(
      'POST',
      '/api/v1/auth/key',
      { ...admin, body: { name: '', roles: [{ type: 'DEFAULT', role: 'USER' }] } },
      400,
    );
    const key = await createKey(suite.server);
    await noEvent('PUT', `/api/v1/auth/key/${key.cid}`, { ...admin, body: { name: '   ' } }, 400);
    const tag = uniqueTag('valid');
    const created = await call('POST', '/api/v1/secrets', {
      ...admin,
      body: { name: 'n', tag, secret: value },
    });
    assert.equal(created.status, 200);
    await noEvent('PUT', `/api/v1/secrets/${tag}`, { ...admin, body: {} }, 400);
    await noEvent('PUT', `/api/v1/secrets/${tag}`, { ...admin, body: { tag: 'other-tag' } }, 400);
    await noEvent('GET', `/api/v1/secrets/${tag}/value?version=zero`, admin, 400);
    await noEvent('GET', '/api/v1/audit-logs?actions=NOPE', admin, 400);
  });

  test('404s', async () => {
    const admin = { token: suite.server.adminToken };
    await noEvent('GET', '/api/v1/auth/key/ak0000000000000000', admin, 404);
    await noEvent('PUT', '/api/v1/auth/key/ak0000000000000000', { ...admin, body: { name: 'x' } }, 404);
    await noEvent('DELETE', '/api/v1/auth/key/ak0000000000000000', admin, 404);
    await noEvent('PUT', '/api/v1/secrets/no-such-tag', { ...admin, body: { secret: 'v' } }, 404);
    await noEvent('DELETE', '/api/v1/secrets/no-such-tag', admin, 404);
    await noEvent('GET', '/api/v1/secrets/no-such-tag/value', admin, 404);
    await noEvent('GET', '/api/v1/secrets/no-such-tag/versions', admin, 404);
    const tag = uniqueTag('one-version');
    const created = await call('POST', '/api/v1/secrets', {
      ...admin,
      body: { name: 'n', tag, secret: 'v' },
    });
    assert.equal(created.status, 200);
    await noEvent('GET', `/api/v1/secrets/${tag}/value?version=7`, admin, 404);
    await noEvent('GET', '/api/v1/no-such-route', admin, 404);
  });

  test('a duplicate tag (409)', async () => {
    const tag = uniqueTag('twice');
    const body = { name: 'n', tag, secret: marker() };
    values.add(body.secret);
    assert.equal(
      (await call('POST', '/api/v1/secrets', { token: suite.server.adminToken, body })).status,
      200,
    );
    await noEvent('POST', '/api/v1/secrets', { token: suite.server.adminToken, body }, 409);
  });
});

// With no grace period the server's own (old) master key is retired under it: writes of secrets
// fail from here on, so this comes last but for the scan, which only reads.
test('rekey: MASTER_KEY UPDATE (the new key active) and DELETE (the old one retired), by SYSTEM "rekey"', async () => {
  const current = masterKeyFrom(suite.server.masterKey);
  const next = masterKeyFrom(randomBytes(32));
  const { events } = await eventsOf(suite.server, () =>
    rekey({ store: suite.server.store, current, next, graceMs: 0 }),
  );
  assert.equal(events.length, 2, JSON.stringify(events));
  const [activated, retired] = events as [AuditEventRow, AuditEventRow];
  const rotation = { actor_type: 'SYSTEM', actor_id: 'rekey', object_type: 'MASTER_KEY' };
  assertEventFields(activated, { ...rotation, action: 'UPDATE', object_id: next.id });
  assertEventFields(retired, {
    ...rotation,
    action: 'DELETE',
    object_id: current.id,
    detail: 'retired',
  });
  assert.match(activated.detail ?? '', new RegExp(`rotating out ${current.id}`));
  assert.equal((await auditLogs(suite.server, { pageSize: 1 })).logs[0]?.id, Number(retired.seq));

  function assertEventFields(event: AuditEventRow, expected: Record<string, string>) {
    for (const [name, value] of Object.entries(expected)) {
      assert.equal(event[name as keyof AuditEventRow], value, `${name} of ${JSON.stringify(event)}`);
    }
    assert.equal(event.outcome, 'SUCCESS');
    assert.equal(event.ip, null);
  }
});

test('no event holds a token or a secret value: the API listing and the raw rows, scanned', async () => {
  assert.ok(tokens.size >= 8 && values.size >= 6, 'the scan needs the tokens and values used above');
  const listing = await auditLogs(suite.server, { pageSize: 1000 });
  assert.equal(listing.total, await auditCount(suite.server));
  assert.equal(listing.logs.length, listing.total);
  const rows = await auditRows(suite.server);
  const haystacks = { 'GET /api/v1/audit-logs': JSON.stringify(listing), audit_events: JSON.stringify(rows) };
  for (const [where, text] of Object.entries(haystacks)) {
    for (const token of tokens) {
      assert.ok(!text.includes(token), `a token in ${where}`);
      // Nor its random part without the prefix.
      assert.ok(!text.includes(token.slice(4, 40)), `part of a token in ${where}`);
    }
    for (const value of values) assert.ok(!text.includes(value), `a secret value in ${where}`);
  }
});
