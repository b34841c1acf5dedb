/**
 * Fail closed (issue 5): when the audit event cannot be written, the change it describes does not
 * happen and the client gets 503 SERVICE_UNAVAILABLE; a value is not revealed. The audit insert
 * is made to fail with a trigger on audit_events (SQLite: RAISE(ABORT); PostgreSQL: a function
 * raising an exception), dropped again after each case.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { verifyAuditChain } from '../../src/features/audit/audit.verify.js';
import { auditCount } from '../helpers/audit.js';
import { type CreatedKey, createKey } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { createSecret, marker, reveal, type Secret, uniqueTag } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';

let key: CreatedKey;
let secret: Secret & { value: string };
const suite = useTestServer({}, async () => {
  key = await createKey(suite.server, { roles: ['USER'] });
  secret = await createSecret(suite.server);
});

/**
 * Runs `fn` while every insert of an event fails (into audit_events on SQLite, which chains as it
 * writes; into audit_pending on PostgreSQL, where a change writes its event for the sealer to
 * chain); checks no event was added.
 */
async function withAuditBroken(fn: () => Promise<void>): Promise<void> {
  const { db } = suite.server.store;
  const events = await auditCount(suite.server);
  if (suite.server.store.dialect === 'sqlite') {
    await sql`create trigger audit_fail before insert on audit_events begin select raise(abort, 'audit disabled by the test'); end`.execute(
      db,
    );
  } else {
    await sql`create function audit_fail() returns trigger language plpgsql as $$ begin raise exception 'audit disabled by the test'; end $$`.execute(
      db,
    );
    await sql`create trigger audit_fail before insert on audit_pending for each row execute function audit_fail()`.execute(
      db,
    );
  }
  try {
    await fn();
  } finally {
    if (suite.server.store.dialect === 'sqlite') {
      await sql`drop trigger audit_fail`.execute(db);
    } else {
      await sql`drop trigger audit_fail on audit_pending`.execute(db);
      await sql`drop function audit_fail()`.execute(db);
    }
  }
  assert.equal(await auditCount(suite.server), events, 'an event was written after all');
}

const call = (method: string, path: string, body?: unknown, token = suite.server.adminToken) =>
  suite.call(method, path, body === undefined ? { token } : { token, body });

test('creating a secret: 503, and the secret does not exist', async () => {
  const tag = uniqueTag('unrecorded');
  const value = marker();
  await withAuditBroken(async () => {
    const reply = await call('POST', '/api/v1/secrets', { name: 'n', tag, secret: value });
    const problem = assertProblem(reply, 503, 'SERVICE_UNAVAILABLE');
    assert.match(problem.detail, /audit/i);
    assert.ok(!reply.text.includes(value));
  });
  assertProblem(await call('GET', `/api/v1/secrets/${tag}`), 404, 'NOT_FOUND');
  const versions = await suite.server.store.db
    .selectFrom('secrets')
    .select('id')
    .where('tag', '=', tag)
    .execute();
  assert.deepEqual(versions, []);
});

test('changing a value: 503, the old value and version stay', async () => {
  await withAuditBroken(async () => {
    const reply = await call('PUT', `/api/v1/secrets/${secret.tag}`, { secret: marker() });
    assertProblem(reply, 503, 'SERVICE_UNAVAILABLE');
    const renamed = await call('PUT', `/api/v1/secrets/${secret.tag}`, { name: 'renamed, unrecorded' });
    assertProblem(renamed, 503, 'SERVICE_UNAVAILABLE');
  });
  assert.equal(await reveal(suite.server, secret.tag), secret.value);
  const current = await call('GET', `/api/v1/secrets/${secret.tag}`);
  assert.equal(current.body.name, secret.name);
  const versions = await call('GET', `/api/v1/secrets/${secret.tag}/versions`);
  assert.deepEqual(
    versions.body.versions.map((v: { version: number }) => v.version),
    [1],
  );
});

