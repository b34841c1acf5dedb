/**
 * SPEC §7: secret values are encrypted at rest. Every file of the data folder (the database, its
 * WAL and shared memory, anything else) is scanned for the plaintexts, as bytes, base64 and hex.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { postgresFlavour, testDialect } from '../helpers/database.js';
import { api } from '../helpers/keys.js';
import {
  changeValue,
  createSecret,
  encodingsOf,
  filesUnder,
  findInFiles,
  marker,
  removeTestData,
  reveal,
  withStoreOf,
} from '../helpers/secrets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// On a PostgreSQL server the data is not in the data folder: there is nothing to scan.
const skip =
  testDialect() === 'postgres' && postgresFlavour() === 'server' ? 'data lives on the server' : false;

const needles: Record<string, Buffer> = {};
let server: TestServer;
let dataDir: string;
let big: string;
let small: string;
let closed = false;

before(async () => {
  if (skip) return;
  server = await startTestServer({ keepData: true });
  dataDir = server.dataDir;
  small = marker(40);
  big = marker(64 * 1024);
  const renamed = marker(40);
  const replaced = marker(40);
  const deleted = marker(40);
  const utf8 = `${marker(20)}-пароль-🔑-${marker(20)}`;
  await createSecret(server, { secret: small, tag: 'at-rest-small' });
  await createSecret(server, { secret: big, tag: 'at-rest-big' });
  await createSecret(server, { secret: utf8, tag: 'at-rest-utf8' });
  const changed = await createSecret(server, { secret: replaced });
  await changeValue(server, changed.id, renamed);
  const gone = await createSecret(server, { secret: deleted });
  assert.equal(
    (await api(server)('DELETE', `/api/v1/secrets/${gone.id}`, { token: server.adminToken })).status,
    200,
  );
  // The same plaintext twice: each must get its own data key and nonce.
  await createSecret(server, { secret: small, tag: 'at-rest-small-again' });
  assert.equal(await reveal(server, 'at-rest-big'), big);
  Object.assign(
    needles,
    encodingsOf('40-character value', small),
    encodingsOf('64 KiB value', big),
    encodingsOf('first 4 KiB of the 64 KiB value', big.slice(0, 4096)),
    encodingsOf('UTF-8 value', utf8),
    encodingsOf('replaced value', replaced),
    encodingsOf('current value', renamed),
    encodingsOf('deleted value', deleted),
    encodingsOf('master key', server.masterKey),
  );
});

after(async () => {
  if (!closed) await server?.close();
  if (dataDir !== undefined) await removeTestData(dataDir);
});

test('no plaintext (nor the master key) in any file while the server runs', { skip }, async () => {
  assert.ok(filesUnder(dataDir).length > 0);
  assert.deepEqual(findInFiles(dataDir, needles), []);
  const logs = Buffer.from(server.logs.join('\n'));
  const inLogs = Object.entries(needles).filter(([, needle]) => logs.includes(needle));
  assert.deepEqual(
    inLogs.map(([label]) => label),
    [],
    'plaintext in the logs',
  );
});

test('no plaintext (nor the master key) in any file after the server has closed', { skip }, async () => {
  await server.close();
  closed = true;
  const files = filesUnder(dataDir);
  if (testDialect() === 'sqlite')
    assert.ok(
      files.some((f) => f.endsWith('tessera.db')),
      files.join(', '),
    );
  assert.deepEqual(findInFiles(dataDir, needles), []);
});

test('the scan would find a plaintext that was there (control)', { skip }, async () => {
  // The database holds the tags, which are stored as plain text: the scan must see them.
  assert.notDeepEqual(findInFiles(dataDir, { tag: Buffer.from('at-rest-small-again') }), []);
});

test('stored values are ciphertext: longer than the plaintext by the tag, and never equal for equal plaintexts', {
  skip,
}, async () => {
  const rows = await withStoreOf(dataDir, (db) =>
    db
      .selectFrom('secret_versions')
      .innerJoin('secrets', 'secrets.id', 'secret_versions.secret_id')
      .select(['secrets.tag', 'value_iv', 'value_data', 'dek_iv', 'dek_data'])
      .where('secrets.tag', 'in', ['at-rest-small', 'at-rest-small-again', 'at-rest-big'])
      .execute(),
  );
  const byTag = new Map(rows.map((r) => [r.tag, r]));
  const a = byTag.get('at-rest-small');
  const b = byTag.get('at-rest-small-again');
  const large = byTag.get('at-rest-big');
  assert.ok(a && b && large);
  assert.equal(a.value_data.length, 40 + 16);
  assert.equal(large.value_data.length, 64 * 1024 + 16);
  assert.equal(a.value_iv.length, 12);
  assert.notDeepEqual(a.value_data, b.value_data);
  assert.notDeepEqual(a.value_iv, b.value_iv);
  assert.notDeepEqual(a.dek_data, b.dek_data);
  assert.ok(!a.value_data.includes(Buffer.from(small)));
});
