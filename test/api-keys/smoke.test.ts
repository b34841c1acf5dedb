import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useTestServer } from '../helpers/server.js';

const suite = useTestServer();

test('the bootstrap key lists itself', async () => {
  const reply = await suite.call('GET', '/api/v1/auth/key', { token: suite.server.adminToken });
  assert.equal(reply.status, 200);
  assert.equal(reply.body.total, 1);
  assert.equal(reply.body.apiKeys[0].name, 'bootstrap');
});
