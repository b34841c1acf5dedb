/**
 * Writes that race each other. A change that finds its secret deleted since it was read is a 404
 * with no audit event, never a success recorded after the delete; concurrent creates and deletes
 * leave the list's total exact. On the dialect of this pass; on the PostgreSQL server the writes
 * run in parallel on its pool.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generateId } from '../../src/crypto/ids.js';
import { masterKeyFrom } from '../../src/crypto/master-key.js';
import type { Store } from '../../src/db/database.js';
import { createAuditLog } from '../../src/features/audit/audit.log.js';
import { openKeyring } from '../../src/features/keyring/keyring.js';
import { grantsOf } from '../../src/features/roles/role-resolution.js';
import { secretsListing } from '../../src/features/secrets/secrets.listing.js';
import { createSecretService, type SecretService } from '../../src/features/secrets/secrets.service.js';
import { auditActionsOn, chained } from '../helpers/audit.js';
import { openMigratedStore, testDialect } from '../helpers/database.js';
import { gatedAudit, statusOf } from '../helpers/gated-audit.js';
import { secretsBlockCounts } from '../helpers/page-block-counts.js';
import { useTestServer } from '../helpers/server.js';

describe(`a secret change racing its delete (${testDialect()})`, () => {
  let store: Store;
  let close: () => Promise<void>;
  let secrets: SecretService;
  let holdNext: ReturnType<typeof gatedAudit>['holdNext'];
  const caller = {
    cid: 'ak00000000000000ad',
    ...grantsOf([{ type: 'DEFAULT', role: 'ADMIN' }], new Map()),
  };

  before(async () => {
    ({ store, close } = await openMigratedStore('write-races'));
    const keyring = await openKeyring({
      store,
      configured: masterKeyFrom(randomBytes(32)),
      source: 'test master key',
    });
    const gated = gatedAudit(createAuditLog({ store, now: () => new Date() }));
    holdNext = gated.holdNext;
    secrets = createSecretService({
      store,
      keyring,
      now: () => new Date(),
      versionsKept: 2,
      audit: gated.log,
      revealEnabled: true,
    });
  });
  after(() => close());

  const actionsOn = (tag: string) => auditActionsOn(store, tag);

  /** Starts `change` on a fresh secret, lets a delete commit between its read and its write. */
  async function raceWithDelete(tag: string, change: () => Promise<unknown>) {
    await secrets.create(caller, { tag, name: 'racing', secret: 'first value' });
    // Three values, so that a value update also prunes old versions (versionsKept is 2).
    await secrets.update(caller, tag, { secret: 'second value' });
    await secrets.update(caller, tag, { secret: 'third value' });
    const gate = holdNext();
    const changing = statusOf(change());
    await gate.reached;
    await secrets.delete(caller, tag);
    gate.release();
    return changing;
  }

  test('a rename whose secret was deleted after it was read is a 404, and records nothing', async () => {
    const answered = await raceWithDelete('race-rename', () =>
      secrets.update(caller, 'race-rename', { name: 'renamed too late' }),
    );
    assert.equal(answered, 404);
    assert.deepEqual(await actionsOn('race-rename'), ['CREATE', 'UPDATE', 'UPDATE', 'DELETE']);
    assert.equal(await statusOf(secrets.update(caller, 'race-rename', { name: 'after' })), 404);
  });

  test('a new value whose secret was deleted after it was read is a 404, and records nothing', async () => {
    const answered = await raceWithDelete('race-value', () =>
      secrets.update(caller, 'race-value', { secret: 'written too late', name: 'and renamed' }),
    );
    assert.equal(answered, 404);
    assert.deepEqual(await actionsOn('race-value'), ['CREATE', 'UPDATE', 'UPDATE', 'DELETE']);
    const versions = await store.db.selectFrom('secret_versions').select('version').execute();
    assert.equal(versions.length, 0, 'no version outlives its secret');
  });

  test('a second delete of a secret already deleted is a 404, and records nothing', async () => {
    const answered = await raceWithDelete('race-delete', () => secrets.delete(caller, 'race-delete'));
    assert.equal(answered, 404);
    assert.deepEqual(await actionsOn('race-delete'), ['CREATE', 'UPDATE', 'UPDATE', 'DELETE']);
    const listed = await secrets.list(caller, { page: 0, pageSize: 10 });
    assert.equal(listed.total, 0, 'the deleted secret is counted out once');
  });
});

