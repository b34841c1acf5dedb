/**
 * `tessera recover-admin`, the break-glass way back: run beside a live server on the same storage,
 * it creates an ADMIN key that the server accepts at once, audited as a SYSTEM event; with
 * `--clear-ip-allowlist` it also empties an IP allowlist that shuts the admin out; without the
 * right master key it creates nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isWellFormedToken } from '../../src/crypto/tokens.js';
import { type ChildServer, runTessera, spawnServer } from '../helpers/child-server.js';
import { createSchema, type Storage } from '../helpers/cluster.js';
import { testDialect } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';

const dialect = testDialect();
const skip =
  dialect === 'postgres' && !process.env.TEST_DATABASE_URL
    ? 'recover-admin on PostgreSQL needs TEST_DATABASE_URL (a child process cannot share the in-process PGlite)'
    : false;

describe(`tessera recover-admin (${dialect})`, { skip }, () => {
  let dataDir: string;
  let storage: Storage | undefined;
  let server: ChildServer;
  let env: Record<string, string>;
  /** The token the first test recovered: how the later tests read the server. */
  let recovered = '';

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-recover-'));
    storage = dialect === 'postgres' ? await createSchema() : undefined;
    env = {
      TESSERA_HOST: '127.0.0.1',
      TESSERA_DATA_DIR: dataDir,
      TESSERA_MASTER_KEY: randomBytes(32).toString('base64'),
      TESSERA_LOG_LEVEL: 'warn',
      ...(storage === undefined ? {} : { DATABASE_URL: storage.url }),
    };
    const started = spawnServer('recover', env);
    server = started;
    await started.healthy;
  });
  after(async () => {
    await server?.stop();
    await storage?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('prints a token as its last line; the running server accepts it as ADMIN; audited as SYSTEM', async () => {
    const result = await runTessera(['recover-admin'], env);
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    const token = lines.at(-1) ?? '';
    assert.equal(isWellFormedToken(token), true, result.stdout);
    // The token is nowhere else in the output.
    assert.equal(result.stdout.split(token).length, 2);
    assert.equal(result.stderr.includes(token), false);

    const me = await server.call('GET', '/api/v1/me', { token });
    assert.equal(me.status, 200);
    assert.ok(me.body.permissions.includes('EDIT_API_KEYS'));
    assert.deepEqual(me.body.roles, [{ type: 'DEFAULT', role: 'ADMIN' }]);
    recovered = token;

    const events = await server.call('GET', '/api/v1/audit-logs?actions=CREATE&objectTypes=API_KEY', {
      token,
    });
    assert.equal(events.status, 200);
    const created = events.body.logs.find(
      (e: { objectIdentifier: string }) => e.objectIdentifier === me.body.cid,
    );
    assert.ok(created, JSON.stringify(events.body.logs));
    assert.equal(created.actorType, 'SYSTEM');
    assert.equal(created.actorIdentifier, 'recover-admin');
  });

  test('--clear-ip-allowlist empties a list that shuts the admin out: the running server lets it in again; audited as SYSTEM', async () => {
    const shutOut = await server.call('PUT', '/api/v1/ip-allowlist?force=true', {
      token: recovered,
      body: { entries: [{ address: '203.0.113.0/24', description: 'not where the admin is' }] },
    });
    assert.equal(shutOut.status, 200, shutOut.text);
    const refused = await server.call('GET', '/api/v1/me', { token: recovered });
    assert.equal(refused.status, 403, refused.text);

    const result = await runTessera(['recover-admin', '--clear-ip-allowlist'], env);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Emptied the IP allowlist/);
    assert.equal(isWellFormedToken(result.stdout.trimEnd().split('\n').at(-1) ?? ''), true, result.stdout);
    // Nothing announces a change made outside the server: it reads the list again within the
    // lifetime of its copy (10 s).
    await eventually(
      'the server lets the admin in again',
      async () => (await server.call('GET', '/api/v1/me', { token: recovered })).status === 200,
      { withinMs: 15_000, everyMs: 200 },
    );
    const list = await server.call('GET', '/api/v1/ip-allowlist', { token: recovered });
    assert.deepEqual(list.body, { entries: [], page: 0, total: 0, totalPages: 0 });
    const events = await server.call('GET', '/api/v1/audit-logs?objectTypes=IP_ALLOWLIST', {
      token: recovered,
    });
    assert.equal(events.status, 200, events.text);
    assert.deepEqual(
      events.body.logs.map((e: Record<string, string>) => [
        e.actorType,
        e.actorIdentifier,
        e.action,
        e.detail,
      ]),
      [
        ['SYSTEM', 'recover-admin', 'UPDATE', 'emptied: every address allowed'],
        [
          'API_KEY',
          (await server.call('GET', '/api/v1/me', { token: recovered })).body.cid,
          'UPDATE',
          "1 entry, forced: the caller's address is not in it",
        ],
      ],
    );
  });

  test('with a wrong master key it fails, names the problem and creates no key', async () => {
    const before = await countKeys();
    const result = await runTessera(['recover-admin'], {
      ...env,
      TESSERA_MASTER_KEY: randomBytes(32).toString('base64'),
    });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /master key/i);
    assert.equal(result.stdout.match(/tsk_\w+/), null);
    assert.equal(await countKeys(), before);
  });

  test('a data folder without a database is refused, not bootstrapped', {
    skip: dialect !== 'sqlite',
  }, async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tessera-recover-empty-'));
    try {
      const result = await runTessera(['recover-admin'], { ...env, TESSERA_DATA_DIR: empty });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /no database in/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  async function countKeys(): Promise<number> {
    const list = await server.call('GET', '/api/v1/auth/key?pageSize=1', { token: recovered });
    assert.equal(list.status, 200);
    return list.body.total;
  }
});
