/**
 * SPEC §7: master-key rotation re-wraps data keys online (src/features/keyring/rekey.ts). The
 * server keeps answering throughout: every value reveals before, during (between every two
 * steps of the rotation) and after; writes go on working; an interrupted rotation resumes; the
 * old key is retired at the end and no longer starts the service.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import { type MasterKey, masterKeyFrom } from '../../src/crypto/master-key.js';
import type { Database, Store } from '../../src/db/database.js';
import { KeyringError } from '../../src/features/keyring/keyring.js';
import { type RekeyProgress, rekey } from '../../src/features/keyring/rekey.js';
import { api } from '../helpers/keys.js';
import { changeValue, createSecret, removeTestData, reveal } from '../helpers/secrets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The values every secret must reveal: tag → current value; and a few older versions. */
const current = new Map<string, string>();
const older: { tag: string; version: number; value: string }[] = [];

let server: TestServer;
let dataDir: string;
let adminToken: string;
const K1 = randomBytes(32);
const K2 = randomBytes(32);
const K3 = randomBytes(32);

before(async () => {
  server = await startTestServer({ keepData: true, masterKey: K1 });
  ({ dataDir, adminToken } = server);
  for (let batch = 0; batch < 5; batch++) {
    const created = await Promise.all(
      Array.from({ length: 10 }, (_, i) => createSecret(server, { tag: `rekey-${batch * 10 + i}` })),
    );
    for (const s of created) current.set(s.tag, s.value);
  }
  // A few extra versions: 50 secrets, 58 versions.
  for (const n of [0, 1, 2, 3]) {
    const tag = `rekey-${n}`;
    for (const version of [2, 3]) {
      older.push({ tag, version: version - 1, value: current.get(tag) as string });
      const value = `value ${version} of ${tag} ${randomBytes(6).toString('hex')}`;
      await changeValue(server, tag, value);
      current.set(tag, value);
    }
  }
});
after(async () => {
  await server?.close();
  if (dataDir !== undefined) await removeTestData(dataDir);
});

async function versionCount(store: Store, keyId?: string): Promise<number> {
  let query = store.db
    .selectFrom('secret_versions')
    .select((eb) => eb.fn.countAll<number | string>().as('n'));
  if (keyId !== undefined) query = query.where('master_key_id', '=', keyId);
  return Number((await query.executeTakeFirstOrThrow()).n);
}

async function masterKeyStates(store: Store) {
  const rows = await store.db.selectFrom('master_keys').selectAll().execute();
  return Object.fromEntries(rows.map((r) => [r.key_id, { state: r.state, linked: r.link_data !== null }]));
}

/** Reveals every current value and the older versions, and asserts each. */
async function assertEverythingReveals(on: TestServer, when: string): Promise<void> {
  await Promise.all([
    ...[...current].map(async ([tag, value]) => assert.equal(await reveal(on, tag), value, `${tag} ${when}`)),
    ...older.map(async ({ tag, version, value }) =>
      assert.equal(await reveal(on, tag, version), value, `${tag} v${version} ${when}`),
    ),
  ]);
}

/**
 * The store as rekey sees it, with one difference: before each of rekey's transactions it waits
 * for `gate()`. Rekey reports progress right after each transaction, so checks started from
 * onProgress run while the rotation stands between two steps — deterministically, however fast
 * the database is.
 */
