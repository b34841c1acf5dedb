/**
 * SPEC §7: restarting over existing data. The right master key reads every value; a wrong key
 * is a clear start-up error (KeyringError) that names the problem, never the key, and writes
 * nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { KeyringError } from '../../src/features/keyring/keyring.js';
import {
  changeValue,
  createSecret,
  removeTestData,
  reveal,
  tableSnapshot,
  withStoreOf,
} from '../helpers/secrets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const TABLES = ['master_keys', 'secrets', 'secret_versions', 'api_keys'] as const;

let dataDir: string;
let masterKey: Buffer;
let adminToken: string;
/** tag → [value of version 1, value of version 2, ...] */
const written = new Map<string, string[]>();
let running: TestServer | undefined;

before(async () => {
  const server = await startTestServer({ keepData: true });
  ({ dataDir, masterKey, adminToken } = server);
  for (let i = 0; i < 20; i++) {
    const secret = await createSecret(server, { tag: `restart-${i}` });
    written.set(secret.tag, [secret.value]);
  }
  for (const i of [3, 7, 11]) {
    const tag = `restart-${i}`;
    const next = `second value of ${tag} ${randomBytes(8).toString('hex')}`;
    await changeValue(server, tag, next);
    written.get(tag)?.push(next);
  }
  await server.close();
});
after(async () => {
  await running?.close();
  if (dataDir !== undefined) await removeTestData(dataDir);
});

const snapshot = () => tableSnapshot(dataDir, ...TABLES);

/** Every form in which a key could leak into a message. */
function keyForms(key: Buffer): string[] {
  return [
    key.toString('base64'),
    key.toString('base64url'),
    key.toString('hex'),
    key.toString('hex').toUpperCase(),
  ];
}

async function startRefused(key: Buffer): Promise<KeyringError> {
  try {
    running = await startTestServer({ dataDir, keepData: true, masterKey: key, adminToken });
  } catch (error) {
    assert.ok(error instanceof KeyringError, `not a KeyringError: ${String(error)}`);
    assert.equal(error.name, 'KeyringError');
    return error;
  }
  await running.close();
  running = undefined;
  assert.fail('the server started with a wrong master key');
}

test('a different master key: KeyringError naming the problem, not the key; nothing written', async () => {
  const before = await snapshot();
  const wrong = randomBytes(32);
  const error = await startRefused(wrong);
  assert.match(error.message, /does not match/);
  for (const form of [...keyForms(wrong), ...keyForms(masterKey)]) {
    assert.ok(!error.message.includes(form), `the message shows a key: ${error.message}`);
  }
  assert.deepEqual(await snapshot(), before);
});

test('a key that differs from the right one in a single bit is refused the same way', async () => {
  const before = await snapshot();
  const nearly = Buffer.from(masterKey);
  nearly[31] = (nearly[31] as number) ^ 0x01;
  const error = await startRefused(nearly);
  assert.match(error.message, /does not match/);
  assert.deepEqual(await snapshot(), before);
});

test('the same key again: every value (and every kept version) reveals', async () => {
  running = await startTestServer({ dataDir, keepData: true, masterKey, adminToken });
  const server = running;
  await Promise.all(
    [...written].map(async ([tag, versions]) => {
      assert.equal(await reveal(server, tag), versions.at(-1), tag);
      for (const [i, value] of versions.entries()) assert.equal(await reveal(server, tag, i + 1), value);
    }),
  );
  // New writes go on working after the restart.
  const fresh = await createSecret(server);
  assert.equal(await reveal(server, fresh.tag), fresh.value);
  await server.close();
  running = undefined;
});

test('encrypted values without any master-key record: refused, and no key is adopted', async () => {
  await withStoreOf(dataDir, async (db) => {
    await db.deleteFrom('master_keys').execute();
  });
  const error = await startRefused(masterKey);
  assert.match(error.message, /no master key record/);
  // Fail closed: the configured key was not recorded as the data's key.
  assert.deepEqual(await tableSnapshot(dataDir, 'master_keys'), { master_keys: [] });
});
