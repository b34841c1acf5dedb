/**
 * What the API fuzzer (api-fuzz.test.ts) found, pinned as plain regression tests. A finding still
 * open goes in test/helpers/fuzz-open-bugs.ts and is sent here as a todo test, with exactly the
 * inputs the main run leaves out meanwhile.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type RawClient, type RawRequest, rawClient } from '../helpers/fuzz-http.js';
import { operationsOf } from '../helpers/fuzz-openapi.js';
import { checkReply } from '../helpers/fuzz-oracle.js';
import { PATH_JUNK } from '../helpers/fuzz-requests.js';
import type { Reply } from '../helpers/http.js';
import { createKey, role } from '../helpers/keys.js';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { createSecret } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';

let client: RawClient;
const suite = useTestServer({}, async () => {
  client = rawClient(suite.server.url);
});
after(async () => {
  client?.close();
});

/** The fuzzer's own check of a reply: no 5xx, and every error SPEC §3's problem+json. */
function assertSound(reply: Reply, described: string) {
  checkReply(reply, {
    described,
    adminToken: suite.server.adminToken,
    unauthenticated: false,
    routed: false,
  });
}

describe('fixed: a request that matches no route gets 404, whatever its body', () => {
  // It used to be parsed first: malformed JSON made it a 400, another content type a 415.
  for (const [contentType, body] of [
    ['application/json', '{"name": '],
    ['text/plain', 'hello'],
  ] as const) {
    test(`a ${contentType} body`, async () => {
      for (const path of ['/api/v1/nothing', '/api/v1/auth/key///']) {
        const reply = await suite.call('PUT', path, {
          rawBody: body,
          headers: { 'content-type': contentType },
        });
        assertProblem(reply, 404, 'NOT_FOUND');
      }
    });
  }
});

describe('fixed: NUL in a path parameter or a query filter is a 400 violation, not a 500', () => {
  // PostgreSQL refuses NUL in a query parameter, so these were 500s there.
  test('in a path parameter', async () => {
    const key = await suite.call('GET', '/api/v1/auth/key/ak%00', { token: suite.server.adminToken });
    assertViolations(key, ['/path/cid']);
    const secret = await suite.call('DELETE', '/api/v1/secrets/tag%00/', { token: suite.server.adminToken });
    assertViolations(secret, ['/path/tagOrId']);
  });

  test('in a query filter', async () => {
    const reply = await suite.call('GET', '/api/v1/audit-logs?objectIdentifiers=a%00&actorIpAddresses=%00', {
      token: suite.server.adminToken,
    });
    assertViolations(reply, ['/query/objectIdentifiers', '/query/actorIpAddresses']);
  });

  test('an unknown query parameter is still ignored, whatever it holds', async () => {
    const reply = await suite.call('GET', '/api/v1/secrets?x=%00', { token: suite.server.adminToken });
    assert.equal(reply.status, 200, reply.text);
  });
});

test('requests the HTTP parser refuses are answered with problem+json', async () => {
  const document = await suite.call('GET', '/api/v1/openapi.json');
  const auth = { authorization: `Bearer ${suite.server.adminToken}` };
  const requests: RawRequest[] = [
    ...operationsOf(document.body)
      .filter((operation) => operation.path.includes('{'))
      .flatMap((operation) =>
        PATH_JUNK.rawBytes.map((junk) => ({
          method: operation.method,
          path: operation.path.replace(/\{\w+\}/g, junk),
          headers: auth,
        })),
      ),
    { method: 'GET', path: `/api/v1/audit-logs?actions=${'%20'.repeat(7_000)}`, headers: auth },
    { method: 'GET', path: '/api/v1/me', headers: { ...auth, 'user-agent': 'u'.repeat(20_000) } },
  ];
  for (const request of requests) {
    const size = request.path.length + JSON.stringify(request.headers).length;
    assertSound(await client.send(request), `${request.method} ${request.path.slice(0, 60)} (${size} bytes)`);
  }
});

test('a NUL in a name or description is stored or refused, never a 500', async () => {
  const key = await createKey(suite.server);
  const secret = await createSecret(suite.server);
  const token = suite.server.adminToken;
  const readOnly = [role('READ_ONLY')];
  const requests: [string, string, unknown][] = [
    ['POST', '/api/v1/auth/key', { name: 'nul\u0000name', roles: readOnly }],
    ['POST', '/api/v1/auth/key', { name: 'nul description', description: 'a\u0000b', roles: readOnly }],
    ['PUT', `/api/v1/auth/key/${key.cid}`, { name: 'nul\u0000name' }],
    ['PUT', `/api/v1/auth/key/${key.cid}`, { name: 'fine', description: 'a\u0000b' }],
    ['POST', '/api/v1/secrets', { name: 'nul\u0000name', tag: 'nul-name', secret: 'v' }],
    ['PUT', `/api/v1/secrets/${secret.tag}`, { name: 'nul\u0000name' }],
  ];
  for (const [method, path, body] of requests) {
    assertSound(await suite.call(method, path, { token, body }), `${method} ${path} ${JSON.stringify(body)}`);
  }
});

test('a lone surrogate in a name is stored or refused, never a 500', async () => {
  const secret = await createSecret(suite.server);
  const token = suite.server.adminToken;
  for (const name of ['\u200b\udfff', 'x\ud800', '\udc00\ud800']) {
    const path = `/api/v1/secrets/${secret.tag}`;
    assertSound(
      await suite.call('PUT', path, { token, body: { name } }),
      `PUT ${path} ${JSON.stringify({ name })}`,
    );
  }
});
