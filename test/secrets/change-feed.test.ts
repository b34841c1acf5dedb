/**
 * The secrets change feed, `GET /api/v1/secrets/changes` (Tessera): creates, updates and deletes
 * after an opaque cursor, oldest first, never values; a long poll that answers as soon as a change
 * is made; only secrets the key may see (the union of its CREATE_SECRETS and READ_SECRET_VALUES
 * scopes); cursors validated, and refused once retention pruned what follows them; waiting polls
 * answered at once when the server stops. Across nodes: test/cluster/change-feed.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pruneAuditEvents } from '../../src/features/audit/audit.retention.js';
import { createKey } from '../helpers/keys.js';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { createRole, uniqueRoleTag } from '../helpers/roles.js';
import { changeValue, createSecret, uniqueTag } from '../helpers/secrets.js';
import { startTestServer, type TestServer, useTestServer } from '../helpers/server.js';

const suite = useTestServer();

interface Change {
  id: string;
  tag: string;
  version: number;
  action: 'CREATE' | 'UPDATE' | 'DELETE';
  valueChanged: boolean;
  changedDate: string;
}

async function feed(
  query: { since?: string; waitSeconds?: number } = {},
  token = suite.server.adminToken,
  server: TestServer = suite.server,
) {
  const search = new URLSearchParams(
    Object.entries(query).map(([name, value]) => [name, String(value)] as [string, string]),
  ).toString();
  const reply = await fetch(`${server.url}/api/v1/secrets/changes${search === '' ? '' : `?${search}`}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await reply.text();
  return { status: reply.status, text, body: JSON.parse(text), headers: reply.headers };
}

/** The current cursor, as a new watcher starts from. */
async function cursorNow(token = suite.server.adminToken, server = suite.server): Promise<string> {
  const reply = await feed({}, token, server);
  assert.equal(reply.status, 200, reply.text);
  assert.deepEqual(reply.body.changes, []);
  assert.equal(typeof reply.body.cursor, 'string');
  return reply.body.cursor;
}

/** The changes after `since` (no wait), and the next cursor. */
async function changesAfter(since: string, token = suite.server.adminToken) {
  const reply = await feed({ since }, token);
  assert.equal(reply.status, 200, reply.text);
  return reply.body as { changes: Change[]; cursor: string };
}

const brief = (changes: Change[]) => changes.map((c) => [c.action, c.tag, c.version, c.valueChanged]);

describe('what the feed shows', () => {
  test('without since: no changes and the current cursor, whatever waitSeconds says', async () => {
    const first = await cursorNow();
    const waited = await feed({ waitSeconds: 60 });
    assert.deepEqual(waited.body, { changes: [], cursor: first }, 'answered at once, no wait');
    assert.match(waited.headers.get('cache-control') ?? '', /\bno-store\b/);
  });

  test('creates, value and name updates, deletes: oldest first, never a value; the cursor moves on', async () => {
    const start = await cursorNow();
    const made = await createSecret(suite.server, { tag: uniqueTag('feed') });
    await changeValue(suite.server, made.tag, 'the second value');
    const renamed = await suite.call('PUT', `/api/v1/secrets/${made.tag}`, {
      token: suite.server.adminToken,
      body: { name: 'renamed' },
    });
    assert.equal(renamed.status, 200);
    const both = await suite.call('PUT', `/api/v1/secrets/${made.tag}`, {
      token: suite.server.adminToken,
      body: { name: 'renamed again', secret: 'the third value' },
    });
    assert.equal(both.status, 200);
    const deleted = await suite.call('DELETE', `/api/v1/secrets/${made.id}`, {
      token: suite.server.adminToken,
    });
    assert.equal(deleted.status, 200);

    const { changes, cursor } = await changesAfter(start);
    assert.deepEqual(brief(changes), [
      ['CREATE', made.tag, 1, true],
      ['UPDATE', made.tag, 2, true],
      ['UPDATE', made.tag, 2, false],
      ['UPDATE', made.tag, 3, true],
      ['DELETE', made.tag, 3, false],
    ]);
    for (const change of changes) {
      assert.deepEqual(Object.keys(change).sort(), [
        'action',
        'changedDate',
        'id',
        'tag',
        'valueChanged',
        'version',
      ]);
      assert.equal(change.id, made.id);
      assert.equal(new Date(change.changedDate).toISOString(), change.changedDate);
    }
    const text = JSON.stringify(changes);
    for (const value of [made.value, 'the second value', 'the third value']) assert.ok(!text.includes(value));

    assert.notEqual(cursor, start);
    assert.deepEqual((await changesAfter(cursor)).changes, [], 'nothing after the last change');
    // A later change shows from the new cursor on, and only it.
    const next = await createSecret(suite.server);
    assert.deepEqual(brief((await changesAfter(cursor)).changes), [['CREATE', next.tag, 1, true]]);
  });

  test('reads and reveals are not changes', async () => {
    const made = await createSecret(suite.server);
    const start = await cursorNow();
    for (const path of [`/api/v1/secrets/${made.tag}`, `/api/v1/secrets/${made.tag}/value`]) {
      assert.equal((await suite.call('GET', path, { token: suite.server.adminToken })).status, 200);
    }
    assert.deepEqual((await changesAfter(start)).changes, []);
  });
});

