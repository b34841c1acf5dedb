/**
 * Log redaction: after a round of ordinary and failing calls, no token and no request-body value
 * appears in any log line, and every line is JSON tied to its request by `requestId`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateToken } from '../../src/crypto/tokens.js';
import { api, createKey, flipChar, percentEncodedForms, role } from '../helpers/keys.js';
import { percentDecoded } from '../helpers/sensitive.js';
import { useTestServer } from '../helpers/server.js';
import { REQUEST_ID } from '../helpers/spec.js';

/** Strings that must never reach a log line. */
const secrets: string[] = [];
/** The x-request-id of every call made. */
const requestIds: string[] = [];
const suite = useTestServer({}, async () => {
  const call = api(suite.server);
  const send = async (...args: Parameters<typeof call>) => {
    const reply = await call(...args);
    requestIds.push(reply.headers.get('x-request-id') ?? 'missing');
    return reply;
  };
  const admin = suite.server.adminToken;
  const unknown = generateToken();
  const bodySecret = 'hunter2-BODY-SECRET-9c1e';
  const created = [
    await createKey(suite.server, { roles: ['ADMIN'] }),
    await createKey(suite.server, { roles: ['USER'] }),
  ];
  secrets.push(admin, unknown, bodySecret, flipChar(admin, 5), ...created.map((k) => k.apiKey));

  for (const key of created) await send('GET', '/api/v1/me', { token: key.apiKey });
  await send('GET', '/api/v1/auth/key', { token: created[0]?.apiKey });
  await send('GET', '/api/v1/me', { token: unknown });
  await send('GET', '/api/v1/me', { headers: { authorization: `Bearer ${flipChar(admin, 5)}` } });
  await send('GET', '/api/v1/auth/key', { token: created[1]?.apiKey }); // 403
  await send('GET', `/api/v1/auth/key?apiKey=${admin}&secret=${bodySecret}`, { token: admin });
  await send('POST', '/api/v1/auth/key', {
    token: admin,
    body: { name: 'logged?', description: bodySecret, roles: [role('READ_ONLY')] },
  });
  await send('POST', '/api/v1/auth/key', {
    token: admin,
    body: { name: bodySecret, roles: [{ type: 'CUSTOM', tag: bodySecret }] },
  });
  await send('POST', '/api/v1/auth/key', {
    token: admin,
    rawBody: `{"name": "${bodySecret}`,
    headers: { 'content-type': 'application/json' },
  });
  await send('POST', '/api/v1/auth/key', {
    token: admin,
    rawBody: `secret=${bodySecret}`,
    headers: { 'content-type': 'text/plain' },
  });
  await send('PUT', `/api/v1/auth/key/${created[1]?.cid}`, {
    token: admin,
    body: { name: 'renamed', description: bodySecret, apiKey: admin },
  });
  await send('DELETE', `/api/v1/auth/key/${created[1]?.cid}`, { token: admin, body: { secret: bodySecret } });
  // Tokens percent-encoded in a path that matches no route (logged, redacted), in one that does,
  // and in a query string.
  for (const form of percentEncodedForms(unknown)) {
    await send('GET', `/nope/${form}`);
    await send('GET', `/nope/${form}/more?token=${form}`, { token: admin });
    await send('GET', `/api/v1/auth/key/${form}?apiKey=${form}`, { token: admin });
  }
});

test('the calls were logged', () => {
  assert.ok(suite.server.logs.length >= requestIds.length, `only ${suite.server.logs.length} log lines`);
});

test('no token and no body value appears in any log line', () => {
  for (const line of suite.server.logs) {
    for (const secret of secrets) {
      assert.ok(!line.includes(secret), `a secret in the log: ${line}`);
    }
  }
});

test('no token appears percent-encoded either, and the unmatched paths were logged redacted', () => {
  const paths: string[] = [];
  for (const line of suite.server.logs) {
    const decoded = percentDecoded(Buffer.from(line))?.toString('utf8') ?? line;
    for (const secret of secrets) assert.ok(!decoded.includes(secret), `a secret in the log: ${line}`);
    const path = JSON.parse(line).req?.path;
    if (typeof path === 'string' && path.startsWith('/nope/')) paths.push(path);
  }
  assert.deepEqual(new Set(paths), new Set(['/nope/tsk_[redacted]', '/nope/tsk_[redacted]/more']));
});

test('no log line carries headers or bodies', () => {
  for (const line of suite.server.logs) {
    assert.ok(!/authorization/i.test(line), line);
    assert.ok(!line.includes('"body"'), line);
  }
});

test('every line is JSON; request lines carry the requestId the client saw', () => {
  const logged = new Set<string>();
  for (const line of suite.server.logs) {
    const entry = JSON.parse(line);
    assert.equal(typeof entry.level, 'number');
    assert.equal(typeof entry.msg, 'string');
    if ('req' in entry || 'res' in entry) assert.match(entry.requestId, REQUEST_ID, line);
    if (typeof entry.requestId === 'string') logged.add(entry.requestId);
  }
  for (const id of requestIds) assert.ok(logged.has(id), `no log line for request ${id}`);
});

test('request lines name the route pattern, never what the client put in the path or query', () => {
  const requests = suite.server.logs.map((line) => JSON.parse(line).req).filter((r) => r !== undefined);
  const routes = requests.map((r) => r.route);
  assert.ok(routes.includes('/api/v1/auth/key'));
  assert.ok(routes.includes('/api/v1/auth/key/:cid'), 'a route with a parameter is logged as its pattern');
  for (const request of requests) {
    // Only the `/nope/…` calls match no route: they log a redacted path (tested above).
    if (request.route === undefined) {
      assert.ok(request.path.startsWith('/nope/'), request.path);
      continue;
    }
    assert.equal(request.path, undefined, 'a matched route logs no path');
    assert.ok(!request.route.includes('?'), request.route);
  }
});

test('one line per request, with the method, path, status and time taken', () => {
  const lines = new Map<
    string,
    { req: { method: string; path: string }; res: { statusCode: number }; responseTime: number }[]
  >();
  for (const line of suite.server.logs) {
    const entry = JSON.parse(line);
    if (entry.req === undefined) continue;
    const seen = lines.get(entry.requestId) ?? [];
    seen.push(entry);
    lines.set(entry.requestId, seen);
  }
  for (const id of requestIds) {
    const entries = lines.get(id) ?? [];
    assert.equal(entries.length, 1, `request ${id} logged ${entries.length} request lines`);
    const [entry] = entries;
    assert.match(entry?.req.method ?? '', /^(GET|POST|PUT|DELETE)$/);
    assert.equal(typeof entry?.res.statusCode, 'number');
    assert.equal(typeof entry?.responseTime, 'number');
  }
});
