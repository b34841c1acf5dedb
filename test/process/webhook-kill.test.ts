/**
 * A Tessera process killed (SIGKILL) while it is delivering webhooks, then restarted, still
 * delivers every event: at least once, none lost. The outbox rows were committed with their
 * changes; the killed process's leases run out (three delivery timeouts: 3 s here) and the
 * restarted one sends them again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generateToken } from '../../src/crypto/tokens.js';
import { type ChildServer, spawnServer } from '../helpers/child-server.js';
import { createSchema, type Storage } from '../helpers/cluster.js';
import { testDialect } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { signatureVerifies, startReceiver } from '../helpers/webhooks.js';

const dialect = testDialect();
const skip =
  dialect === 'postgres' && !process.env.TEST_DATABASE_URL
    ? 'a child server on PostgreSQL needs TEST_DATABASE_URL (it cannot share the in-process PGlite)'
    : false;
const EVENTS = 12;

describe('webhooks: a process killed mid-delivery', { skip }, () => {
  test(`${dialect}: every event is delivered after a SIGKILL and a restart`, {
    timeout: 90_000,
  }, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-hook-kill-'));
    const storage: Storage | undefined = dialect === 'postgres' ? await createSchema() : undefined;
    const receiver = await startReceiver();
    const servers: ChildServer[] = [];
    t.after(async () => {
      await Promise.all(servers.map((s) => s.kill()));
      await receiver.stop();
      await storage?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const adminToken = generateToken();
    const env: Record<string, string> = {
      TESSERA_HOST: '127.0.0.1',
      TESSERA_DATA_DIR: dataDir,
      TESSERA_MASTER_KEY: randomBytes(32).toString('base64'),
      TESSERA_BOOTSTRAP_TOKEN: adminToken,
      TESSERA_LOG_LEVEL: 'warn',
      TESSERA_WEBHOOK_ALLOW_PRIVATE: 'true',
      TESSERA_WEBHOOK_TIMEOUT_SECONDS: '1',
      TESSERA_WEBHOOK_RETRY_BASE_SECONDS: '1',
      ...(storage === undefined ? {} : { DATABASE_URL: storage.url }),
    };
    const start = async () => {
      const server = spawnServer(`hooks-${servers.length}`, env);
      servers.push(server);
      await server.healthy;
      return server;
    };
    let server = await start();
    const hook = await server.call('POST', '/api/v1/webhooks', {
      token: adminToken,
      body: { url: receiver.url, events: ['api_key.created'] },
    });
    assert.equal(hook.status, 200, hook.text);
    const secret = String(hook.body.secret);

    // The receiver takes the requests and does not answer: deliveries are in flight at the kill.
    receiver.hold = true;
    const cids: string[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const key = await server.call('POST', '/api/v1/auth/key', {
        token: adminToken,
        body: { name: `before the kill ${i}`, roles: [{ type: 'DEFAULT', role: 'READ_ONLY' }] },
      });
      assert.equal(key.status, 200, key.text);
      cids.push(String(key.body.cid));
    }
    await eventually('a delivery in flight', () => receiver.received.length > 0);
    await server.kill();
    receiver.release();
    receiver.hold = false;

    server = await start();
    const late = await server.call('POST', '/api/v1/auth/key', {
      token: adminToken,
      body: { name: 'after the restart', roles: [{ type: 'DEFAULT', role: 'READ_ONLY' }] },
    });
    assert.equal(late.status, 200, late.text);
    cids.push(String(late.body.cid));

    const startedAt = performance.now();
    await eventually(
      'every event delivered after the restart',
      () => {
        const got = new Set(receiver.received.map((e) => e.json.object.id));
        return cids.every((cid) => got.has(cid));
      },
      { withinMs: 30_000, everyMs: 100 },
    );
    t.diagnostic(
      `all ${cids.length} events received ${Math.round(performance.now() - startedAt)} ms after the restart`,
    );
    for (const event of receiver.received) assert.ok(signatureVerifies(secret, event));
    await eventually('every delivery recorded as delivered', async () => {
      const reply = await server.call('GET', `/api/v1/webhooks/${hook.body.id}/deliveries?pageSize=100`, {
        token: adminToken,
      });
      return (
        reply.body.deliveries.length === cids.length &&
        reply.body.deliveries.every((d: { status: string }) => d.status === 'DELIVERED')
      );
    });
  });

  test(`${dialect}: a graceful stop does not wait for a receiver that never answers`, {
    timeout: 60_000,
  }, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-hook-stop-'));
    const storage: Storage | undefined = dialect === 'postgres' ? await createSchema() : undefined;
    const receiver = await startReceiver();
    const adminToken = generateToken();
    const server = spawnServer('hooks-stop', {
      TESSERA_HOST: '127.0.0.1',
      TESSERA_DATA_DIR: dataDir,
      TESSERA_MASTER_KEY: randomBytes(32).toString('base64'),
      TESSERA_BOOTSTRAP_TOKEN: adminToken,
      TESSERA_LOG_LEVEL: 'warn',
      TESSERA_WEBHOOK_ALLOW_PRIVATE: 'true',
      // Longer than the stop may take: the stop must cut the delivery off, not wait for it.
      TESSERA_WEBHOOK_TIMEOUT_SECONDS: '60',
      ...(storage === undefined ? {} : { DATABASE_URL: storage.url }),
    });
    t.after(async () => {
      await server.kill();
      await receiver.stop();
      await storage?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    await server.healthy;
    const hook = await server.call('POST', '/api/v1/webhooks', {
      token: adminToken,
      body: { url: receiver.url, events: ['api_key.created'] },
    });
    assert.equal(hook.status, 200, hook.text);
    receiver.hold = true;
    const key = await server.call('POST', '/api/v1/auth/key', {
      token: adminToken,
      body: { name: 'in flight at the stop', roles: [{ type: 'DEFAULT', role: 'READ_ONLY' }] },
    });
    assert.equal(key.status, 200, key.text);
    await eventually('a delivery in flight', () => receiver.received.length > 0);
    // stop(): SIGTERM, then SIGKILL after 5 s; a graceful exit is code 0.
    await server.stop();
    assert.equal(server.exitCode(), 0, server.stderr.join('\n'));
  });
});
