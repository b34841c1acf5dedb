/**
 * The shared security suite (test/helpers/security.ts: 401 for missing, malformed, unknown,
 * expired and deleted tokens; 403 for every default role lacking the permission; 200 for every
 * role holding it) over the audit route (test/helpers/audit.ts: AUDIT_ROUTES). VIEW_AUDIT_LOGS
 * is held by ADMIN and MANAGER; USER, READ_ONLY and VIEWER get 403.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AUDIT_ROUTES } from '../helpers/audit.js';
import { api } from '../helpers/keys.js';
import { routeName, securitySuite } from '../helpers/security.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

test('the audit routes are exactly the /api/v1/audit-logs operations of the OpenAPI document', async () => {
  const reply = await api(server)('GET', '/api/v1/openapi.json');
  assert.equal(reply.status, 200);
  const documented: string[] = [];
  for (const [path, operations] of Object.entries<Record<string, unknown>>(reply.body.paths)) {
    if (!path.startsWith('/api/v1/audit-logs')) continue;
    for (const method of Object.keys(operations)) {
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) {
        documented.push(routeName({ method: method.toUpperCase() as 'GET', path }));
      }
    }
  }
  assert.deepEqual(AUDIT_ROUTES.map(routeName).sort(), documented.sort());
});

for (const route of AUDIT_ROUTES) securitySuite(() => server, route);
