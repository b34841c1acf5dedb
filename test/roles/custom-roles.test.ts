/**
 * Custom roles (Tessera): the calls and their shapes, CUSTOM references on keys, the union of a
 * key's roles, and what a role's edit or delete does to the keys that hold it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditLogs } from '../helpers/audit.js';
import { createKey, customRole, deleteKey, role } from '../helpers/keys.js';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { createRole, type Role, uniqueRoleTag } from '../helpers/roles.js';
import { createSecret } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';
import { ISO_UTC } from '../helpers/spec.js';

const suite = useTestServer();
const admin = () => suite.server.adminToken;

function assertRoleShape(body: unknown): asserts body is Role {
  const shown = body as Role;
  assert.deepEqual(Object.keys(shown), [
    'tag',
    'name',
    'description',
    'permissions',
    'secretTags',
    'createdDate',
    'updatedDate',
  ]);
  assert.match(shown.createdDate, ISO_UTC);
  assert.match(shown.updatedDate, ISO_UTC);
}

describe('the role calls', () => {
  test('create answers 200 with the role; get and list show it; a duplicate tag is 409', async () => {
    const tag = uniqueRoleTag('deploy');
    const made = await suite.call('POST', '/api/v1/roles', {
      token: admin(),
      body: {
        tag,
        name: '  Deploy CI  ',
        description: 'reads deploy secrets',
        permissions: ['READ_SECRET_VALUES'],
        secretTags: ['deploy-*', 'deploy-*'],
      },
    });
    assert.equal(made.status, 200, made.text);
    assertRoleShape(made.body);
    assert.equal(made.body.name, 'Deploy CI', 'the name is stored trimmed');
    assert.deepEqual(made.body.permissions, ['READ_SECRET_VALUES']);
    assert.deepEqual(made.body.secretTags, ['deploy-*'], 'a repeated pattern is kept once');

    const got = await suite.call('GET', `/api/v1/roles/${tag}`, { token: admin() });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, made.body);

    const listed = await suite.call('GET', '/api/v1/roles?pageSize=1000', { token: admin() });
    assert.equal(listed.status, 200);
    assert.deepEqual(Object.keys(listed.body), ['roles', 'page', 'total', 'totalPages']);
    assert.deepEqual(
      listed.body.roles.find((r: Role) => r.tag === tag),
      made.body,
    );
    assert.equal(listed.body.total, listed.body.roles.length);

    const again = await suite.call('POST', '/api/v1/roles', {
      token: admin(),
      body: { tag, name: 'again', permissions: [] },
    });
    assertProblem(again, 409, 'CONFLICT');
  });

  test('lists page oldest first, stable, with true totals', async () => {
    const tags: string[] = [];
    for (let i = 0; i < 5; i++)
      tags.push((await createRole(suite.server, { tag: uniqueRoleTag('page') })).tag);
    const all = await suite.call('GET', '/api/v1/roles?pageSize=1000', { token: admin() });
    const total = all.body.total as number;
    const seen: string[] = [];
    for (let page = 0; page * 2 < total; page++) {
      const reply = await suite.call('GET', `/api/v1/roles?page=${page}&pageSize=2`, { token: admin() });
      assert.equal(reply.body.total, total);
      assert.equal(reply.body.totalPages, Math.ceil(total / 2));
      seen.push(...reply.body.roles.map((r: Role) => r.tag));
    }
    assert.deepEqual(
      seen,
      all.body.roles.map((r: Role) => r.tag),
    );
    assert.deepEqual(
      seen.filter((t) => tags.includes(t)),
      tags,
      'oldest first',
    );
  });

  test('PUT replaces everything but the tag; an omitted description or scope becomes null', async () => {
    const made = await createRole(suite.server, {
      description: 'old',
      permissions: ['CREATE_SECRETS'],
      secretTags: ['a-*'],
    });
    const replaced = await suite.call('PUT', `/api/v1/roles/${made.tag}`, {
      token: admin(),
      body: {
        tag: made.tag,
        name: 'renamed',
        permissions: ['VIEW_AUDIT_LOGS', 'CREATE_SECRETS', 'VIEW_AUDIT_LOGS'],
      },
    });
    assert.equal(replaced.status, 200, replaced.text);
    assertRoleShape(replaced.body);
    assert.equal(replaced.body.tag, made.tag);
    assert.equal(replaced.body.name, 'renamed');
    assert.equal(replaced.body.description, null);
    assert.equal(replaced.body.secretTags, null);
    assert.deepEqual(
      replaced.body.permissions,
      ['CREATE_SECRETS', 'VIEW_AUDIT_LOGS'],
      'each permission once, in the order of the permissions table',
    );
    assert.equal(replaced.body.createdDate, made.createdDate);

    const renamedTag = await suite.call('PUT', `/api/v1/roles/${made.tag}`, {
      token: admin(),
      body: { tag: 'another', name: 'x', permissions: [] },
    });
    assertViolations(renamedTag, ['/body/tag']);
    const missing = await suite.call('PUT', '/api/v1/roles/no-such-role', {
      token: admin(),
      body: { name: 'x', permissions: [] },
    });
    assertProblem(missing, 404, 'NOT_FOUND');
  });

  test('DELETE answers 200 with an empty body, then 404', async () => {
    const made = await createRole(suite.server);
    const deleted = await suite.call('DELETE', `/api/v1/roles/${made.tag}`, { token: admin(), body: {} });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.text, '');
    assertProblem(await suite.call('GET', `/api/v1/roles/${made.tag}`, { token: admin() }), 404, 'NOT_FOUND');
    assertProblem(
      await suite.call('DELETE', `/api/v1/roles/${made.tag}`, { token: admin() }),
      404,
      'NOT_FOUND',
    );
  });

  test('invalid roles are 400 with a violation each', async () => {
    const bad = await suite.call('POST', '/api/v1/roles', {
      token: admin(),
      body: { tag: '-starts-with-dash', name: 'x', permissions: ['NOT_A_PERMISSION'] },
    });
    assertProblem(bad, 400, 'BAD_REQUEST');
    for (const body of [
      { tag: uniqueRoleTag(), name: 'x', permissions: [], secretTags: [] },
      { tag: uniqueRoleTag(), name: 'x', permissions: [], secretTags: ['has space'] },
      { tag: uniqueRoleTag(), name: 'x', permissions: [], secretTags: ['a?b'] },
      { tag: uniqueRoleTag(), name: '   ', permissions: [] },
      { tag: uniqueRoleTag(), name: 'x' },
    ]) {
      assertProblem(await suite.call('POST', '/api/v1/roles', { token: admin(), body }), 400, 'BAD_REQUEST');
    }
  });

  test('every change is audited under the ROLE object type', async () => {
    const made = await createRole(suite.server);
    await suite.call('PUT', `/api/v1/roles/${made.tag}`, {
      token: admin(),
      body: { name: 'audited', permissions: [] },
    });
    await suite.call('DELETE', `/api/v1/roles/${made.tag}`, { token: admin() });
    const { logs } = await auditLogs(suite.server, { objectTypes: 'ROLE', pageSize: 1000 });
    const mine = logs.filter((entry) => entry.objectIdentifier === made.tag);
    assert.deepEqual(
      mine.map((entry) => entry.action),
      ['DELETE', 'UPDATE', 'CREATE'],
    );
    assert.ok(mine.every((entry) => entry.outcome === 'SUCCESS' && entry.objectType === 'ROLE'));
  });
});

describe('keys holding custom roles', () => {
  test("keys take Cortex's CUSTOM references beside default ones, and show them so", async () => {
    const made = await createRole(suite.server, { permissions: ['VIEW_AUDIT_LOGS'] });
    const key = await createKey(suite.server, { roles: ['USER'], customRoles: [made.tag] });
    assert.deepEqual(key.roles, [role('USER'), customRole(made.tag)]);
    const got = await suite.call('GET', `/api/v1/auth/key/${key.cid}`, { token: admin() });
    assert.deepEqual(got.body.roles, key.roles);

    const me = await suite.call('GET', '/api/v1/me', { token: key.apiKey });
    assert.deepEqual(me.body.permissions, ['CREATE_SECRETS', 'VIEW_AUDIT_LOGS'], 'the union of its roles');
    assert.deepEqual(me.body.secretScopes, {});
    assert.equal((await suite.call('GET', '/api/v1/audit-logs', { token: key.apiKey })).status, 200);
  });

  test('an unknown custom tag is 400, pointing at the entry', async () => {
    const reply = await suite.call('POST', '/api/v1/auth/key', {
      token: admin(),
      body: { name: 'x', roles: [role('USER'), customRole('no-such-role')] },
    });
    const [found] = assertViolations(reply, ['/body/roles/1/tag']);
    assert.match(found?.description ?? '', /No custom role with tag 'no-such-role'/);
  });

  test('deleting a role that keys hold is 409; once they are gone it is deleted', async () => {
    const made = await createRole(suite.server);
    const first = await createKey(suite.server, { customRoles: [made.tag] });
    const second = await createKey(suite.server, { customRoles: [made.tag] });
    const refused = await suite.call('DELETE', `/api/v1/roles/${made.tag}`, { token: admin() });
    const problem = assertProblem(refused, 409, 'CONFLICT');
    assert.match(problem.detail, /held by 2 API keys/);
    await deleteKey(suite.server, first.cid);
    await deleteKey(suite.server, second.cid);
    assert.equal((await suite.call('DELETE', `/api/v1/roles/${made.tag}`, { token: admin() })).status, 200);
  });

  test('editing a role changes what its keys may do at once, though they are in the token cache', async () => {
    const made = await createRole(suite.server, { permissions: ['VIEW_AUDIT_LOGS'] });
    const key = await createKey(suite.server, { customRoles: [made.tag] });
    assert.equal((await suite.call('GET', '/api/v1/audit-logs', { token: key.apiKey })).status, 200);
    assert.equal((await suite.call('GET', '/api/v1/secrets', { token: key.apiKey })).status, 403);

    await suite.call('PUT', `/api/v1/roles/${made.tag}`, {
      token: admin(),
      body: { name: made.name, permissions: ['CREATE_SECRETS'] },
    });
    assert.equal((await suite.call('GET', '/api/v1/audit-logs', { token: key.apiKey })).status, 403);
    assert.equal((await suite.call('GET', '/api/v1/secrets', { token: key.apiKey })).status, 200);
    const me = await suite.call('GET', '/api/v1/me', { token: key.apiKey });
    assert.deepEqual(me.body.permissions, ['CREATE_SECRETS']);
  });
});

describe('no escalation through roles', () => {
  /** A key that may edit roles and keys, and reveal only `deploy-*` secrets. */
  async function scopedEditor() {
    const editor = await createRole(suite.server, {
      permissions: ['EDIT_ROLES', 'EDIT_API_KEYS', 'READ_SECRET_VALUES'],
      secretTags: ['deploy-*'],
    });
    return (await createKey(suite.server, { customRoles: [editor.tag] })).apiKey;
  }

  test('a caller creates roles only within its grants, scopes included', async () => {
    const token = await scopedEditor();
    const attempt = (permissions: string[], secretTags: string[] | null) =>
      suite.call('POST', '/api/v1/roles', {
        token,
        body: { tag: uniqueRoleTag('esc'), name: 'x', permissions, secretTags },
      });
    const beyond = assertProblem(await attempt(['VIEW_AUDIT_LOGS'], null), 403, 'FORBIDDEN');
    assert.match(beyond.detail, /VIEW_AUDIT_LOGS/);
    const everySecret = assertProblem(await attempt(['READ_SECRET_VALUES'], null), 403, 'FORBIDDEN');
    assert.match(everySecret.detail, /READ_SECRET_VALUES on every secret/);
    const wider = assertProblem(
      await attempt(['READ_SECRET_VALUES'], ['deploy*', 'prod-*']),
      403,
      'FORBIDDEN',
    );
    assert.match(wider.detail, /deploy\*, prod-\*/);
    assert.equal((await attempt(['READ_SECRET_VALUES'], ['deploy-db-*', 'deploy-web'])).status, 200);
    assert.equal((await attempt(['EDIT_ROLES'], null)).status, 200);
  });

  test('a caller gives keys only roles within its grants', async () => {
    const token = await scopedEditor();
    const wide = await createRole(suite.server, { permissions: ['READ_SECRET_VALUES'] });
    const narrow = await createRole(suite.server, {
      permissions: ['READ_SECRET_VALUES'],
      secretTags: ['deploy-a*'],
    });
    const create = (tag: string) =>
      suite.call('POST', '/api/v1/auth/key', { token, body: { name: 'k', roles: [customRole(tag)] } });
    assertProblem(await create(wide.tag), 403, 'FORBIDDEN');
    assert.equal((await create(narrow.tag)).status, 200);
  });

  test('a caller changes or deletes only roles within its grants, and never widens one', async () => {
    const token = await scopedEditor();
    const beyond = await createRole(suite.server, { permissions: ['VIEW_AUDIT_LOGS'] });
    const within = await createRole(suite.server, {
      permissions: ['READ_SECRET_VALUES'],
      secretTags: ['deploy-x'],
    });
    const put = (tag: string, body: unknown) => suite.call('PUT', `/api/v1/roles/${tag}`, { token, body });
    assertProblem(await put(beyond.tag, { name: 'x', permissions: [] }), 403, 'FORBIDDEN');
    assertProblem(await suite.call('DELETE', `/api/v1/roles/${beyond.tag}`, { token }), 403, 'FORBIDDEN');
    assertProblem(
      await put(within.tag, { name: 'x', permissions: ['READ_SECRET_VALUES'], secretTags: ['*'] }),
      403,
      'FORBIDDEN',
    );
    assert.equal(
      (await put(within.tag, { name: 'x', permissions: ['READ_SECRET_VALUES'], secretTags: ['deploy-y'] }))
        .status,
      200,
    );
    assert.equal((await suite.call('DELETE', `/api/v1/roles/${within.tag}`, { token })).status, 200);
    // The roles it could not touch are as they were.
    const unchanged = await suite.call('GET', `/api/v1/roles/${beyond.tag}`, { token: admin() });
    assert.deepEqual(unchanged.body, beyond);
  });

  test('a key holding a role it may edit cannot widen its own grants', async () => {
    const self = await createRole(suite.server, { permissions: ['EDIT_ROLES'] });
    const key = await createKey(suite.server, { customRoles: [self.tag] });
    const widened = await suite.call('PUT', `/api/v1/roles/${self.tag}`, {
      token: key.apiKey,
      body: { name: 'mine', permissions: ['EDIT_ROLES', 'EDIT_API_KEYS'] },
    });
    assertProblem(widened, 403, 'FORBIDDEN');
    await createSecret(suite.server);
    assert.equal((await suite.call('GET', '/api/v1/auth/key', { token: key.apiKey })).status, 403);
  });
});
