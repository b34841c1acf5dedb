/** SPEC §4: POST /api/v1/auth/key, success and every refusal. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashToken } from '../../src/crypto/tokens.js';
import { assertApiKeyShape, createKey, role, serverNow } from '../helpers/keys.js';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { useTestServer } from '../helpers/server.js';
import { DEFAULT_ROLES, TEXT_ALLOWED, UNPRINTABLE_TEXT } from '../helpers/spec.js';

const suite = useTestServer();

const create = (body: unknown, token = suite.server.adminToken) =>
  suite.call('POST', '/api/v1/auth/key', { token, body });
const readOnly = [role('READ_ONLY')];

describe('a created key', () => {
  test('answers 200 with every field, description null when unset, and the token once', async () => {
    const before = Date.now();
    const reply = await create({ name: 'ci', roles: readOnly });
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    const key = reply.body;
    assertApiKeyShape(key, { withToken: true });
    assert.equal(key.name, 'ci');
    assert.equal(key.description, null);
    assert.equal(key.expirationDate, null);
    assert.deepEqual(key.roles, readOnly);
    const created = Date.parse(key.createdDate);
    assert.ok(created >= before - 1000 && created <= Date.now() + 1000, key.createdDate);
  });

  test('cids and tokens are unique', async () => {
    const keys = await Promise.all([1, 2, 3, 4].map(() => createKey(suite.server)));
    assert.equal(new Set(keys.map((k) => k.cid)).size, 4);
    assert.equal(new Set(keys.map((k) => k.apiKey)).size, 4);
  });

  test('its token works as a bearer token', async () => {
    const key = await createKey(suite.server, { roles: ['ADMIN'] });
    const me = await suite.call('GET', '/api/v1/me', { token: key.apiKey });
    assert.equal(me.status, 200);
    assert.equal(me.body.cid, key.cid);
    const list = await suite.call('GET', '/api/v1/auth/key', { token: key.apiKey });
    assert.equal(list.status, 200);
  });

  test('its token is never shown again: not by list, get or update', async () => {
    const key = await createKey(suite.server, { name: 'shown-once' });
    const replies = [
      await suite.call('GET', '/api/v1/auth/key?pageSize=1000', { token: suite.server.adminToken }),
      await suite.call('GET', `/api/v1/auth/key/${key.cid}`, { token: suite.server.adminToken }),
      await suite.call('PUT', `/api/v1/auth/key/${key.cid}`, {
        token: suite.server.adminToken,
        body: { name: 'renamed' },
      }),
      await suite.call('GET', '/api/v1/me', { token: key.apiKey }),
    ];
    for (const reply of replies) {
      assert.equal(reply.status, 200, reply.text);
      assert.ok(!reply.text.includes(key.apiKey), `token in ${reply.text}`);
      assert.ok(!reply.text.includes('"apiKey"'), `apiKey field in ${reply.text}`);
    }
  });

  test('only the SHA-256 of its token is stored', async () => {
    const key = await createKey(suite.server);
    const rows = await suite.server.store.db.selectFrom('api_keys').selectAll().execute();
    const stored = JSON.stringify(rows);
    assert.ok(!stored.includes(key.apiKey), 'the token itself is in storage');
    assert.ok(stored.includes(hashToken(key.apiKey)), 'the token hash is not in storage');
  });
});

describe('roles', () => {
  test('an ADMIN key may create a key of every default role, ADMIN included', async () => {
    for (const name of DEFAULT_ROLES) {
      const reply = await create({ name: `role-${name}`, roles: [role(name)] });
      assert.equal(reply.status, 200, `${name}: ${reply.text}`);
      assert.deepEqual(reply.body.roles, [role(name)]);
    }
  });

  test('several roles are kept', async () => {
    const reply = await create({ name: 'two-roles', roles: [role('USER'), role('MANAGER')] });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(
      [...reply.body.roles].sort((a: { role: string }, b: { role: string }) => a.role.localeCompare(b.role)),
      [role('MANAGER'), role('USER')],
    );
  });

  test('an unknown DEFAULT role: 400 at /body/roles/0/role', async () => {
    assertViolations(await create({ name: 'x', roles: [{ type: 'DEFAULT', role: 'SUPERUSER' }] }), [
      '/body/roles/0/role',
    ]);
  });

  test('a DEFAULT role without its name: 400 at /body/roles/0/role', async () => {
    assertViolations(await create({ name: 'x', roles: [{ type: 'DEFAULT' }] }), ['/body/roles/0/role']);
  });

  test('an unknown CUSTOM role tag: 400 at /body/roles/<i>/tag', async () => {
    assertViolations(
      await create({ name: 'x', roles: [role('USER'), { type: 'CUSTOM', tag: 'no-such-role' }] }),
      ['/body/roles/1/tag'],
    );
  });

  test('a CUSTOM role without a tag: 400', async () => {
    assertViolations(await create({ name: 'x', roles: [{ type: 'CUSTOM' }] }), ['/body/roles/0/tag']);
  });

  test('an unknown role type: 400 at /body/roles/0/type', async () => {
    assertViolations(await create({ name: 'x', roles: [{ type: 'SPECIAL', role: 'ADMIN' }] }), [
      '/body/roles/0/type',
    ]);
  });

  test('no roles: 400 at /body/roles', async () => {
    assertViolations(await create({ name: 'x', roles: [] }), ['/body/roles']);
    assertViolations(await create({ name: 'x' }), ['/body/roles']);
  });

  test('a refused create stores nothing', async () => {
    const count = async () =>
      (await suite.call('GET', '/api/v1/auth/key', { token: suite.server.adminToken })).body.total as number;
    const before = await count();
    assert.equal((await create({ name: 'refused', roles: [] })).status, 400);
    assert.equal(
      (
        await create(
          { name: 'refused', roles: readOnly },
          (
            await createKey(suite.server, { roles: ['USER'] })
          ).apiKey,
        )
      ).status,
      403,
    );
    assert.equal(await count(), before + 1); // only the USER key made for the 403
  });
});

describe('no privilege escalation', () => {
  for (const weaker of ['MANAGER', 'USER', 'READ_ONLY', 'VIEWER'] as const) {
    test(`a ${weaker} key cannot create keys (lacks EDIT_API_KEYS): 403`, async () => {
      const caller = await createKey(suite.server, { roles: [weaker] });
      for (const wanted of [weaker, 'READ_ONLY', 'ADMIN'] as const) {
        assertProblem(
          await create({ name: 'escalate', roles: [role(wanted)] }, caller.apiKey),
          403,
          'FORBIDDEN',
        );
      }
    });
  }

  test('an ADMIN key created by an ADMIN key may itself create an ADMIN key', async () => {
    const second = await createKey(suite.server, { roles: ['ADMIN'] });
    const reply = await create({ name: 'third-admin', roles: [role('ADMIN')] }, second.apiKey);
    assert.equal(reply.status, 200, reply.text);
  });
});

describe('name', () => {
  test('is trimmed', async () => {
    const reply = await create({ name: '  padded name \t', roles: readOnly });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.name, 'padded name');
  });

  test('may be 1 or 256 characters (after trimming)', async () => {
    for (const name of ['a', 'n'.repeat(256), `   ${'n'.repeat(256)}   `]) {
      const reply = await create({ name, roles: readOnly });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.name, name.trim());
    }
  });

  test('counts characters, not UTF-16 units: 256 emoji are fine', async () => {
    const name = '🔑'.repeat(256);
    const reply = await create({ name, roles: readOnly });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.name, name);
  });

  test('257 characters after trimming: 400 at /body/name', async () => {
    assertViolations(await create({ name: `  ${'n'.repeat(257)}  `, roles: readOnly }), ['/body/name']);
    assertViolations(await create({ name: '🔑'.repeat(257), roles: readOnly }), ['/body/name']);
    assertViolations(await create({ name: 'n'.repeat(5000), roles: readOnly }), ['/body/name']);
  });

  test('empty or whitespace only: 400 at /body/name', async () => {
    for (const name of ['', ' ', ' \t\n ']) {
      assertViolations(await create({ name, roles: readOnly }), ['/body/name']);
    }
  });

  test('printable text of any script is kept as sent', async () => {
    for (const name of TEXT_ALLOWED) {
      const reply = await create({ name, roles: readOnly });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.name, name);
    }
  });

  test('a tab or a line break inside: 400 at /body/name (around it they are trimmed)', async () => {
    for (const name of ['two\tcolumns', 'two\nlines', 'two\r\nlines']) {
      const violations = assertViolations(await create({ name, roles: readOnly }), ['/body/name']);
      assert.match(violations[0]?.description ?? '', /'name' must not contain control characters/);
    }
    const reply = await create({ name: '\r\n\t padded \t\r\n', roles: readOnly });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.name, 'padded');
  });

  for (const [label, name] of UNPRINTABLE_TEXT) {
    test(`${label}: 400 at /body/name, nothing created`, async () => {
      const before = (await suite.call('GET', '/api/v1/auth/key', { token: suite.server.adminToken })).body
        .total;
      const violations = assertViolations(await create({ name, roles: readOnly }), ['/body/name']);
      assert.match(violations[0]?.description ?? '', /'name' must not contain control characters/);
      const after = (await suite.call('GET', '/api/v1/auth/key', { token: suite.server.adminToken })).body
        .total;
      assert.equal(after, before);
    });
  }

  test('missing or not a string: 400 at /body/name', async () => {
    const violations = assertViolations(await create({ roles: readOnly }), ['/body/name']);
    assert.equal(violations[0]?.title, 'Missing field');
    assertViolations(await create({ name: 42, roles: readOnly }), ['/body/name']);
    assertViolations(await create({ name: null, roles: readOnly }), ['/body/name']);
  });
});

describe('description', () => {
  test('is kept, up to 4096 characters', async () => {
    for (const description of ['what it is for', 'd'.repeat(4096)]) {
      const reply = await create({ name: 'described', description, roles: readOnly });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.description, description);
    }
  });

  test('may span lines and hold tabs; printable text of any script is kept as sent', async () => {
    for (const description of [...TEXT_ALLOWED, 'line one\n\tline two\n']) {
      const reply = await create({ name: 'described', description, roles: readOnly });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.description, description);
    }
  });

  for (const [label, description] of UNPRINTABLE_TEXT) {
    test(`${label}: 400 at /body/description`, async () => {
      const violations = assertViolations(await create({ name: 'x', description, roles: readOnly }), [
        '/body/description',
      ]);
      assert.match(
        violations[0]?.description ?? '',
        /'description' must not contain control characters other/,
      );
    });
  }

  test('on update too: 400 at /body/name and /body/description, and nothing changes', async () => {
    const key = await createKey(suite.server, { name: 'kept', description: 'kept too' });
    const put = (body: unknown) =>
      suite.call('PUT', `/api/v1/auth/key/${key.cid}`, { token: suite.server.adminToken, body });
    for (const [, text] of UNPRINTABLE_TEXT) {
      assertViolations(await put({ name: text }), ['/body/name']);
      assertViolations(await put({ name: 'renamed', description: text }), ['/body/description']);
    }
    const read = await suite.call('GET', `/api/v1/auth/key/${key.cid}`, { token: suite.server.adminToken });
    assert.equal(read.body.name, 'kept');
    assert.equal(read.body.description, 'kept too');
  });

  test('null is null', async () => {
    const reply = await create({ name: 'undescribed', description: null, roles: readOnly });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.description, null);
  });

  test('4097 characters or not a string: 400 at /body/description', async () => {
    assertViolations(await create({ name: 'x', description: 'd'.repeat(4097), roles: readOnly }), [
      '/body/description',
    ]);
    assertViolations(await create({ name: 'x', description: 7, roles: readOnly }), ['/body/description']);
  });
});

describe('expirationDate', () => {
  test('in the future is kept, as ISO 8601 UTC', async () => {
    const now = await serverNow(suite.server);
    const at = new Date(now.getTime() + 86_400_000);
    const reply = await create({ name: 'expiring', expirationDate: at.toISOString(), roles: readOnly });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.expirationDate, at.toISOString());
  });

  test('without a zone is UTC; with an offset is converted to UTC', async () => {
    const year = (await serverNow(suite.server)).getUTCFullYear() + 1;
    const zoneless = await create({ name: 'z', expirationDate: `${year}-11-21T18:07:29`, roles: readOnly });
    assert.equal(zoneless.status, 200, zoneless.text);
    assert.equal(zoneless.body.expirationDate, `${year}-11-21T18:07:29.000Z`);
    const offset = await create({
      name: 'o',
      expirationDate: `${year}-11-21T18:07:29+02:00`,
      roles: readOnly,
    });
    assert.equal(offset.status, 200, offset.text);
    assert.equal(offset.body.expirationDate, `${year}-11-21T16:07:29.000Z`);
  });

  test('null means no expiry', async () => {
    const reply = await create({ name: 'forever', expirationDate: null, roles: readOnly });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.expirationDate, null);
  });

  test('in the past, or now: 400 at /body/expirationDate', async () => {
    const now = await serverNow(suite.server);
    for (const at of [new Date(now.getTime() - 1000), new Date('2001-01-01T00:00:00Z')]) {
      assertViolations(await create({ name: 'x', expirationDate: at.toISOString(), roles: readOnly }), [
        '/body/expirationDate',
      ]);
    }
  });

  test('not a date-time: 400 at /body/expirationDate', async () => {
    const year = (await serverNow(suite.server)).getUTCFullYear() + 1;
    for (const value of [
      'tomorrow',
      `${year}-02-30T00:00:00Z`,
      `${year}-02-30T10:00:00+01:00`,
      `${year}-13-01`,
      '',
    ]) {
      assertViolations(await create({ name: 'x', expirationDate: value, roles: readOnly }), [
        '/body/expirationDate',
      ]);
    }
    assertViolations(await create({ name: 'x', expirationDate: 1893456000000, roles: readOnly }), [
      '/body/expirationDate',
    ]);
  });
});

test('every problem is reported at once', async () => {
  // Schema problems (types, lengths, shapes) first, all of them ...
  assertViolations(await create({ name: 42, description: 'd'.repeat(4097), roles: [] }), [
    '/body/name',
    '/body/description',
    '/body/roles',
  ]);
  // ... then, once the schema passes, every rule the service checks.
  const reply = await create({
    name: '   ',
    roles: [{ type: 'CUSTOM', tag: 'nope' }],
    expirationDate: '2001-01-01T00:00:00Z',
  });
  assertViolations(reply, ['/body/name', '/body/roles/0/tag', '/body/expirationDate']);
});

test('unknown fields are ignored', async () => {
  const reply = await create({
    name: 'extra',
    roles: readOnly,
    cid: 'ak0000000000000000',
    apiKey: 'mine',
    owner: 'x',
  });
  assert.equal(reply.status, 200, reply.text);
  assert.notEqual(reply.body.cid, 'ak0000000000000000');
  assert.notEqual(reply.body.apiKey, 'mine');
  assert.ok(!('owner' in reply.body));
});

test('a body that is not an object: 400', async () => {
  for (const body of [[], 'name', 7, null]) {
    assertProblem(await create(body), 400, 'BAD_REQUEST');
  }
});