describe('long polls', () => {
  test('a poll with nothing new waits, and answers with the change as soon as one is made', async () => {
    const start = await cursorNow();
    const started = performance.now();
    const polled = feed({ since: start, waitSeconds: 60 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const made = await createSecret(suite.server);
    const reply = await polled;
    // And an update wakes a poll as a create does.
    const second = feed({ since: reply.body.cursor, waitSeconds: 60 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await changeValue(suite.server, made.tag, 'changed');
    assert.deepEqual(brief((await second).body.changes), [['UPDATE', made.tag, 2, true]]);
    const elapsed = performance.now() - started;
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(brief(reply.body.changes), [['CREATE', made.tag, 1, true]]);
    // Woken by the change's notice: well before the wait ends, and before the 5 s a waiter waits
    // at most without one.
    assert.ok(elapsed < 2_500, `answered after ${elapsed} ms`);
  });

  test('a poll whose wait ends with nothing new answers with no changes', async () => {
    const start = await cursorNow();
    const reply = await feed({ since: start, waitSeconds: 1 });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body.changes, []);
    assert.equal(typeof reply.body.cursor, 'string');
  });

  test('waiting polls answer at once when the server stops, and the stop does not wait for them', async () => {
    const own = await startTestServer();
    try {
      const start = await cursorNow(own.adminToken, own);
      const polls = [1, 2, 3].map(() => feed({ since: start, waitSeconds: 60 }, own.adminToken, own));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const stopping = performance.now();
      await own.close();
      const stopMs = performance.now() - stopping;
      for (const reply of await Promise.all(polls)) {
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(reply.body.changes, []);
      }
      assert.ok(stopMs < 30_000, `the stop took ${stopMs} ms`);
    } finally {
      await own.close();
    }
  });
});

describe('cursors and parameters', () => {
  test('a cursor this server did not write: 400 at /query/since, saying to start again', async () => {
    const real = await cursorNow();
    const forged = [
      'junk',
      Buffer.from('c1.-1').toString('base64url'),
      Buffer.from('c1.01').toString('base64url'),
      Buffer.from('c2.1').toString('base64url'),
      Buffer.from('c1.99999999999999').toString('base64url'),
      `${real}=`,
      '',
    ];
    for (const since of forged) {
      const [violation] = assertViolations(await feed({ since }), ['/query/since']);
      assert.match(violation?.description ?? '', /start again without 'since'/, since);
    }
    assertViolations(await feed({ since: 'a'.repeat(65) }), ['/query/since']);
  });

  test('waitSeconds: an integer from 0 to 60', async () => {
    const since = await cursorNow();
    for (const waitSeconds of ['-1', '61', '1.5', 'soon']) {
      assertViolations(await feed({ since, waitSeconds: waitSeconds as never }), ['/query/waitSeconds']);
    }
  });

  test('a cursor from before what retention pruned: 400, start again without since', async () => {
    const own = await startTestServer();
    try {
      const old = await cursorNow(own.adminToken, own);
      await createSecret(own);
      await pruneAuditEvents(own.store, new Date(Date.now() + 60_000));
      const [violation] = assertViolations(await feed({ since: old }, own.adminToken, own), ['/query/since']);
      assert.match(violation?.description ?? '', /older than the change history this server keeps/);
      const fresh = await cursorNow(own.adminToken, own);
      assert.equal((await feed({ since: fresh }, own.adminToken, own)).status, 200);
    } finally {
      await own.close();
    }
  });
});

describe('scopes: only secrets the key may see', () => {
  const run = uniqueRoleTag('feed');
  const tagged = (rest: string) => `${run}-${rest}`;

  async function scopedKey(roles: { permissions: string[]; patterns: string[] }[]) {
    const made = [];
    for (const { permissions, patterns } of roles) {
      made.push(
        await createRole(suite.server, {
          permissions: permissions as never,
          secretTags: patterns.map(tagged),
        }),
      );
    }
    return (await createKey(suite.server, { customRoles: made.map((r) => r.tag) })).apiKey;
  }

  test('READ_SECRET_VALUES alone may watch what it may reveal; CREATE_SECRETS adds what it reaches', async () => {
    const reader = await scopedKey([{ permissions: ['READ_SECRET_VALUES'], patterns: ['deploy-*'] }]);
    const both = await scopedKey([
      { permissions: ['READ_SECRET_VALUES'], patterns: ['deploy-*'] },
      { permissions: ['CREATE_SECRETS'], patterns: ['prod-*'] },
    ]);
    const user = (await createKey(suite.server, { roles: ['USER'] })).apiKey;
    const starts = await Promise.all([reader, both, user].map((token) => cursorNow(token)));
    for (const rest of ['deploy-api', 'prod-db', 'other']) {
      await createSecret(suite.server, { tag: tagged(rest) });
    }
    const seen = async (token: string, since: string) =>
      (await changesAfter(since, token)).changes.map((c) => c.tag).filter((tag) => tag.startsWith(run));
    assert.deepEqual(await seen(reader, starts[0] as string), [tagged('deploy-api')]);
    assert.deepEqual(await seen(both, starts[1] as string), [tagged('deploy-api'), tagged('prod-db')]);
    assert.deepEqual(await seen(user, starts[2] as string), [
      tagged('deploy-api'),
      tagged('prod-db'),
      tagged('other'),
    ]);
  });

  test('the cursor moves past changes the key does not see, so they are not read again', async () => {
    const reader = await scopedKey([{ permissions: ['READ_SECRET_VALUES'], patterns: ['deploy-*'] }]);
    const start = await cursorNow(reader);
    await createSecret(suite.server, { tag: tagged(`hidden-${uniqueTag()}`) });
    const after = await changesAfter(start, reader);
    assert.deepEqual(after.changes, []);
    assert.notEqual(after.cursor, start);
  });

  test('a key with neither permission: 403 naming both', async () => {
    const viewer = (await createKey(suite.server, { roles: ['READ_ONLY'] })).apiKey;
    const reply = await feed({}, viewer);
    assert.match(
      assertProblem(reply as never, 403, 'FORBIDDEN').detail,
      /lacks the CREATE_SECRETS or READ_SECRET_VALUES permission/,
    );
  });
});

describe('the reserved tag changes', () => {
  test('a secret that took it before it was reserved is still reached by its id', async () => {
    const made = await createSecret(suite.server);
    await suite.server.store.db
      .updateTable('secrets')
      .set({ tag: 'changes' })
      .where('id', '=', made.id)
      .execute();
    try {
      const byId = await suite.call('GET', `/api/v1/secrets/${made.id}`, { token: suite.server.adminToken });
      assert.equal(byId.status, 200, byId.text);
      assert.equal(byId.body.tag, 'changes');
      const value = await suite.call('GET', `/api/v1/secrets/${made.id}/value`, {
        token: suite.server.adminToken,
      });
      assert.equal(value.body.value, made.value);
      // The path with the tag is the feed.
      const feedReply = await suite.call('GET', '/api/v1/secrets/changes', {
        token: suite.server.adminToken,
      });
      assert.deepEqual(Object.keys(feedReply.body).sort(), ['changes', 'cursor']);
    } finally {
      await suite.server.store.db.deleteFrom('secrets').where('id', '=', made.id).execute();
    }
  });
});