function gatedStore(store: Store, gate: () => Promise<void>): Store {
  const db = new Proxy(store.db, {
    get(target, property) {
      if (property === 'transaction') {
        return () => {
          const builder = target.transaction();
          return {
            async execute<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
              await gate();
              return builder.execute(fn);
            },
          };
        };
      }
      if (property === 'startTransaction') {
        // Audited steps run through group commit, which opens its transactions this way.
        return () => {
          const builder = target.startTransaction();
          return {
            async execute() {
              await gate();
              return builder.execute();
            },
          };
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { ...store, db };
}

async function restartWith(key: Buffer): Promise<TestServer> {
  return startTestServer({ dataDir, keepData: true, masterKey: key, adminToken });
}

describe('an online rotation', () => {
  test('every value reveals between every two steps and after; writes go on; progress counts up', async () => {
    const total = await versionCount(server.store);
    assert.equal(total, 58);
    const current1 = masterKeyFrom(K1);
    const next = masterKeyFrom(K2);
    const reports: RekeyProgress[] = [];
    const phasesChecked: string[] = [];
    let pending: Promise<void> = Promise.resolve();
    let writes = 0;

    const during = async (progress: RekeyProgress) => {
      await assertEverythingReveals(server, `after '${progress.message}'`);
      phasesChecked.push(progress.phase);
      if (progress.phase === 'announce') {
        // Written under the old key while the new one is only announced: must be re-wrapped too.
        const tag = 'rekey-0';
        const value = `written at announce ${randomBytes(6).toString('hex')}`;
        await changeValue(server, tag, value);
        current.set(tag, value);
        writes += 1;
      }
      if (progress.phase === 'switch' || (progress.phase === 'rewrap' && progress.done === 14)) {
        // After the switch, new values are wrapped under the new key.
        const created = await createSecret(server, { tag: `rekey-new-${progress.phase}` });
        current.set(created.tag, created.value);
        const tag = 'rekey-1';
        const value = `written after the switch ${randomBytes(6).toString('hex')}`;
        await changeValue(server, tag, value);
        current.set(tag, value);
        const keyIds = await server.store.db
          .selectFrom('secret_versions')
          .innerJoin('secrets', 'secrets.id', 'secret_versions.secret_id')
          .select('master_key_id')
          .where('secrets.tag', 'in', [created.tag, tag])
          .whereRef('secret_versions.version', '=', 'secrets.current_version')
          .execute();
        assert.deepEqual(
          keyIds.map((r) => r.master_key_id),
          [next.id, next.id],
        );
      }
    };

    const result = await rekey({
      store: gatedStore(server.store, () => pending),
      current: current1,
      next,
      batchSize: 7,
      graceMs: 0,
      onProgress: (progress) => {
        reports.push(progress);
        pending = pending.then(() => during(progress));
      },
    });
    await pending;

    // Checks ran after announce, after switch, after each re-wrap batch and around retirement.
    assert.deepEqual(
      phasesChecked,
      reports.map((r) => r.phase),
    );
    assert.equal(phasesChecked[0], 'announce');
    assert.equal(phasesChecked[1], 'switch');
    assert.equal(phasesChecked.at(-1), 'done');
    assert.ok(phasesChecked.includes('retire'));

    // Progress: `done` strictly increasing up to `total`, which counts every version under the old key.
    const rewraps = reports.filter((r) => r.phase === 'rewrap');
    const expected = total + writes;
    assert.equal(rewraps.length, Math.ceil(expected / 7));
    rewraps.forEach((r, i) => {
      assert.equal(r.total, expected);
      assert.equal(r.done, Math.min((i + 1) * 7, expected));
    });
    assert.equal(rewraps.at(-1)?.done, expected);
    assert.equal(result.rewrapped, expected);

    // Afterwards: everything under the new key, the old key retired and unlinked.
    assert.equal(await versionCount(server.store, current1.id), 0);
    assert.equal(await versionCount(server.store, next.id), await versionCount(server.store));
    assert.deepEqual(await masterKeyStates(server.store), {
      [current1.id]: { state: 'retired', linked: false },
      [next.id]: { state: 'active', linked: false },
    });
    await assertEverythingReveals(server, 'after the rotation');
    // Once the node has forgotten the retired key, versions it had cached wrapped under that key
    // (the reveals above) are read again from storage, where they are wrapped under the new one.
    await server.keyring.refresh();
    assert.equal(await server.keyring.get(current1.id), undefined);
    await assertEverythingReveals(server, 'after the rotation, the retired key forgotten');
    // New writes after the rotation, on the same running server.
    const late = await createSecret(server, { tag: 'rekey-late' });
    current.set(late.tag, late.value);
    assert.equal(await reveal(server, late.tag), late.value);
  });

  test('after it, the old key no longer starts the service ("retired"); the new key does', async () => {
    await server.close();
    await assert.rejects(restartWith(K1), (error: unknown) => {
      assert.ok(error instanceof KeyringError, String(error));
      assert.match(error.message, /retired/);
      assert.ok(
        !error.message.includes(K1.toString('base64')) && !error.message.includes(K1.toString('hex')),
      );
      return true;
    });
    server = await restartWith(K2);
    await assertEverythingReveals(server, 'after a restart with the new key');
  });
});

describe('an interrupted rotation', () => {
  const from = masterKeyFrom(K2);
  const to = masterKeyFrom(K3);
  let firstRun = 0;

  test('aborted after its first batch: rekey rejects, and every value still reveals', async () => {
    const controller = new AbortController();
    const reason = new Error('stop here');
    await assert.rejects(
      rekey({
        store: server.store,
        current: from,
        next: to,
        batchSize: 7,
        graceMs: 0,
        signal: controller.signal,
        onProgress: (progress) => {
          if (progress.phase === 'rewrap' && !controller.signal.aborted) {
            firstRun = progress.done ?? 0;
            controller.abort(reason);
          }
        },
      }),
      (error: unknown) => error === reason,
    );
    assert.equal(firstRun, 7);
    assert.equal(await versionCount(server.store, to.id), 7);
    assert.deepEqual(await masterKeyStates(server.store), {
      [masterKeyFrom(K1).id]: { state: 'retired', linked: false },
      [from.id]: { state: 'previous', linked: true },
      [to.id]: { state: 'active', linked: true },
    });
    await assertEverythingReveals(server, 'half-way through');
    const created = await createSecret(server, { tag: 'rekey-half-way' });
    current.set(created.tag, created.value);
  });

  test('another rotation (a different new key) is refused while this one is unfinished', async () => {
    const third = masterKeyFrom(randomBytes(32));
    for (const currentKey of [from, to]) {
      await assert.rejects(
        rekey({ store: server.store, current: currentKey, next: third, graceMs: 0 }),
        (error: unknown) => error instanceof KeyringError && /another rotation/.test(error.message),
      );
    }
    // Refused without a trace: the third key was not recorded.
    assert.equal((await masterKeyStates(server.store))[third.id], undefined);
  });

  test('half-way, either key starts the service and reaches every value', async () => {
    for (const key of [K2, K3]) {
      await server.close();
      server = await restartWith(key);
      await assertEverythingReveals(
        server,
        `half-way, restarted with ${key === K2 ? 'the old' : 'the new'} key`,
      );
    }
  });

  test('running it again with the same keys completes it; both runs together re-wrapped every version once', async () => {
    const total = await versionCount(server.store);
    const reports: RekeyProgress[] = [];
    const result = await rekey({
      store: server.store,
      current: from,
      next: to,
      batchSize: 7,
      graceMs: 0,
      onProgress: (p) => reports.push(p),
    });
    // No second announce or switch: it resumes at the re-wrap.
    assert.ok(!reports.some((r) => r.phase === 'announce' || r.phase === 'switch'));
    assert.equal(firstRun + result.rewrapped, total - 1, 'every version under the old key, once');
    assert.equal(await versionCount(server.store, to.id), total);
    assert.equal((await masterKeyStates(server.store))[from.id]?.state, 'retired');
    await assertEverythingReveals(server, 'after the resumed rotation');
  });

  test('afterwards the old key is refused ("retired") and the new key starts and reveals everything', async () => {
    await server.close();
    for (const old of [K2, K1]) {
      await assert.rejects(
        restartWith(old),
        (error: unknown) => error instanceof KeyringError && /retired/.test(error.message),
      );
    }
    server = await restartWith(K3);
    await assertEverythingReveals(server, 'after a restart with the newest key');
  });
});

describe('rekey refuses', () => {
  test('a current key that does not match, the active key as the new key, a retired key as the new key', async () => {
    const active = masterKeyFrom(K3);
    const cases: [string, MasterKey, MasterKey, RegExp][] = [
      [
        'unknown current key',
        masterKeyFrom(randomBytes(32)),
        masterKeyFrom(randomBytes(32)),
        /does not match/,
      ],
      ['retired current key', masterKeyFrom(K1), masterKeyFrom(randomBytes(32)), /retired/],
      ['nothing to rotate', active, active, /already the active key/],
      ['a retired new key', active, masterKeyFrom(K2), /retired/],
    ];
    const before = await masterKeyStates(server.store);
    for (const [label, currentKey, next, message] of cases) {
      await assert.rejects(
        rekey({ store: server.store, current: currentKey, next, graceMs: 0 }),
        (error: unknown) => error instanceof KeyringError && message.test(error.message),
        label,
      );
    }
    assert.deepEqual(await masterKeyStates(server.store), before);
    const reply = await api(server)('GET', '/api/v1/secrets?pageSize=1', { token: adminToken });
    assert.equal(reply.status, 200);
  });
});