describe(`concurrent secret writes over HTTP (${testDialect()})`, () => {
  const suite = useTestServer();

  /** Runs `tasks` with at most `width` of them at a time. */
  async function inParallel<T>(width: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
    const results: T[] = new Array(tasks.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (next < tasks.length) {
          const index = next++;
          results[index] = await (tasks[index] as () => Promise<T>)();
        }
      }),
    );
    return results;
  }

  test('renames and deletes sent together: a rename answered 200 was recorded before the delete', async () => {
    const tags = Array.from({ length: 40 }, (_, i) => `pair-${i}`);
    for (const tag of tags) {
      const created = await suite.call('POST', '/api/v1/secrets', {
        token: suite.server.adminToken,
        body: { tag, name: 'pair', secret: `value of ${tag}` },
      });
      assert.equal(created.status, 200, created.text);
    }
    // Each secret gets a rename and two deletes at once, five secrets at a time (a pool of five
    // connections in tests: many more at once would wait for one past the pool's bound).
    const race = async (tag: string) => {
      const [rename, first, second] = await Promise.all([
        suite.call('PUT', `/api/v1/secrets/${tag}`, {
          token: suite.server.adminToken,
          body: { name: 'renamed' },
        }),
        suite.call('DELETE', `/api/v1/secrets/${tag}`, { token: suite.server.adminToken }),
        suite.call('DELETE', `/api/v1/secrets/${tag}`, { token: suite.server.adminToken }),
      ]);
      return { tag, rename: rename.status, deletes: [first.status, second.status].sort() };
    };
    const answers = await inParallel(
      5,
      tags.map((tag) => () => race(tag)),
    );
    const events = await (await chained(suite.server.store)).db
      .selectFrom('audit_events')
      .select(['seq', 'action', 'object_id'])
      .where('object_type', '=', 'SECRET')
      .where('action', 'in', ['UPDATE', 'DELETE'])
      .orderBy('seq')
      .execute();
    for (const { tag, rename, deletes } of answers) {
      assert.deepEqual(deletes, [200, 404], `${tag}: one delete succeeds, the other finds nothing`);
      assert.ok(rename === 200 || rename === 404, `${tag}: the rename answered ${rename}`);
      const actions = events.filter((event) => event.object_id === tag).map((event) => event.action);
      assert.deepEqual(
        actions,
        rename === 200 ? ['UPDATE', 'DELETE'] : ['DELETE'],
        `${tag}: a rename answered ${rename}`,
      );
    }
    for (const tag of tags.slice(0, 3)) {
      const late = await suite.call('PUT', `/api/v1/secrets/${tag}`, {
        token: suite.server.adminToken,
        body: { name: 'after the delete' },
      });
      assert.equal(late.status, 404, late.text);
    }
  });

  test('concurrent creates and deletes across a page block boundary: totals and blocks stay exact', async () => {
    // 990 secrets written straight to storage, their blocks built as the migration builds them;
    // then 8 clients create 240 more across the first block's end (1,000 rows) and delete 120,
    // old and new, as they go.
    const { db } = suite.server.store;
    const start = Date.now() - 3_600_000;
    const seeded = Array.from({ length: 990 }, (_, i) => {
      const at = new Date(start + i * 10).toISOString();
      return {
        id: generateId('se'),
        tag: `seed-${i}`,
        name: 'seed',
        current_version: 1,
        created_at: at,
        updated_at: at,
      };
    });
    await db.insertInto('secrets').values(seeded).execute();
    await secretsListing.recount(db);
    const tasks = Array.from({ length: 240 }, (_, i) => async () => {
      const tag = `storm-${i}`;
      const created = await suite.call('POST', '/api/v1/secrets', {
        token: suite.server.adminToken,
        body: { tag, name: 'storm', secret: `value ${i}` },
      });
      assert.equal(created.status, 200, created.text);
      // Every other client deletes after its create: a seeded secret, or the one it just made.
      const doomed = i % 4 === 1 ? `seed-${(i * 7) % 990}` : i % 4 === 3 ? tag : undefined;
      if (doomed !== undefined) {
        const deleted = await suite.call('DELETE', `/api/v1/secrets/${doomed}`, {
          token: suite.server.adminToken,
        });
        assert.equal(deleted.status, 200, `${doomed}: ${deleted.text}`);
      }
    });
    await inParallel(8, tasks);
    const { rows: stored, blocks, miscounted } = await secretsBlockCounts(db);
    assert.equal(stored.length, 990 + 240 - 120);
    assert.equal(
      miscounted.length,
      0,
      `${miscounted.length} of ${blocks.length} blocks count other than their rows`,
    );
    const listed: string[] = [];
    for (let page = 0; ; page++) {
      const reply = await suite.call('GET', `/api/v1/secrets?page=${page}&pageSize=250`, {
        token: suite.server.adminToken,
      });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.total, stored.length, `page ${page}: total`);
      if (reply.body.secrets.length === 0) break;
      listed.push(...reply.body.secrets.map((secret: { tag: string }) => secret.tag));
    }
    assert.deepEqual(
      listed,
      stored.map((row) => row.tag),
    );
  });
});
