/**
 * SPEC §7: master-key rotation re-wraps data keys online (src/features/keyring/rekey.ts). The
 * server keeps answering throughout: every value reveals before, during (between every two
 * steps of the rotation) and after; writes go on working; an interrupted rotation resumes; the
 * old key is retired at the end and no longer starts the service. Every test brings its own data
 * folder as far as the stage it starts from (rotationAt).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import type { Kysely } from 'kysely';
import { type MasterKey, masterKeyFrom } from '../../src/crypto/master-key.js';
import type { Database, Store } from '../../src/db/database.js';
import { KeyringError } from '../../src/features/keyring/keyring.js';
import { type RekeyProgress, rekey } from '../../src/features/keyring/rekey.js';
import { type KeptData, keptDataFor } from '../helpers/kept-data.js';
import { api } from '../helpers/keys.js';
import { changeValue, createSecret, reveal } from '../helpers/secrets.js';
import type { TestServer } from '../helpers/server.js';

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const K3 = randomBytes(32);
/** Whole suites, set-up included: a rotation that stops moving fails here, never hangs the run. */
const SUITE_TIMEOUT_MS = 120_000;

/** A test's data folder and the values every secret must reveal. */
interface Rotation {
  data: KeptData;
  /** tag → current value. */
  current: Map<string, string>;
  /** A few older versions. */
  older: { tag: string; version: number; value: string }[];
  /** How many data keys the interrupted rotation K2 → K3 re-wrapped before it stopped. */
  firstRun: number;
}

type Stage = 'written' | 'rotated' | 'half-way' | 'rotated twice';

/**
 * A data folder for the test `t`, brought as far as `stage`:
 *  - written: 50 secrets, 58 versions in all, under K1; a server running with K1;
 *  - rotated: then rotated K1 → K2 and a value written after it; a server running with K2;
 *  - half-way: then the rotation K2 → K3 stopped after its first batch, and a value written
 *    half-way; the server running with K2 still;
 *  - rotated twice: then that rotation resumed and finished; a server running with K3.
 */
async function rotationAt(t: TestContext, stage: Stage): Promise<Rotation> {
  const data = keptDataFor(t);
  const story: Rotation = { data, current: new Map(), older: [], firstRun: 0 };
  const server = await data.start(K1);
  for (let batch = 0; batch < 5; batch++) {
    const created = await Promise.all(
      Array.from({ length: 10 }, (_, i) => createSecret(server, { tag: `rekey-${batch * 10 + i}` })),
    );
    for (const s of created) story.current.set(s.tag, s.value);
  }
  // A few extra versions: 50 secrets, 58 versions.
  for (const n of [0, 1, 2, 3]) {
    const tag = `rekey-${n}`;
    for (const version of [2, 3]) {
      story.older.push({ tag, version: version - 1, value: story.current.get(tag) as string });
      const value = `value ${version} of ${tag} ${randomBytes(6).toString('hex')}`;
      await changeValue(server, tag, value);
      story.current.set(tag, value);
    }
  }
  if (stage === 'written') return story;

  await rekey({ store: server.store, current: masterKeyFrom(K1), next: masterKeyFrom(K2), graceMs: 0 });
  const onK2 = await data.start(K2);
  await writeSecret(story, onK2, 'rekey-late');
  if (stage === 'rotated') return story;

  const interrupted = await interruptRotation(onK2.store);
  assert.equal(interrupted.rejection, interrupted.reason, 'set-up: the rotation K2 → K3 stops half-way');
  story.firstRun = interrupted.firstRun;
  await writeSecret(story, onK2, 'rekey-half-way');
  if (stage === 'half-way') return story;

  const onK3 = await data.start(K3);
  await rekey({ store: onK3.store, current: masterKeyFrom(K2), next: masterKeyFrom(K3), graceMs: 0 });
  return story;
}

/** A new secret, written through `server` and added to what must reveal. */
async function writeSecret(story: Rotation, server: TestServer, tag: string): Promise<void> {
  const created = await createSecret(server, { tag });
  story.current.set(created.tag, created.value);
}

/**
 * The rotation K2 → K3, stopped through its signal right after its first re-wrap batch: what it
 * rejected with (undefined if it finished), the reason it was stopped with, and how many data
 * keys it re-wrapped.
 */
async function interruptRotation(
  store: Store,
): Promise<{ rejection: unknown; reason: Error; firstRun: number }> {
  const controller = new AbortController();
  const reason = new Error('stop here');
  let firstRun = 0;
  const rejection = await rekey({
    store,
    current: masterKeyFrom(K2),
    next: masterKeyFrom(K3),
    batchSize: 7,
    graceMs: 0,
    signal: controller.signal,
    onProgress: (progress) => {
      if (progress.phase === 'rewrap' && !controller.signal.aborted) {
        firstRun = progress.done ?? 0;
        controller.abort(reason);
      }
    },
  }).then(
    () => undefined,
    (error: unknown) => error,
  );
  return { rejection, reason, firstRun };
}

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

