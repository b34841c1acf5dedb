/** SPEC §5: the five Cortex secrets calls, their shapes, and that no value is ever in them. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertProblem } from '../helpers/problem.js';
import { assertSecretShape, createSecret, marker, reveal, uniqueTag } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';

let admin: string;

const suite = useTestServer({}, async () => {
  admin = suite.server.adminToken;
});

const path = (tagOrId: string) => `/api/v1/secrets/${encodeURIComponent(tagOrId)}`;

describe('create', () => {
  test('answers 200 (not 201) with exactly { id, name, tag }', async () => {
    const tag = uniqueTag('create');
    const reply = await suite.call('POST', '/api/v1/secrets', {
      token: admin,
      body: { name: 'Database password', tag, secret: marker() },
    });
    assert.equal(reply.status, 200, reply.text);
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    assertSecretShape(reply.body);
    assert.equal(reply.body.name, 'Database password');
    assert.equal(reply.body.tag, tag);
  });

  test('ids are unique', async () => {
    const secrets = await Promise.all([1, 2, 3, 4, 5].map(() => createSecret(suite.server)));
    assert.equal(new Set(secrets.map((s) => s.id)).size, 5);
  });

  test('the name is stored trimmed', async () => {
    const created = await createSecret(suite.server, { name: '  padded name \t' });
    assert.equal(created.name, 'padded name');
    assert.equal((await suite.call('GET', path(created.id), { token: admin })).body.name, 'padded name');
  });

  test('a missing field: 400 at its pointer', async () => {
    for (const field of ['name', 'tag', 'secret']) {
      const body: Record<string, string> = { name: 'n', tag: uniqueTag(), secret: 'v' };
      delete body[field];
      const reply = await suite.call('POST', '/api/v1/secrets', { token: admin, body });
      const problem = assertProblem(reply, 400, 'BAD_REQUEST');
      assert.ok(
        problem.violations.some((v: { pointer: string }) => v.pointer === `/body/${field}`),
        reply.text,
      );
    }
  });

  test('unknown fields are ignored (as for API keys): the value is `secret`, nothing else', async () => {
    const tag = uniqueTag();
    const reply = await suite.call('POST', '/api/v1/secrets', {
      token: admin,
      body: { name: 'n', tag, secret: 'the value', value: 'not the value', id: 'se0000000000000001' },
    });
    assert.equal(reply.status, 200, reply.text);
    assertSecretShape(reply.body);
    assert.notEqual(reply.body.id, 'se0000000000000001');
    assert.equal(await reveal(suite.server, tag), 'the value');
  });
});

describe('get', () => {
  test('by id and by tag: the same { id, name, tag }', async () => {
    const created = await createSecret(suite.server, { name: 'by id and tag' });
    const byId = await suite.call('GET', path(created.id), { token: admin });
    const byTag = await suite.call('GET', path(created.tag), { token: admin });
    for (const reply of [byId, byTag]) {
      assert.equal(reply.status, 200, reply.text);
      assertSecretShape(reply.body);
      assert.deepEqual(reply.body, { id: created.id, name: 'by id and tag', tag: created.tag });
    }
  });

  test('an unknown id or tag: 404 NOT_FOUND', async () => {
    for (const tagOrId of ['se0000000000000000', 'no-such-tag', 'SE0123456789ABCDEF']) {
      const problem = assertProblem(
        await suite.call('GET', path(tagOrId), { token: admin }),
        404,
        'NOT_FOUND',
      );
      assert.equal(problem.instance, path(tagOrId));
    }
  });
});

describe('list', () => {
  test('one array key, { id, name, tag } items, and the totals', async () => {
    const created = await createSecret(suite.server, { name: 'listed' });
    const reply = await suite.call('GET', '/api/v1/secrets?pageSize=1000', { token: admin });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(Object.keys(reply.body).sort(), ['page', 'secrets', 'total', 'totalPages']);
    assert.ok(Array.isArray(reply.body.secrets));
    for (const secret of reply.body.secrets) assertSecretShape(secret);
    assert.deepEqual(
      reply.body.secrets.find((s: { id: string }) => s.id === created.id),
      { id: created.id, name: 'listed', tag: created.tag },
    );
    assert.equal(reply.body.total, reply.body.secrets.length);
    assert.equal(reply.body.page, 0);
    assert.equal(reply.body.totalPages, 1);
  });
});

describe('update', () => {
  test('by id and by tag; the answer is { id, name, tag }', async () => {
    const created = await createSecret(suite.server);
    const byId = await suite.call('PUT', path(created.id), { token: admin, body: { name: 'renamed by id' } });
    assert.equal(byId.status, 200, byId.text);
    assert.deepEqual(byId.body, { id: created.id, name: 'renamed by id', tag: created.tag });
    const byTag = await suite.call('PUT', path(created.tag), {
      token: admin,
      body: { name: 'renamed by tag' },
    });
    assert.equal(byTag.status, 200, byTag.text);
    assert.deepEqual(byTag.body, { id: created.id, name: 'renamed by tag', tag: created.tag });
    const read = await suite.call('GET', path(created.id), { token: admin });
    assert.deepEqual(read.body, { id: created.id, name: 'renamed by tag', tag: created.tag });
  });

  test('an unknown secret: 404', async () => {
    const reply = await suite.call('PUT', path('se00000000000000ff'), { token: admin, body: { name: 'x' } });
    assertProblem(reply, 404, 'NOT_FOUND');
  });
});

describe('delete', () => {
  test('200 with an empty body; afterwards get, update, reveal and delete are 404', async () => {
    const created = await createSecret(suite.server);
    const reply = await suite.call('DELETE', path(created.id), { token: admin });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.text, '');
    const problem = assertProblem(
      await suite.call('GET', path(created.id), { token: admin }),
      404,
      'NOT_FOUND',
    );
    assert.equal(problem.instance, path(created.id));
    assertProblem(await suite.call('GET', path(created.tag), { token: admin }), 404, 'NOT_FOUND');
    assertProblem(
      await suite.call('PUT', path(created.id), { token: admin, body: { name: 'x' } }),
      404,
      'NOT_FOUND',
    );
    assertProblem(await suite.call('GET', `${path(created.id)}/value`, { token: admin }), 404, 'NOT_FOUND');
    assertProblem(
      await suite.call('GET', `${path(created.id)}/versions`, { token: admin }),
      404,
      'NOT_FOUND',
    );
    assertProblem(await suite.call('DELETE', path(created.id), { token: admin }), 404, 'NOT_FOUND');
  });

  test("by tag, with the Cortex CLI's '{}' JSON body", async () => {
    const created = await createSecret(suite.server);
    const reply = await suite.call('DELETE', path(created.tag), { token: admin, body: {} });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.text, '');
    assertProblem(await suite.call('GET', path(created.id), { token: admin }), 404, 'NOT_FOUND');
    const list = await suite.call('GET', '/api/v1/secrets?pageSize=1000', { token: admin });
    assert.ok(!list.body.secrets.some((s: { id: string }) => s.id === created.id));
  });

  test('the tag of a deleted secret can be used again, for a new secret with a new value', async () => {
    const first = await createSecret(suite.server);
    assert.equal((await suite.call('DELETE', path(first.id), { token: admin })).status, 200);
    const second = await createSecret(suite.server, { tag: first.tag });
    assert.notEqual(second.id, first.id);
    assert.equal(await reveal(suite.server, first.tag), second.value);
  });
});

test('the value never appears in any response of create, list, get, update or delete', async () => {
  const value = marker(48);
  const nextValue = marker(48);
  const tag = uniqueTag('never-shown');
  const replies = [];
  const created = await suite.call('POST', '/api/v1/secrets', {
    token: admin,
    body: { name: 'n', tag, secret: value },
  });
  replies.push(created);
  const id = created.body.id;
  replies.push(await suite.call('GET', '/api/v1/secrets?pageSize=1000', { token: admin }));
  replies.push(await suite.call('GET', path(id), { token: admin }));
  replies.push(await suite.call('GET', path(tag), { token: admin }));
  replies.push(await suite.call('PUT', path(tag), { token: admin, body: { name: 'renamed' } }));
  replies.push(await suite.call('PUT', path(tag), { token: admin, body: { secret: nextValue } }));
  replies.push(await suite.call('PUT', path(id), { token: admin, body: { name: 'both', secret: value } }));
  replies.push(await suite.call('GET', `${path(id)}/versions`, { token: admin }));
  replies.push(await suite.call('GET', '/api/v1/secrets?pageSize=1000', { token: admin }));
  replies.push(await suite.call('DELETE', path(id), { token: admin }));
  for (const reply of replies) {
    assert.equal(reply.status, 200, reply.text);
    for (const v of [value, nextValue]) {
      assert.ok(!reply.text.includes(v), `a value in a response: ${reply.text}`);
      for (const [name, header] of reply.headers) assert.ok(!header.includes(v), `a value in header ${name}`);
    }
  }
  // Nor in what the server logged about these requests.
  const logs = suite.server.logs.join('\n');
  assert.ok(!logs.includes(value) && !logs.includes(nextValue), 'a value in the logs');
});
