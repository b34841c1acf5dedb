import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { client } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

test('the bootstrap key lists itself', async () => {
  const call = client(server.url);
  const reply = await call('GET', '/api/v1/auth/key', { token: server.adminToken });
  assert.equal(reply.status, 200);
  assert.equal(reply.body.total, 1);
  assert.equal(reply.body.apiKeys[0].name, 'bootstrap');
});
