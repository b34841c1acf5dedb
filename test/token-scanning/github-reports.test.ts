/**
 * Leaked-token reports in GitHub's secret-scanning partner format, with signing keys made here:
 * a signed report revokes the live keys it names and labels them true positives; a bad signature,
 * an unknown key id or a tampered body is 401 and revokes nothing.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/config-error.js';
import { generateToken, hashToken } from '../../src/crypto/tokens.js';
import { readScanningKeys } from '../../src/features/token-scanning/scanning-keys.js';
import { auditRows } from '../helpers/audit.js';
import { createKey, deleteKey } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { useTestServer } from '../helpers/server.js';

function keyPair() {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}
const current = keyPair();
const older = keyPair();
const stranger = keyPair();
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();

const folder = mkdtempSync(join(tmpdir(), 'tessera-scanning-'));
const keysFile = join(folder, 'keys.json');
writeFileSync(
  keysFile,
  JSON.stringify({
    public_keys: [
      { key_identifier: 'current-key', key: pem(current.publicKey), is_current: true },
      { key_identifier: 'older-key', key: pem(older.publicKey), is_current: false },
    ],
  }),
);

const suite = useTestServer({ app: { scanningKeys: readScanningKeys(keysFile) } });

/** POSTs `body` as GitHub would, signed by `signer` under `keyId`. */
function report(body: string, keyId: string, signer: KeyObject, sent = body) {
  const signature = sign('sha256', Buffer.from(body), { key: signer, dsaEncoding: 'der' }).toString('base64');
  return fetch(`${suite.server.url}/api/v1/token-scanning/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'github-public-key-identifier': keyId,
      'github-public-key-signature': signature,
    },
    body: sent,
  });
}
const reportOf = (...tokens: string[]) =>
  JSON.stringify(
    tokens.map((token) => ({
      token,
      type: 'tessera_api_token',
      url: 'https://example.com/leak',
      source: 'content',
    })),
  );
const works = async (token: string) => (await suite.call('GET', '/api/v1/me', { token })).status === 200;

describe('a signed report', () => {
  test('revokes the live keys it names, at once, and labels each token', async () => {
    const leaked = await createKey(suite.server);
    const deleted = await createKey(suite.server);
    await deleteKey(suite.server, deleted.cid);
    const bystander = await createKey(suite.server);
    assert.ok(await works(leaked.apiKey), 'cached before the report');
    const unknown = generateToken();
    const malformed = `${leaked.apiKey.slice(0, -1)}x`;
    const reply = await report(
      reportOf(leaked.apiKey, unknown, deleted.apiKey, malformed),
      'current-key',
      current.privateKey,
    );
    assert.equal(reply.status, 200);
    assert.deepEqual(await reply.json(), [
      { token_hash: hashToken(leaked.apiKey), token_type: 'tessera_api_token', label: 'true_positive' },
      { token_hash: hashToken(unknown), token_type: 'tessera_api_token', label: 'false_positive' },
      { token_hash: hashToken(deleted.apiKey), token_type: 'tessera_api_token', label: 'false_positive' },
      { token_hash: hashToken(malformed), token_type: 'tessera_api_token', label: 'false_positive' },
    ]);
    assert.equal(await works(leaked.apiKey), false, 'the leaked token is refused from the next request on');
    assert.ok(await works(bystander.apiKey), 'other keys are untouched');
    const event = (await auditRows(suite.server)).find(
      (row) => row.object_id === leaked.cid && row.action === 'DELETE',
    );
    assert.equal(event?.actor_type, 'SYSTEM');
    assert.equal(event?.actor_id, 'token-scanning');
    assert.equal(event?.detail, 'token reported leaked at https://example.com/leak');
    assert.ok(!JSON.stringify(await auditRows(suite.server)).includes(leaked.apiKey), 'no token in the log');
  });

  test('by a key that is listed but no longer current still counts', async () => {
    const leaked = await createKey(suite.server);
    const reply = await report(reportOf(leaked.apiKey), 'older-key', older.privateKey);
    assert.equal(reply.status, 200);
    assert.equal(await works(leaked.apiKey), false);
  });
});

describe('a report not signed by a configured key', () => {
  test('is 401 and revokes nothing: unknown key id, wrong key, tampered body, no signature', async () => {
    const target = await createKey(suite.server);
    const body = reportOf(target.apiKey);
    const replies = [
      await report(body, 'no-such-key', current.privateKey),
      await report(body, 'current-key', stranger.privateKey),
      await report(body, 'current-key', current.privateKey, body.replace('content', 'commit')),
      await fetch(`${suite.server.url}/api/v1/token-scanning/github`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      }),
    ];
    for (const reply of replies) {
      assert.equal(reply.status, 401);
      const problem = (await reply.json()) as { type: string; detail: string };
      assert.equal(problem.type, 'UNAUTHORIZED');
      assert.ok(!problem.detail.includes(target.apiKey));
    }
    assert.ok(await works(target.apiKey), 'nothing was revoked');
  });
});

describe('without TESSERA_SCANNING_PUBLIC_KEYS_FILE', () => {
  const plain = useTestServer();
  test('the endpoint does not exist, and the API reference does not list it', async () => {
    const reply = await plain.call('POST', '/api/v1/token-scanning/github', { body: [] });
    assertProblem(reply, 404, 'NOT_FOUND');
    const document = await plain.call('GET', '/api/v1/openapi.json');
    assert.equal(document.body.paths['/api/v1/token-scanning/github'], undefined);
  });
});

test('a keys file that is not JSON, empty, or holds a key of another kind stops start-up', () => {
  const write = (name: string, text: string) => {
    const file = join(folder, name);
    writeFileSync(file, text);
    return file;
  };
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  for (const file of [
    write('bad.json', 'not json'),
    write('empty.json', JSON.stringify({ public_keys: [] })),
    write('rsa.json', JSON.stringify({ public_keys: [{ key_identifier: 'k', key: pem(rsa) }] })),
    join(folder, 'missing.json'),
  ]) {
    assert.throws(
      () => readScanningKeys(file),
      (error) => error instanceof ConfigError && /TESSERA_SCANNING_PUBLIC_KEYS_FILE/.test(error.message),
    );
  }
});
