/**
 * The leak scan (test/helpers/sensitive.ts), which runs whenever a test server closes, proved to
 * work: it finds each form of a registered string, it makes `close()` fail on a planted leak (so
 * it cannot pass by looking at nothing), and the calls most likely to leak — wrong tokens, secrets
 * in bodies that fail, in query strings, in oversized bodies, reveal, rotation, key changes — leave
 * nothing behind. Last, the real `tessera serve` process: its output and its data folder; and the
 * client commands: their output and the config folder they write (the stored login, the fallback
 * snapshot).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { masterKeyFrom } from '../../src/crypto/master-key.js';
import { generateToken, hashToken } from '../../src/crypto/tokens.js';
import { rekey } from '../../src/features/keyring/rekey.js';
import { spawnServer } from '../helpers/child-server.js';
import { clientCli } from '../helpers/client-cli.js';
import { createTestStore, testDialect } from '../helpers/database.js';
import { type CallOptions, client } from '../helpers/http.js';
import { api, createKey, flipChar, percentEncodedForms } from '../helpers/keys.js';
import { createSecret, marker, reveal } from '../helpers/secrets.js';
import {
  assertNoLeaks,
  databaseSources,
  dataFolderSources,
  describeStats,
  errorReplySources,
  type Finding,
  findLeaks,
  fingerprintOf,
  LeakError,
  leakScanStats,
  redacted,
  registerSensitive,
  type Sensitive,
  takeErrorReplies,
} from '../helpers/sensitive.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The findings of a rejected `close()`, or a failure if it was not a LeakError. */
async function findingsOfClose(server: TestServer): Promise<readonly Finding[]> {
  try {
    await server.close();
  } catch (error) {
    if (error instanceof LeakError) return error.findings;
    throw error;
  }
  return [];
}

/** Runs `fn` on a fresh server and closes it whatever happens; the findings of its scan. */
async function scanAfter(fn: (server: TestServer) => Promise<void>): Promise<readonly Finding[]> {
  const server = await startTestServer();
  try {
    await fn(server);
  } catch (error) {
    await findingsOfClose(server).catch(() => {});
    throw error;
  }
  return findingsOfClose(server);
}

