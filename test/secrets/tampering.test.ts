/**
 * SPEC §7 and §3: ciphertext is authenticated and bound to its secret and version. Bytes changed
 * or moved in the database make the reveal fail with a bare 500 — never garbage, never another
 * secret's value, never internals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/database.js';
import { api } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { changeValue, createSecret, marker, reveal, revealReply, withStoreOf } from '../helpers/secrets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Column = 'value_iv' | 'value_data' | 'dek_iv' | 'dek_data';
const COLUMNS: readonly Column[] = ['value_iv', 'value_data', 'dek_iv', 'dek_data'];

const values = new Map<string, string>();
let server: TestServer;

type Db = Kysely<Database>;

async function readVersion(db: Db, tag: string, version: number) {
  return db
    .selectFrom('secret_versions')
    .innerJoin('secrets', 'secrets.id', 'secret_versions.secret_id')
    .select(['secret_id', 'version', ...COLUMNS])
    .where('secrets.tag', '=', tag)
    .where('version', '=', version)
    .executeTakeFirstOrThrow();
}

async function writeVersion(
  db: Db,
  secretId: string,
  version: number,
  changes: Partial<Record<Column, Buffer>>,
) {
  const result = await db
    .updateTable('secret_versions')
    .set(changes)
    .where('secret_id', '=', secretId)
    .where('version', '=', version)
    .executeTakeFirst();
  assert.equal(Number(result.numUpdatedRows), 1);
}

function flipped(bytes: Buffer, index: number): Buffer {
  const copy = Buffer.from(bytes);
  const at = index < 0 ? copy.length + index : index;
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
}

before(async () => {
  const first = await startTestServer({ keepData: true });
  for (const tag of [
    'control',
    'value-flipped',
    'value-tag-flipped',
    'dek-flipped',
    'value-iv-flipped',
    'dek-iv-flipped',
    'truncated',
    'moved-from',
    'moved-to',
    'version-moved',
  ]) {
    const value = marker(48);
    values.set(tag, value);
    await createSecret(first, { tag, secret: value });
  }
  values.set('version-moved-2', marker(48));
  await changeValue(first, 'version-moved', values.get('version-moved-2') as string);
  const { dataDir, masterKey, adminToken } = first;
  await first.close();

  // Tamper with the database directly, the server down.
  await withStoreOf(dataDir, async (db) => {
    const flip = async (tag: string, column: Column, index: number) => {
      const row = await readVersion(db, tag, 1);
      await writeVersion(db, row.secret_id, 1, { [column]: flipped(row[column], index) });
    };
    await flip('value-flipped', 'value_data', 0);
    await flip('value-tag-flipped', 'value_data', -1);
    await flip('dek-flipped', 'dek_data', 5);
    await flip('value-iv-flipped', 'value_iv', 0);
    await flip('dek-iv-flipped', 'dek_iv', 11);
    const truncated = await readVersion(db, 'truncated', 1);
    await writeVersion(db, truncated.secret_id, 1, { value_data: truncated.value_data.subarray(0, 8) });
    // Secret A's ciphertext and wrapped key, all four columns, over secret B's.
    const from = await readVersion(db, 'moved-from', 1);
    const to = await readVersion(db, 'moved-to', 1);
    await writeVersion(db, to.secret_id, 1, {
      value_iv: from.value_iv,
      value_data: from.value_data,
      dek_iv: from.dek_iv,
      dek_data: from.dek_data,
    });
    // Version 1 of a secret over its own version 2.
    const v1 = await readVersion(db, 'version-moved', 1);
    await writeVersion(db, v1.secret_id, 2, {
      value_iv: v1.value_iv,
      value_data: v1.value_data,
      dek_iv: v1.dek_iv,
      dek_data: v1.dek_data,
    });
  });

  server = await startTestServer({ dataDir, masterKey, adminToken });
});
after(async () => server?.close());

/** Asserts the bare 500 and that nothing of the secret or the machinery shows. */
function assertOpaque500(reply: Awaited<ReturnType<typeof revealReply>>) {
  const problem = assertProblem(reply, 500, 'UNHANDLED_EXCEPTION');
  const text = reply.text;
  for (const word of [
    'secret_versions',
    'decrypt',
    'authentication',
    'cipher',
    'master key',
    'DecryptionError',
    'sqlite',
    'stack',
  ]) {
    assert.ok(!text.toLowerCase().includes(word.toLowerCase()), `'${word}' in the 500 body: ${text}`);
  }
  assert.ok(!/\bat .+\(.*:\d+:\d+\)/.test(text) && !text.includes('.ts:'), `a stack trace: ${text}`);
  for (const value of values.values()) assert.ok(!text.includes(value), 'a secret value in the 500 body');
  assert.equal(problem.violations, undefined);
}

test('control: an untouched secret still reveals after the restart', async () => {
  assert.equal(await reveal(server, 'control'), values.get('control'));
});

describe('a changed byte: 500 UNHANDLED_EXCEPTION with nothing internal in it', () => {
  for (const [tag, what] of [
    ['value-flipped', 'the first ciphertext byte'],
    ['value-tag-flipped', 'the last byte (the GCM tag)'],
    ['dek-flipped', 'a byte of the wrapped data key'],
    ['value-iv-flipped', 'a byte of the value nonce'],
    ['dek-iv-flipped', 'a byte of the data-key nonce'],
    ['truncated', 'the ciphertext cut to 8 bytes'],
  ] as const) {
    test(what, async () => {
      assertOpaque500(await revealReply(server, tag));
      // The secret itself is still there: only its value cannot be read.
      const read = await api(server)('GET', `/api/v1/secrets/${tag}`, { token: server.adminToken });
      assert.equal(read.status, 200, read.text);
    });
  }
});

describe('moved ciphertext does not decrypt', () => {
  test("secret A's columns over secret B's: B's reveal is a 500, not A's value", async () => {
    const reply = await revealReply(server, 'moved-to');
    assertOpaque500(reply);
    assert.ok(!reply.text.includes(values.get('moved-from') as string));
    // A itself is untouched.
    assert.equal(await reveal(server, 'moved-from'), values.get('moved-from'));
  });

  test("version 1's columns over version 2 of the same secret: version 2 is a 500", async () => {
    assertOpaque500(await revealReply(server, 'version-moved'));
    assertOpaque500(await revealReply(server, 'version-moved', { version: 2 }));
    assert.equal(await reveal(server, 'version-moved', 1), values.get('version-moved'));
  });
});

test('the failures are logged with the request id, and no value is logged', async () => {
  const reply = await revealReply(server, 'value-flipped');
  const requestId = reply.body.requestId as string;
  const lines = server.logs.filter((line) => line.includes(requestId));
  assert.ok(
    lines.some((line) => /"level":(50|"error")/.test(line)),
    `no error logged for ${requestId}: ${lines.join('')}`,
  );
  const logs = server.logs.join('\n');
  for (const value of values.values()) assert.ok(!logs.includes(value), 'a value in the logs');
});

test('a new value replaces a tampered one and reveals again', async () => {
  await changeValue(server, 'value-flipped', 'fresh value');
  assert.equal(await reveal(server, 'value-flipped'), 'fresh value');
  assertOpaque500(await revealReply(server, 'value-flipped', { version: 1 }));
});
