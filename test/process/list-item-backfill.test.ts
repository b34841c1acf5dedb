/**
 * An upgraded data folder (rows without a stored list item, as migration 0005 leaves them) gets
 * its items rendered in the background once `tessera serve` starts, and its list pages read the
 * same before and after. The rendering itself is tested on both dialects in
 * test/db/list-item-backfill.test.ts; this is the server starting and stopping it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectSqlite } from '../../src/db/connect.js';
import { type ChildServer, sleep, spawnServer } from '../helpers/child-server.js';
import { testDialect } from '../helpers/database.js';

const skip = testDialect() === 'sqlite' ? false : 'a process on a data folder: the SQLite pass only';

describe('tessera serve renders missing list items in the background', { skip }, () => {
  let dataDir: string;
  let env: Record<string, string>;
  let server: ChildServer | undefined;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-backfill-'));
    env = { TESSERA_DATA_DIR: dataDir, TESSERA_LOG_LEVEL: 'info' };
  });
  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start() {
    const started = spawnServer('backfill', env);
    server = started;
    await started.healthy;
    return started;
  }

  const missing = async () => {
    const store = connectSqlite(dataDir);
    try {
      const count = async (table: 'api_keys' | 'secrets') =>
        Number(
          (
            await store.db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll().as('n'))
              .where('list_item', 'is', null)
              .executeTakeFirstOrThrow()
          ).n,
        );
      return { keys: await count('api_keys'), secrets: await count('secrets') };
    } finally {
      await store.close();
    }
  };

  test('rows without a text get one after a restart; pages read the same', async () => {
    let first = await start();
    const token = readFileSync(join(dataDir, 'bootstrap-admin.key'), 'utf8').trim();
    for (let i = 0; i < 5; i++) {
      const key = await first.call('POST', '/api/v1/auth/key', {
        token,
        body: { name: `upgraded "${i}"`, roles: [{ type: 'DEFAULT', role: 'USER' }] },
      });
      assert.equal(key.status, 200, key.text);
      const secret = await first.call('POST', '/api/v1/secrets', {
        token,
        body: { name: `upgraded \u2028 ${i}`, tag: `upgraded-${i}`, secret: 'value' },
      });
      assert.equal(secret.status, 200, secret.text);
    }
    const pagesBefore = [
      (await first.call('GET', '/api/v1/auth/key?pageSize=4&page=1', { token })).text,
      (await first.call('GET', '/api/v1/secrets?pageSize=4&page=0', { token })).text,
    ];
    await first.stop();

    // As an older release left them: no stored texts (an update of list_item alone fires no trigger).
    const store = connectSqlite(dataDir);
    await store.db.updateTable('api_keys').set({ list_item: null }).execute();
    await store.db.updateTable('secrets').set({ list_item: null }).execute();
    await store.close();
    assert.deepEqual(await missing(), { keys: 6, secrets: 5 });

    first = await start();
    const deadline = Date.now() + 10_000;
    while (first.linesMatching(/stored list items rendered/).length === 0) {
      assert.ok(Date.now() < deadline, `no rendering line; stdout:\n${first.stdout.slice(-5).join('\n')}`);
      await sleep(50);
    }
    const [line] = first.linesMatching(/stored list items rendered/);
    assert.deepEqual(JSON.parse(line as string).rendered, { api_keys: 6, secrets: 5 });
    assert.deepEqual(await missing(), { keys: 0, secrets: 0 });
    assert.deepEqual(
      [
        (await first.call('GET', '/api/v1/auth/key?pageSize=4&page=1', { token })).text,
        (await first.call('GET', '/api/v1/secrets?pageSize=4&page=0', { token })).text,
      ],
      pagesBefore,
    );
    await first.stop();
    assert.equal(first.exitCode(), 0);
  });
});
