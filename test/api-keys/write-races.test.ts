/**
 * Key changes that race each other. An update that finds its key deleted since it was asked for
 * is a 404 with no audit event; two updates of one key leave its list item as its row; of two
 * deletes of one key, one is a 404. On the dialect of this pass; on the PostgreSQL server the
 * writes run in parallel on its pool.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../../src/db/database.js';
import { type ApiKeyService, createApiKeyService } from '../../src/features/api-keys/api-keys.service.js';
import type { KeyPrincipal } from '../../src/features/api-keys/authentication.js';
import { createAuditLog } from '../../src/features/audit/audit.log.js';
import { grantsOf } from '../../src/features/roles/role-resolution.js';
import { auditActionsOn, chained } from '../helpers/audit.js';
import { openMigratedStore, testDialect } from '../helpers/database.js';
import { gatedAudit, statusOf } from '../helpers/gated-audit.js';
import { createKey, role } from '../helpers/keys.js';
import { useTestServer } from '../helpers/server.js';

describe(`an API key change racing another (${testDialect()})`, () => {
  let store: Store;
  let close: () => Promise<void>;
  let keys: ApiKeyService;
  let holdNext: ReturnType<typeof gatedAudit>['holdNext'];
  let caller: KeyPrincipal;

  before(async () => {
    ({ store, close } = await openMigratedStore('key-write-races'));
    const gated = gatedAudit(createAuditLog({ store, now: () => new Date() }));
    holdNext = gated.holdNext;
    keys = createApiKeyService({ store, now: () => new Date(), audit: gated.log });
    const admin = await keys.bootstrap('tsk_not_used_by_this_test');
    assert.ok(admin !== undefined);
    caller = { cid: admin.cid, key: admin, ...grantsOf(admin.roles, new Map()) };
  });
  after(() => close());

  const actionsOn = (cid: string) => auditActionsOn(store, cid);

  const userKey = (name: string) => keys.create(caller, { name, roles: [role('USER')] });

  test('an update whose key was deleted after it was asked for is a 404, and records nothing', async () => {
    const { cid } = await userKey('racing');
    const gate = holdNext();
    const updating = statusOf(keys.update(caller, cid, { name: 'renamed too late' }));
    await gate.reached;
    await keys.delete(caller, cid);
    gate.release();
    assert.equal(await updating, 404);
    assert.deepEqual(await actionsOn(cid), ['CREATE', 'DELETE']);
  });

  test('two updates of one key: its list item shows the row as the last one left it', async () => {
    const { cid } = await userKey('before');
    // The first update waits between its request and its transaction while the second commits.
    const gate = holdNext();
    const renaming = keys.update(caller, cid, { name: 'renamed' });
    await gate.reached;
    await keys.update(caller, cid, { name: 'described', description: 'set by the second' });
    gate.release();
    const answered = await renaming;
    const stored = await keys.get(cid);
    assert.deepEqual(answered, stored, 'the answer is the key as stored');
    assert.equal(stored.description, 'set by the second');
    const { list_item } = await store.db
      .selectFrom('api_keys')
      .select('list_item')
      .where('cid', '=', cid)
      .executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(list_item ?? 'null'), stored, 'the list shows what a read shows');
  });
});

describe(`concurrent API key writes over HTTP (${testDialect()})`, () => {
  const suite = useTestServer();

  test('updates and deletes sent together: an update answered 200 was recorded before the delete', async () => {
    const cids: string[] = [];
    for (let i = 0; i < 30; i++) cids.push((await createKey(suite.server, { name: `pair-${i}` })).cid);
    const answers: { cid: string; update: number; deletes: number[] }[] = [];
    // An update and two deletes of each key at once, five keys at a time (the tests' pool has
    // five connections).
    for (let i = 0; i < cids.length; i += 5) {
      const wave = cids.slice(i, i + 5).map(async (cid) => {
        const [update, first, second] = await Promise.all([
          suite.call('PUT', `/api/v1/auth/key/${cid}`, {
            token: suite.server.adminToken,
            body: { name: 'renamed', description: 'racing' },
          }),
          suite.call('DELETE', `/api/v1/auth/key/${cid}`, { token: suite.server.adminToken }),
          suite.call('DELETE', `/api/v1/auth/key/${cid}`, { token: suite.server.adminToken }),
        ]);
        answers.push({ cid, update: update.status, deletes: [first.status, second.status].sort() });
      });
      await Promise.all(wave);
    }
    const events = await (await chained(suite.server.store)).db
      .selectFrom('audit_events')
      .select(['action', 'object_id'])
      .where('object_type', '=', 'API_KEY')
      .where('action', 'in', ['UPDATE', 'DELETE'])
      .orderBy('seq')
      .execute();
    for (const { cid, update, deletes } of answers) {
      assert.deepEqual(deletes, [200, 404], `${cid}: one delete succeeds, the other finds nothing`);
      assert.ok(update === 200 || update === 404, `${cid}: the update answered ${update}`);
      assert.deepEqual(
        events.filter((event) => event.object_id === cid).map((event) => event.action),
        update === 200 ? ['UPDATE', 'DELETE'] : ['DELETE'],
        `${cid}: an update answered ${update}`,
      );
    }
    const late = await suite.call('PUT', `/api/v1/auth/key/${cids[0]}`, {
      token: suite.server.adminToken,
      body: { name: 'after the delete' },
    });
    assert.equal(late.status, 404, late.text);
  });
});
