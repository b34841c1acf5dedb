/**
 * SPEC §7: restarting over existing data. The right master key reads every value; a wrong key
 * is a clear start-up error (KeyringError) that names the problem, never the key, and writes
 * nothing. Every test starts from its own data folder, written and left by a first server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import { KeyringError } from '../../src/features/keyring/keyring.js';
import { type KeptData, keptDataFor } from '../helpers/kept-data.js';
import { changeValue, createSecret, reveal, tableSnapshot, withStoreOf } from '../helpers/secrets.js';

const TABLES = ['master_keys', 'secrets', 'secret_versions', 'api_keys'] as const;

/** A test's data folder, and what the first server wrote to it. */
interface Written {
  data: KeptData;
  masterKey: Buffer;
  /** tag → [value of version 1, value of version 2, ...] */
  values: Map<string, string[]>;
}

/** A data folder for the test `t`: twenty secrets, three with a second version, written by a server that then stopped. */
async function writtenAndStopped(t: TestContext): Promise<Written> {
  const data = keptDataFor(t);
  const masterKey = randomBytes(32);
  const server = await data.start(masterKey);
  const values = new Map<string, string[]>();
  for (let i = 0; i < 20; i++) {
    const secret = await createSecret(server, { tag: `restart-${i}` });
    values.set(secret.tag, [secret.value]);
  }
  for (const i of [3, 7, 11]) {
    const tag = `restart-${i}`;
    const next = `second value of ${tag} ${randomBytes(8).toString('hex')}`;
    await changeValue(server, tag, next);
    values.get(tag)?.push(next);
  }
  await data.stop();
  return { data, masterKey, values };
}

const snapshot = (data: KeptData) => tableSnapshot(data.dataDir, ...TABLES);

/** A start over `data` with `key` that must be refused with a KeyringError: the error. */
async function refusedWith(data: KeptData, key: Buffer): Promise<KeyringError> {
  const error = await data.refused(key);
  assert.ok(error instanceof KeyringError, `not a KeyringError: ${String(error)}`);
  assert.equal(error.name, 'KeyringError');
  return error;
}

/** Every form in which a key could leak into a message. */
function keyForms(key: Buffer): string[] {
  return [
    key.toString('base64'),
    key.toString('base64url'),
    key.toString('hex'),
    key.toString('hex').toUpperCase(),
  ];
}

describe('a restart over existing data', { timeout: 60_000 }, () => {
  test('a different master key: KeyringError naming the problem, not the key; nothing written', async (t) => {
    const { data, masterKey } = await writtenAndStopped(t);
    const before = await snapshot(data);
    const wrong = randomBytes(32);
    const error = await refusedWith(data, wrong);
    assert.match(error.message, /does not match/);
    for (const form of [...keyForms(wrong), ...keyForms(masterKey)]) {
      assert.ok(!error.message.includes(form), `the message shows a key: ${error.message}`);
    }
    assert.deepEqual(await snapshot(data), before);
  });

  test('a key that differs from the right one in a single bit is refused the same way', async (t) => {
    const { data, masterKey } = await writtenAndStopped(t);
    const before = await snapshot(data);
    const nearly = Buffer.from(masterKey);
    nearly[31] = (nearly[31] as number) ^ 0x01;
    const error = await refusedWith(data, nearly);
    assert.match(error.message, /does not match/);
    assert.deepEqual(await snapshot(data), before);
  });

  test('the same key again: every value (and every kept version) reveals', async (t) => {
    const { data, masterKey, values } = await writtenAndStopped(t);
    const server = await data.start(masterKey);
    await Promise.all(
      [...values].map(async ([tag, versions]) => {
        assert.equal(await reveal(server, tag), versions.at(-1), tag);
        for (const [i, value] of versions.entries()) assert.equal(await reveal(server, tag, i + 1), value);
      }),
    );
    // New writes go on working after the restart.
    const fresh = await createSecret(server);
    assert.equal(await reveal(server, fresh.tag), fresh.value);
    // Closed here rather than after the test, so the leak scan of what it served is part of it.
    await data.stop();
  });

  test('encrypted values without any master-key record: refused, and no key is adopted', async (t) => {
    const { data, masterKey } = await writtenAndStopped(t);
    await withStoreOf(data.dataDir, async (db) => {
      await db.deleteFrom('master_keys').execute();
    });
    const error = await refusedWith(data, masterKey);
    assert.match(error.message, /no master key record/);
    // Fail closed: the configured key was not recorded as the data's key.
    assert.deepEqual(await tableSnapshot(data.dataDir, 'master_keys'), { master_keys: [] });
  });
});
