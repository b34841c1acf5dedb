/**
 * The child-server helper talks to the process it started, never to whatever else answers on a
 * port. Test files run side by side and every in-process test server listens on port 0, so a port
 * probed as free can be taken by another file's server before a child (seconds to start through
 * tsx) binds it; that server answers /healthz too, and then every token of the child's data is
 * "Invalid API key" (how crash-consistency once failed in CI).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generateToken } from '../../src/crypto/tokens.js';
import { spawnServer } from '../helpers/child-server.js';
import { testDialect } from '../helpers/database.js';

const skip = testDialect() === 'sqlite' ? false : 'a test of the test helper: once is enough (SQLite pass)';

/** Another server on a loopback port: 200 to everything, as any healthy test server answers /healthz. */
async function someoneElsesServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((_, response) => {
    response.setHeader('content-type', 'application/json');
    response.end('{"status":"ok"}');
  });
  await new Promise<void>((done) => server.listen({ host: '127.0.0.1', port: 0 }, done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { server, port: address.port };
}

describe('spawnServer: the server it reaches is the process it started', { skip }, () => {
  test('a port held by another server fails the start instead of reaching that server', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-child-taken-'));
    const other = await someoneElsesServer();
    const child = spawnServer('taken', { TESSERA_DATA_DIR: dataDir, TESSERA_PORT: String(other.port) });
    try {
      await assert.rejects(child.healthy, /exited with 1 before listening/);
      assert.match(child.stderr.join('\n'), /EADDRINUSE|in use/i);
    } finally {
      await child.kill();
      await new Promise((done) => other.server.close(done));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('without a port, the child listens where the system put it, and its own token works there', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-child-own-'));
    const token = generateToken();
    const child = spawnServer('own', { TESSERA_DATA_DIR: dataDir, TESSERA_BOOTSTRAP_TOKEN: token });
    try {
      await child.healthy;
      assert.notEqual(child.port, 0);
      const me = await child.call('GET', '/api/v1/me', { token });
      assert.equal(me.status, 200, me.text);
    } finally {
      await child.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