/** Reveals every current value and the older versions through `on`, and asserts each. */
async function assertEverythingReveals(story: Rotation, on: TestServer, when: string): Promise<void> {
  await Promise.all([
    ...[...story.current].map(async ([tag, value]) =>
      assert.equal(await reveal(on, tag), value, `${tag} ${when}`),
    ),
    ...story.older.map(async ({ tag, version, value }) =>
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

describe('an online rotation', { timeout: SUITE_TIMEOUT_MS }, () => {
  test('every value reveals between every two steps and after; writes go on; progress counts up', async (t) => {
    const story = await rotationAt(t, 'written');
    const { current } = story;
    const server = story.data.server;
    const total = await versionCount(server.store);
    assert.equal(total, 58);
    const current1 = masterKeyFrom(K1);
    const next = masterKeyFrom(K2);
    const reports: RekeyProgress[] = [];
    const phasesChecked: string[] = [];
    let pending: Promise<void> = Promise.resolve();
    let writes = 0;

    const during = async (progress: RekeyProgress) => {
      await assertEverythingReveals(story, server, `after '${progress.message}'`);
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
    await assertEverythingReveals(story, server, 'after the rotation');
    // Once the node has forgotten the retired key, versions it had cached wrapped under that key
    // (the reveals above) are read again from storage, where they are wrapped under the new one.
    await server.keyring.refresh();
    assert.equal(await server.keyring.get(current1.id), undefined);
    await assertEverythingReveals(story, server, 'after the rotation, the retired key forgotten');
    // New writes after the rotation, on the same running server.
    const late = await createSecret(server, { tag: 'rekey-late' });
    assert.equal(await reveal(server, late.tag), late.value);
  });

  test('after it, the old key no longer starts the service ("retired"); the new key does', async (t) => {
    const story = await rotationAt(t, 'rotated');
    const error = await story.data.refused(K1);
    assert.ok(error instanceof KeyringError, String(error));
    assert.match(error.message, /retired/);
    assert.ok(!error.message.includes(K1.toString('base64')) && !error.message.includes(K1.toString('hex')));
    const server = await story.data.start(K2);
    await assertEverythingReveals(story, server, 'after a restart with the new key');
  });
});

describe('an interrupted rotation', { timeout: SUITE_TIMEOUT_MS }, () => {
  const from = masterKeyFrom(K2);
  const to = masterKeyFrom(K3);

  test('aborted after its first batch: rekey rejects, and every value still reveals', async (t) => {
    const story = await rotationAt(t, 'rotated');
    const server = story.data.server;
    const { rejection, reason, firstRun } = await interruptRotation(server.store);
    assert.equal(rejection, reason);
    assert.equal(firstRun, 7);
    assert.equal(await versionCount(server.store, to.id), 7);
    assert.deepEqual(await masterKeyStates(server.store), {
      [masterKeyFrom(K1).id]: { state: 'retired', linked: false },
      [from.id]: { state: 'previous', linked: true },
      [to.id]: { state: 'active', linked: true },
    });
    await assertEverythingReveals(story, server, 'half-way through');
    const created = await createSecret(server, { tag: 'rekey-half-way' });
    assert.equal(await reveal(server, created.tag), created.value);
  });

  test('another rotation (a different new key) is refused while this one is unfinished', async (t) => {
    const { server } = (await rotationAt(t, 'half-way')).data;
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

  test('half-way, either key starts the service and reaches every value', async (t) => {
    const story = await rotationAt(t, 'half-way');
    for (const key of [K2, K3]) {
      const server = await story.data.start(key);
      await assertEverythingReveals(
        story,
        server,
        `half-way, restarted with ${key === K2 ? 'the old' : 'the new'} key`,
      );
    }
  });

  test('running it again with the same keys completes it; both runs together re-wrapped every version once', async (t) => {
    const story = await rotationAt(t, 'half-way');
    const server = await story.data.start(K3);
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
    // All but the one value written half-way, under the new key already.
    assert.equal(story.firstRun + result.rewrapped, total - 1, 'every version under the old key, once');
    assert.equal(await versionCount(server.store, to.id), total);
    assert.equal((await masterKeyStates(server.store))[from.id]?.state, 'retired');
    await assertEverythingReveals(story, server, 'after the resumed rotation');
  });

  test('afterwards the old key is refused ("retired") and the new key starts and reveals everything', async (t) => {
    const story = await rotationAt(t, 'rotated twice');
    for (const old of [K2, K1]) {
      const error = await story.data.refused(old);
      assert.ok(error instanceof KeyringError && /retired/.test(error.message), String(error));
    }
    const server = await story.data.start(K3);
    await assertEverythingReveals(story, server, 'after a restart with the newest key');
  });
});

describe('rekey refuses', { timeout: SUITE_TIMEOUT_MS }, () => {
  test('a current key that does not match, the active key as the new key, a retired key as the new key', async (t) => {
    const { server } = (await rotationAt(t, 'rotated twice')).data;
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
    const reply = await api(server)('GET', '/api/v1/secrets?pageSize=1', { token: server.adminToken });
    assert.equal(reply.status, 200);
  });
});
