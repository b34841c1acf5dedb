/**
 * The shared security suite (test/helpers/security.ts) over the API-key routes, and the check
 * that every /api/v1 operation of the OpenAPI document is in a route table
 * (test/helpers/protected-routes.ts), so no route goes without the suite.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api } from '../helpers/keys.js';
import { API_KEY_ROUTES, PROTECTED_ROUTES } from '../helpers/protected-routes.js';
import { routeName, securitySuite } from '../helpers/security.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

test('every /api/v1 operation of the OpenAPI document is in PROTECTED_ROUTES, and only those', async () => {
  const reply = await api(server)('GET', '/api/v1/openapi.json');
  assert.equal(reply.status, 200);
  const documented: string[] = [];
  for (const [path, operations] of Object.entries<Record<string, unknown>>(reply.body.paths)) {
    if (!path.startsWith('/api/v1/') || path === '/api/v1/openapi.json') continue;
    for (const method of Object.keys(operations)) {
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) {
        documented.push(routeName({ method: method.toUpperCase() as 'GET', path }));
      }
    }
  }
  const listed = PROTECTED_ROUTES.map(routeName);
  assert.equal(new Set(listed).size, listed.length, 'a route is listed twice');
  assert.deepEqual([...listed].sort(), documented.sort());
});

for (const route of API_KEY_ROUTES) securitySuite(() => server, route);