test('revealing a value: 503 without the value; listing versions: 503', async () => {
  await withAuditBroken(async () => {
    const reply = await call('GET', `/api/v1/secrets/${secret.tag}/value`);
    assertProblem(reply, 503, 'SERVICE_UNAVAILABLE');
    assert.ok(!reply.text.includes(secret.value), 'the value was sent without an audit record');
    assert.ok(!('value' in reply.body));
    assertProblem(await call('GET', `/api/v1/secrets/${secret.tag}/versions`), 503, 'SERVICE_UNAVAILABLE');
  });
});

test('revealing many values: 503 without any of them, by tags and by prefix', async () => {
  const other = await createSecret(suite.server);
  await withAuditBroken(async () => {
    for (const body of [{ tags: [secret.tag, other.tag] }, { tagPrefix: '' }]) {
      const reply = await call('POST', '/api/v1/secrets/values', body);
      assertProblem(reply, 503, 'SERVICE_UNAVAILABLE');
      for (const value of [secret.value, other.value]) {
        assert.ok(!reply.text.includes(value), 'a value was sent without an audit record');
      }
    }
  });
});

test('deleting a secret: 503, it is still there', async () => {
  await withAuditBroken(async () => {
    assertProblem(await call('DELETE', `/api/v1/secrets/${secret.tag}`), 503, 'SERVICE_UNAVAILABLE');
  });
  assert.equal(await reveal(suite.server, secret.tag), secret.value);
});

test('deleting a key: 503, and the key still works', async () => {
  await withAuditBroken(async () => {
    assertProblem(await call('DELETE', `/api/v1/auth/key/${key.cid}`), 503, 'SERVICE_UNAVAILABLE');
  });
  assert.equal((await call('GET', `/api/v1/auth/key/${key.cid}`)).status, 200);
  const me = await call('GET', '/api/v1/me', undefined, key.apiKey);
  assert.equal(me.status, 200, me.text);
  assert.equal(me.body.cid, key.cid);
});

test('creating and renaming a key: 503, no key made, no token handed out, the name unchanged', async () => {
  const keysBefore = (await call('GET', '/api/v1/auth/key')).body.total;
  await withAuditBroken(async () => {
    const created = await call('POST', '/api/v1/auth/key', {
      name: 'unrecorded',
      roles: [{ type: 'DEFAULT', role: 'USER' }],
    });
    assertProblem(created, 503, 'SERVICE_UNAVAILABLE');
    assert.ok(!('apiKey' in created.body));
    assert.doesNotMatch(created.text, /tsk_/);
    const renamed = await call('PUT', `/api/v1/auth/key/${key.cid}`, { name: 'renamed, unrecorded' });
    assertProblem(renamed, 503, 'SERVICE_UNAVAILABLE');
  });
  assert.equal((await call('GET', '/api/v1/auth/key')).body.total, keysBefore);
  assert.equal((await call('GET', `/api/v1/auth/key/${key.cid}`)).body.name, key.name);
});

test('a denied call that cannot be recorded is still denied (and the failure logged)', async () => {
  const logged = suite.server.logs.length;
  await withAuditBroken(async () => {
    assertProblem(await call('GET', '/api/v1/secrets', undefined, 'not-a-token'), 401, 'UNAUTHORIZED');
    assertProblem(
      await call('GET', `/api/v1/secrets/${secret.tag}/value`, undefined, key.apiKey),
      403,
      'FORBIDDEN',
    );
  });
  const lines = suite.server.logs.slice(logged).filter((l) => l.includes('could not record a denied call'));
  assert.equal(lines.length, 2);
});

test('afterwards everything is recorded again and the chain verifies', async () => {
  const events = await auditCount(suite.server);
  const again = await createSecret(suite.server);
  assert.equal(await reveal(suite.server, again.tag), again.value);
  assert.equal(await auditCount(suite.server), events + 2);
  assert.deepEqual(await verifyAuditChain(suite.server.store), { ok: true, events: events + 2, fromSeq: 1 });
});
