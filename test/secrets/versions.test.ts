/**
 * Tessera's extensions on secrets (SPEC §9): the versions list (never values), pruning to
 * TESSERA_SECRET_VERSIONS_KEPT, and value reveal (current or ?version=N, Cache-Control: no-store).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createKey } from '../helpers/keys.js';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { changeValue, createSecret, marker, reveal, revealReply } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';
import { ISO_UTC } from '../helpers/spec.js';

const suite = useTestServer({ secretVersionsKept: 3 });

const versions = async (tagOrId: string, query = '') => {
  const reply = await suite.call('GET', `/api/v1/secrets/${tagOrId}/versions${query}`, {
    token: suite.server.adminToken,
  });
  assert.equal(reply.status, 200, reply.text);
  return reply;
};

describe('the versions list', () => {
  test('version, createdDate and createdBy (the writing key’s cid), oldest first; never a value', async () => {
    const user = await createKey(suite.server, { roles: ['USER'] });
    const manager = await createKey(suite.server, { roles: ['MANAGER'] });
    const values = [marker(), marker()];
    const secret = await createSecret(suite.server, { token: user.apiKey, secret: values[0] as string });
    suite.server.advance(5_000);
    await changeValue(suite.server, secret.tag, values[1] as string, manager.apiKey);
    const reply = await versions(secret.id);
    assert.deepEqual(Object.keys(reply.body).sort(), ['page', 'total', 'totalPages', 'versions']);
    assert.equal(reply.body.total, 2);
    assert.equal(reply.body.totalPages, 1);
    const [first, second] = reply.body.versions;
    assert.equal(first.version, 1);
    assert.equal(second.version, 2);
    assert.equal(first.createdBy, user.cid);
    assert.equal(second.createdBy, manager.cid);
    assert.match(first.createdDate, ISO_UTC);
    assert.match(second.createdDate, ISO_UTC);
    assert.ok(Date.parse(second.createdDate) - Date.parse(first.createdDate) >= 5_000);
    for (const v of reply.body.versions) {
      for (const field of Object.keys(v))
        assert.ok(['version', 'createdDate', 'createdBy', 'current'].includes(field), field);
    }
    for (const value of values) assert.ok(!reply.text.includes(value), 'a value in the versions list');
  });

  test('the same by tag; a rename adds no version', async () => {
    const secret = await createSecret(suite.server);
    await suite.call('PUT', `/api/v1/secrets/${secret.id}`, {
      token: suite.server.adminToken,
      body: { name: 'renamed' },
    });
    const byTag = await versions(secret.tag);
    const byId = await versions(secret.id);
    assert.deepEqual(byTag.body, byId.body);
    assert.equal(byId.body.total, 1);
  });

  test('paged like every list', async () => {
    const secret = await createSecret(suite.server);
    await changeValue(suite.server, secret.id, 'v2');
    await changeValue(suite.server, secret.id, 'v3');
    const page0 = await versions(secret.id, '?pageSize=2');
    assert.deepEqual(
      page0.body.versions.map((v: { version: number }) => v.version),
      [1, 2],
    );
    assert.equal(page0.body.totalPages, 2);
    const page1 = await versions(secret.id, '?page=1&pageSize=2');
    assert.deepEqual(
      page1.body.versions.map((v: { version: number }) => v.version),
      [3],
    );
    assert.equal(page1.body.total, 3);
    assertViolations(
      await suite.call('GET', `/api/v1/secrets/${secret.id}/versions?pageSize=0`, {
        token: suite.server.adminToken,
      }),
      ['/query/pageSize'],
    );
  });

  test('an unknown secret: 404', async () => {
    assertProblem(
      await suite.call('GET', '/api/v1/secrets/nope/versions', { token: suite.server.adminToken }),
      404,
      'NOT_FOUND',
    );
  });
});

describe('pruning (secretVersionsKept: 3)', () => {
  test('after five values only versions 3, 4 and 5 remain; older ones are 404', async () => {
    const values = [marker(), marker(), marker(), marker(), marker()];
    const secret = await createSecret(suite.server, { secret: values[0] as string });
    for (const value of values.slice(1)) await changeValue(suite.server, secret.id, value);
    const reply = await versions(secret.id);
    assert.deepEqual(
      reply.body.versions.map((v: { version: number }) => v.version),
      [3, 4, 5],
    );
    assert.equal(reply.body.total, 3);
    for (const version of [1, 2]) {
      const gone = await revealReply(suite.server, secret.id, { version });
      assertProblem(gone, 404, 'NOT_FOUND');
      assert.ok(!gone.text.includes(values[version - 1] as string));
    }
    for (const version of [3, 4, 5])
      assert.equal(await reveal(suite.server, secret.id, version), values[version - 1]);
    assert.equal(await reveal(suite.server, secret.id), values[4]);
  });

  test('pruning one secret leaves the versions of others alone', async () => {
    const a = await createSecret(suite.server);
    const b = await createSecret(suite.server);
    await changeValue(suite.server, b.id, 'b2');
    for (const value of ['a2', 'a3', 'a4', 'a5']) await changeValue(suite.server, a.id, value);
    assert.deepEqual(
      (await versions(b.id)).body.versions.map((v: { version: number }) => v.version),
      [1, 2],
    );
    assert.equal(await reveal(suite.server, b.id, 1), b.value);
  });
});

describe('reveal', () => {
  test('{ id, tag, version, value } of the current version, with Cache-Control: no-store', async () => {
    const secret = await createSecret(suite.server);
    await changeValue(suite.server, secret.id, 'the second value');
    for (const tagOrId of [secret.id, secret.tag]) {
      const reply = await revealReply(suite.server, tagOrId);
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(reply.body, { id: secret.id, tag: secret.tag, version: 2, value: 'the second value' });
      assert.match(reply.headers.get('cache-control') ?? '', /\bno-store\b/);
      assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    }
  });

  test('?version=N returns that version', async () => {
    const secret = await createSecret(suite.server);
    await changeValue(suite.server, secret.id, 'two');
    await changeValue(suite.server, secret.id, 'three');
    const reply = await revealReply(suite.server, secret.tag, { version: 1 });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body, { id: secret.id, tag: secret.tag, version: 1, value: secret.value });
    assert.match(reply.headers.get('cache-control') ?? '', /\bno-store\b/);
    assert.equal(await reveal(suite.server, secret.id, 2), 'two');
    assert.equal(await reveal(suite.server, secret.id, 3), 'three');
  });

  test('a version that never existed: 404', async () => {
    const secret = await createSecret(suite.server);
    for (const version of [2, 99, 2147483647]) {
      assertProblem(await revealReply(suite.server, secret.id, { version }), 404, 'NOT_FOUND');
    }
  });

  test('a malformed version: 400 at /query/version', async () => {
    const secret = await createSecret(suite.server);
    for (const version of ['0', '-1', '1.5', 'abc', '1e0', '2147483648']) {
      const reply = await suite.call('GET', `/api/v1/secrets/${secret.id}/value?version=${version}`, {
        token: suite.server.adminToken,
      });
      assertViolations(reply, ['/query/version']);
    }
  });

  test('an unknown secret: 404', async () => {
    assertProblem(await revealReply(suite.server, 'se0123456789abcdef'), 404, 'NOT_FOUND');
    assertProblem(await revealReply(suite.server, 'unknown-tag'), 404, 'NOT_FOUND');
  });
});

describe('with secretReveal: false', () => {
  const lockedSuite = useTestServer({ secretReveal: false });

  test('an ADMIN gets 403 for every version, and no value; the other calls still work', async () => {
    const secret = await createSecret(lockedSuite.server);
    await changeValue(lockedSuite.server, secret.id, 'second');
    for (const options of [{}, { version: 1 }, { version: 2 }]) {
      const reply = await revealReply(lockedSuite.server, secret.id, options);
      assertProblem(reply, 403, 'FORBIDDEN');
      assert.ok(!reply.text.includes(secret.value) && !reply.text.includes('second'));
    }
    const other = await createKey(lockedSuite.server, { roles: ['ADMIN'] });
    assertProblem(
      await revealReply(lockedSuite.server, secret.tag, { token: other.apiKey }),
      403,
      'FORBIDDEN',
    );
    const listed = await lockedSuite.call('GET', `/api/v1/secrets/${secret.id}/versions`, {
      token: lockedSuite.server.adminToken,
    });
    assert.equal(listed.status, 200);
    assert.equal(listed.body.total, 2);
  });
});