describe('the scanner', () => {
  const token = generateToken();
  const value = 'pa"ss wörd/ünïcode + 100% €';
  before(() => {
    assert.equal(registerSensitive(token, 'token'), true);
    assert.equal(registerSensitive(value, 'secret value'), true);
  });

  test('finds a token in plaintext, hex, and base64 at each alignment inside a larger blob', () => {
    const bytes = Buffer.from(token);
    const sources = [
      { where: 'plain', content: `{"msg":"oops","token":"${token}"}` },
      { where: 'hex', content: `x=${bytes.toString('hex')};` },
      { where: 'HEX', content: `x=${bytes.toString('hex').toUpperCase()};` },
      ...[0, 1, 2].map((before) => ({
        where: `base64 after ${before} bytes`,
        content: Buffer.concat([randomBytes(before), bytes, randomBytes(5)]).toString('base64'),
      })),
      ...[0, 1, 2].map((before) => ({
        where: `base64url after ${before} bytes`,
        content: Buffer.concat([randomBytes(before), bytes, randomBytes(5)]).toString('base64url'),
      })),
    ];
    const found = new Set(findLeaks(sources).map((f) => f.where));
    assert.deepEqual(
      sources.map((s) => s.where).filter((where) => !found.has(where)),
      [],
      'forms not found',
    );
  });

  test('finds a value JSON-escaped, ASCII-escaped, URL-encoded and form-encoded', () => {
    const sources = [
      { where: 'JSON', content: JSON.stringify({ detail: value }) },
      { where: 'ASCII JSON', content: JSON.stringify({ detail: value }).replace(/[^\x20-\x7e]/g, escape16) },
      { where: 'URL', content: `/x?v=${encodeURIComponent(value)}` },
      { where: 'form', content: new URLSearchParams({ v: value }).toString() },
    ];
    const found = findLeaks(sources);
    assert.deepEqual(found.map((f) => f.where).sort(), ['ASCII JSON', 'JSON', 'URL', 'form']);
    assert.ok(found.every((f) => f.kind === 'secret value'));
  });

  test('finds a token percent-encoded in part or whole, a stray % before it or not', () => {
    const sources = percentEncodedForms(token).flatMap((form, i) => [
      { where: `form ${i}`, content: `{"instance":"/nope/${form}"}` },
      { where: `form ${i} after a stray %`, content: `/100%/%zz/${form}?x=%` },
    ]);
    const found = findLeaks(sources);
    assert.deepEqual(
      sources.map((s) => s.where).filter((where) => !found.some((f) => f.where === where)),
      [],
      'forms not found',
    );
    assert.ok(found.every((f) => f.encoding === 'percent-encoded, then plaintext'));
    // A finding's `where` may name the path it was found in: said redacted, so decoded first.
    for (const form of percentEncodedForms(token)) {
      assert.equal(redacted(`/nope/${form}`), `/nope/[token ${fingerprintOf(token)}]`);
    }
  });

  test("does not find what is stored by design: the token's SHA-256, a near-miss, a key's last4", () => {
    assert.deepEqual(
      findLeaks([
        { where: 'hash', content: hashToken(token) },
        { where: 'hash, base64', content: createHash('sha256').update(token).digest('base64') },
        { where: 'one character changed', content: flipChar(token, 20) },
        { where: 'cut short', content: token.slice(0, -1) },
      ]),
      [],
    );
    assert.equal(registerSensitive(token.slice(-4), 'token'), false, 'last4 is below the threshold');
    assert.equal(registerSensitive('v', 'secret value'), false);
    assert.equal(registerSensitive('x'.repeat(4096), 'secret value'), false, 'too few distinct characters');
  });

  test('a long value is looked for by its start', () => {
    const long = marker(5000);
    assert.equal(registerSensitive(long, 'secret value'), true);
    const found = findLeaks([{ where: 'truncated echo', content: `"${long.slice(0, 2000)}..."` }]);
    assert.deepEqual(
      found.map((f) => f.fingerprint),
      [`${long.slice(0, 4)}… (5000 chars)`],
    );
  });

  test('a source may hold what it allows, and only that', () => {
    const other = generateToken();
    registerSensitive(other, 'token');
    const found = findLeaks([
      { where: 'key file', content: `${token}\n${other}\n`, allows: (s) => s.text === token },
    ]);
    assert.deepEqual(
      found.map((f) => f.fingerprint),
      [`${other.slice(0, 4)}… (53 chars)`],
    );
  });

  test('the error names where, and never prints the string', () => {
    const error = new LeakError(findLeaks([{ where: 'log line 7', content: `"${token}"` }]));
    assert.match(error.message, /1 sensitive string\(s\) found/);
    assert.match(error.message, /token tsk_… \(53 chars\), plaintext, in log line 7 at offset 1/);
    assert.ok(!error.message.includes(token.slice(4, 12)), error.message);
  });
});

/** `\u00e9`: JSON's escape of one UTF-16 code unit. */
function escape16(unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

test('a planted leak fails close(): a log line, an error reply, a database row, a data file', async () => {
  let dataDir = '';
  const findings = await scanAfter(async (server) => {
    dataDir = server.dataDir;
    await plantLeaks(server);
  });
  // Each string is reported in the first form that matches: a JSON log line holds the quoted value
  // JSON-escaped; the token has no `+` or `/`, so its base64 and base64url forms are one.
  const summary = findings.map((f) => `${f.kind} | ${f.encoding} | ${f.where.replace(/ \d+/g, ' N')}`);
  for (const expected of [
    'secret value | JSON-escaped | log line N',
    'token | base64 | error reply N (POST /api/v1/secrets: N)',
    'token | hex | database api_keys row N column description',
    'token | base64 | database secrets row N column tag',
    'secret value | JSON-escaped, ASCII only | file export.json',
  ]) {
    assert.ok(summary.includes(expected), `not found: ${expected}\nfound:\n${summary.join('\n')}`);
  }
  assert.equal(existsSync(dataDir), false, 'the data folder is removed even when the scan fails');
});

/** One leak of each kind, each in another form, through real calls where the API allows it. */
async function plantLeaks(server: TestServer): Promise<void> {
  const key = await createKey(server);
  const value = 'planted "value" — ünïcode';
  await createSecret(server, { secret: value });
  // A log line with the value.
  server.logs.push(JSON.stringify({ level: 30, msg: `oops: ${value}` }));
  // A key description (stored as written) that is the token in hex.
  const described = await api(server)('PUT', `/api/v1/auth/key/${key.cid}`, {
    token: server.adminToken,
    body: { name: 'described', description: Buffer.from(key.apiKey).toString('hex') },
  });
  assert.equal(described.status, 200, described.text);
  // A tag that is the token in base64url: taking it twice is a 409 that quotes it.
  const tag = Buffer.from(key.apiKey).subarray(0, 51).toString('base64url');
  await createSecret(server, { tag });
  const conflict = await api(server)('POST', '/api/v1/secrets', {
    token: server.adminToken,
    body: { name: 'again', tag, secret: marker() },
  });
  assert.equal(conflict.status, 409, conflict.text);
  // A file in the data folder with the value as ASCII-only JSON.
  writeFileSync(
    join(server.dataDir, 'export.json'),
    JSON.stringify({ value }).replace(/[^\x20-\x7e]/g, escape16),
  );
}

describe('the risky paths leave nothing behind', () => {
  let server: TestServer | undefined;
  let start: ReturnType<typeof leakScanStats>;
  const VALUE = marker(48);
  const RAW_BODY_VALUE = marker(48);
  const NEXT_MASTER_KEY = randomBytes(32);
  let progress: string[] = [];
  let closed = false;
  // Should `before` fail half-way, the server must still stop (its failure is reported already).
  after(async () => {
    if (!closed) await server?.close().catch(() => {});
  });

  before(async () => {
    start = leakScanStats();
    server = await startTestServer();
    const call = api(server);
    const admin = { token: server.adminToken };
    const expect = async (status: number, reply: Promise<{ status: number; text: string }>) => {
      const { status: got, text } = await reply;
      assert.equal(got, status, text);
    };
    const user = await createKey(server, {
      roles: ['USER'],
      name: 'risky user',
      description: 'for the scan',
    });
    const readOnly = await createKey(server, { roles: ['READ_ONLY'] });
    const secret = await createSecret(server, { secret: VALUE });

    // Tokens that are wrong: unknown, altered, truncated, in the wrong scheme or header or query.
    const unknown = generateToken();
    const truncated = user.apiKey.slice(0, -3);
    for (const t of [unknown, truncated]) registerSensitive(t, 'token');
    const wrongTokens: CallOptions[] = [
      { token: unknown },
      { token: flipChar(user.apiKey, 10) },
      { token: truncated },
      { headers: { authorization: `Basic ${user.apiKey}` } },
      { headers: { authorization: `Bearer ${user.apiKey} ${server.adminToken}` } },
      { headers: { 'x-api-key': user.apiKey } },
    ];
    for (const options of wrongTokens) {
      await expect(401, call('GET', '/api/v1/me', options));
      await expect(401, call('GET', `/api/v1/secrets/${secret.tag}/value`, options));
    }
    await expect(401, call('GET', `/api/v1/me?token=${user.apiKey}&apiKey=${server.adminToken}`));
    await expect(403, call('GET', `/api/v1/secrets/${secret.tag}/value`, { token: readOnly.apiKey }));
    await expect(
      403,
      call('POST', '/api/v1/secrets', {
        token: readOnly.apiKey,
        body: { name: 'denied', tag: 'denied-tag', secret: VALUE },
      }),
    );

    // The value in bodies that fail: validation, malformed JSON, wrong type, too large.
    await expect(
      400,
      call('POST', '/api/v1/secrets', {
        ...admin,
        body: { name: 'n'.repeat(1000), tag: 'too-long-name', secret: VALUE },
      }),
    );
    await expect(
      400,
      call('POST', '/api/v1/secrets', {
        ...admin,
        body: { name: 'bad tag', tag: `-${VALUE}!`, secret: VALUE },
      }),
    );
    await expect(
      400,
      call('PUT', `/api/v1/secrets/${secret.tag}`, {
        ...admin,
        body: { name: ' ', secret: VALUE },
      }),
    );
    registerSensitive(RAW_BODY_VALUE, 'secret value');
    await expect(
      400,
      call('POST', '/api/v1/secrets', {
        ...admin,
        rawBody: `{"name":"n","tag":"malformed","secret":"${RAW_BODY_VALUE}"`,
        headers: { 'content-type': 'application/json' },
      }),
    );
    await expect(
      415,
      call('POST', '/api/v1/secrets', {
        ...admin,
        rawBody: `secret=${RAW_BODY_VALUE}`,
        headers: { 'content-type': 'text/plain' },
      }),
    );
    await expect(
      413,
      call('POST', '/api/v1/secrets', {
        ...admin,
        body: { name: 'big', tag: 'big', secret: `${RAW_BODY_VALUE} `.repeat(50_000) },
      }),
    );

    // The value in query strings.
    await expect(400, call('GET', `/api/v1/secrets/${secret.tag}/value?version=${VALUE}`, admin));
    await expect(400, call('GET', `/api/v1/secrets?page=${VALUE}&pageSize=${RAW_BODY_VALUE}`, admin));
    await expect(400, call('GET', `/api/v1/audit-logs?actorIdentifier=${user.apiKey}&page=${VALUE}`, admin));

    // What works: reveal, a new value, a rename, a rotation of the master key.
    assert.equal(await reveal(server, secret.tag), VALUE);
    await expect(
      200,
      call('PUT', `/api/v1/secrets/${secret.tag}`, { ...admin, body: { secret: RAW_BODY_VALUE } }),
    );
    await expect(200, call('PUT', `/api/v1/secrets/${secret.id}`, { ...admin, body: { name: 'renamed' } }));
    assert.equal(await reveal(server, secret.tag, 1), VALUE);
    registerSensitive(NEXT_MASTER_KEY, 'master key');
    progress = [];
    await rekey({
      store: server.store,
      current: masterKeyFrom(server.masterKey),
      next: masterKeyFrom(NEXT_MASTER_KEY),
      graceMs: 0,
      onProgress: (p) => progress.push(JSON.stringify(p)),
    });

    // Keys: renamed, listed, read, deleted; the deleted token refused afterwards.
    await expect(
      200,
      call('PUT', `/api/v1/auth/key/${user.cid}`, { ...admin, body: { name: 'renamed user' } }),
    );
    await expect(200, call('GET', '/api/v1/auth/key', admin));
    await expect(200, call('GET', `/api/v1/auth/key/${user.cid}`, admin));
    await expect(200, call('GET', '/api/v1/audit-logs?pageSize=100', admin));
    await expect(200, call('DELETE', `/api/v1/auth/key/${user.cid}`, admin));
    await expect(401, call('GET', '/api/v1/me', { token: user.apiKey }));
  });

  test('the rotation reported its progress without a key', () => {
    assert.ok(progress.length > 0);
    assertNoLeaks(progress.map((line, i) => ({ where: `rekey progress ${i}`, content: line })));
  });

  test('close(): the scan of logs, error replies, rows and files finds nothing', async (t) => {
    closed = true;
    await server?.close();
    const end = leakScanStats();
    const delta = Object.fromEntries(
      Object.entries(end).map(([name, n]) => [name, n - start[name as keyof typeof start]]),
    ) as typeof end;
    t.diagnostic(describeStats(delta));
    // Not vacuous: the scan saw this server's error replies, its rows and its files.
    assert.ok(delta.errorReplies >= 25, `only ${delta.errorReplies} error replies scanned`);
    assert.ok(delta.cells > 100, `only ${delta.cells} database cells scanned`);
    assert.equal(delta.unreadableDatabases, 0);
    if (testDialect() === 'sqlite') assert.ok(delta.files >= 1, 'no data file scanned');
  });
});

// A token pasted where a cid goes is recognisable (prefix and shape), percent-encoded or not: it is
// redacted from the 404's detail and `instance`, never logged (log lines name the route pattern, or
// a redacted path), and a denied call does not record it as the object.
test('a token put into a URL path appears nowhere', async () => {
  const findings = await scanAfter(async (server) => {
    const key = await createKey(server, { roles: ['READ_ONLY'] });
    const call = api(server);
    assert.equal(
      (await call('GET', `/api/v1/auth/key/${key.apiKey}`, { token: server.adminToken })).status,
      404,
    );
    assert.equal((await call('DELETE', `/api/v1/auth/key/${key.apiKey}`, { token: key.apiKey })).status, 403);
    assert.equal(
      (await call('GET', `/api/v1/no-such-route/${key.apiKey}`, { token: key.apiKey })).status,
      404,
    );
    // Percent-encoded, in part or whole: in a route's path, in no route's, and in a query string.
    for (const form of percentEncodedForms(key.apiKey)) {
      assert.equal((await call('GET', `/api/v1/auth/key/${form}`, { token: server.adminToken })).status, 404);
      assert.equal((await call('DELETE', `/api/v1/auth/key/${form}`, { token: key.apiKey })).status, 403);
      assert.equal((await call('GET', `/nope/${form}`)).status, 404);
      assert.equal((await call('GET', `/nope/x?apiKey=${form}&token=${form}`)).status, 404);
      assert.equal(
        (
          await call('GET', `/api/v1/audit-logs?actorIdentifier=${form}&page=${form}`, {
            token: server.adminToken,
          })
        ).status,
        400,
      );
    }
  });
  assert.deepEqual(
    findings.map((f) => `${f.kind} in ${f.where}`),
    [],
  );
});

// A value pasted where a tag goes cannot be recognised. It is never logged or audited; only the
// reply to the caller who sent it quotes it back (the 404's `instance` is the request's own path).
test('a value put into a URL path is neither logged nor audited, only quoted back to its sender', async () => {
  const findings = await scanAfter(async (server) => {
    const key = await createKey(server, { roles: ['READ_ONLY'] });
    const secret = await createSecret(server);
    const call = api(server);
    assert.equal(
      (await call('GET', `/api/v1/secrets/${secret.value}`, { token: server.adminToken })).status,
      404,
    );
    assert.equal(
      (await call('GET', `/api/v1/secrets/${secret.value}/value`, { token: key.apiKey })).status,
      403,
    );
  });
  const elsewhere = findings.filter((f) => !f.where.startsWith('error reply'));
  assert.deepEqual(
    elsewhere.map((f) => `${f.kind} in ${f.where}`),
    [],
  );
});

describe('tessera serve: its output and its data folder', () => {
  const skip =
    testDialect() === 'sqlite' ? false : 'runs in the SQLite pass only (a process, the embedded default)';
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-leak-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('no token, value or master key outside the two key files made for them', { skip }, async () => {
    const node = spawnServer('leak', {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_LOG_LEVEL: 'debug',
    });
    let token: string;
    let masterKey: Buffer;
    try {
      await node.healthy;
      token = readFileSync(join(dataDir, 'bootstrap-admin.key'), 'utf8').trim();
      masterKey = Buffer.from(readFileSync(join(dataDir, 'master.key'), 'utf8').trim(), 'base64');
      registerSensitive(token, 'token');
      registerSensitive(masterKey, 'master key');
      const call = client(node.url);
      const key = await call('POST', '/api/v1/auth/key', {
        token,
        body: { name: 'ci', roles: [{ type: 'DEFAULT', role: 'USER' }] },
      });
      assert.equal(key.status, 200, key.text);
      const value = marker();
      const created = await call('POST', '/api/v1/secrets', {
        token: key.body.apiKey,
        body: { name: 'db', tag: 'db-password', secret: value },
      });
      assert.equal(created.status, 200, created.text);
      assert.equal((await call('GET', '/api/v1/secrets/db-password/value', { token })).body.value, value);
      assert.equal((await call('GET', '/api/v1/me', { token: flipChar(token, 9) })).status, 401);
      assert.equal((await call('GET', '/api/v1/me', { token: generateToken() })).status, 401);
      const bad = await call('POST', '/api/v1/secrets', {
        token,
        body: { name: 'n'.repeat(300), tag: 'db-2', secret: value },
      });
      assert.equal(bad.status, 400, bad.text);
    } finally {
      await node.stop();
    }

    const { store, dispose } = await createTestStore(dataDir);
    let rows: Awaited<ReturnType<typeof databaseSources>>;
    try {
      rows = await databaseSources(store);
    } finally {
      await dispose();
    }
    assertNoLeaks([
      ...node.stdout.map((line, i) => ({ where: `stdout line ${i}`, content: line })),
      ...node.stderr.map((line, i) => ({ where: `stderr line ${i}`, content: line })),
      ...errorReplySources(takeErrorReplies(node.url)),
      ...rows,
      ...dataFolderSources(dataDir, { bootstrapToken: token, masterKey }),
    ]);
    // The rule was needed: without it, exactly the two key files hold what they are for.
    assert.deepEqual(
      findLeaks(dataFolderSources(dataDir))
        .map((f) => `${f.kind} in ${f.where}`)
        .sort(),
      ['master key in file master.key', 'token in file bootstrap-admin.key'],
    );
  });
});

describe('the client commands: their config folder and their output', () => {
  test('the stored login holds its own token and nothing else; the fallback snapshot, nothing', async () => {
    const server = await startTestServer();
    try {
      const cli = clientCli(undefined);
      // clientCli scans every command's standard error, and standard output unless it prints by design.
      const login = await cli.run(['login', '--url', server.url], { input: server.adminToken });
      assert.equal(login.status, 0, login.stderr);
      const value = marker();
      registerSensitive(value, 'secret value');
      assert.equal((await cli.run(['secrets', 'set', 'leak-db'], { input: value })).status, 0);
      const created = await cli.run(['keys', 'create', '--name', 'ci', '--role', 'USER'], { prints: true });
      registerSensitive(created.stdout.trim(), 'token');
      assert.equal((await cli.run(['secrets', 'list'])).status, 0);
      assert.equal((await cli.run(['secrets', 'reveal', 'no-such-tag'])).status, 1);
      const env = { TESSERA_FALLBACK_PASSPHRASE: `passphrase-${marker(16)}` };
      registerSensitive(env.TESSERA_FALLBACK_PASSPHRASE, 'secret value');
      const fallback = join(cli.configHome, 'tessera', 'fallback.snapshot');
      const ran = await cli.run(['run', '--tags', 'leak-db', '--fallback', fallback, '--', 'true'], { env });
      assert.equal(ran.status, 0, ran.stderr);
      const refused = await clientCli(server.url, flipChar(server.adminToken, 9)).run(['run', '--', 'true']);
      assert.equal(refused.status, 1);

      const sources = dataFolderSources(cli.configHome).map((source) => ({
        ...source,
        allows: (s: Sensitive) =>
          source.where === join('file tessera', 'credentials.json') && s.text === server.adminToken,
      }));
      assert.deepEqual(sources.map((s) => s.where).sort(), [
        join('file tessera', 'credentials.json'),
        join('file tessera', 'fallback.snapshot'),
      ]);
      assertNoLeaks(sources);
      // The allowance was needed: the login's file holds the token it is for.
      assert.deepEqual(
        findLeaks(dataFolderSources(cli.configHome)).map((f) => `${f.kind} in ${f.where}`),
        [`token in ${join('file tessera', 'credentials.json')}`],
      );
    } finally {
      await server.close();
    }
  });
});
