/**
 * The client commands against a real server, as a user runs them (child processes): login and
 * logout (the stored token's file and folder modes, a refused token stored nowhere), keys and
 * secrets with their happy paths and their errors (a problem's detail, violations and requestId
 * on standard error, a non-zero exit), and a server that cannot be reached. Every command's
 * output goes through the leak scan (test/helpers/client-cli.ts).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort } from '../helpers/child-server.js';
import { clientCli } from '../helpers/client-cli.js';
import { testDialect } from '../helpers/database.js';
import { createKey } from '../helpers/keys.js';
import { createSecret, marker, reveal, uniqueTag } from '../helpers/secrets.js';
import { registerSensitive } from '../helpers/sensitive.js';
import { useTestServer } from '../helpers/server.js';

const REQUEST_ID = /\(requestId req_[0-9A-Za-z]+\)/;

describe(`the client commands (${testDialect()})`, () => {
  const suite = useTestServer();
  const admin = () => clientCli(suite.server.url, suite.server.adminToken);

  test('login stores URL and token (file 0600, folder 0700); commands use it; logout removes it', async () => {
    const cli = clientCli(undefined);
    const loggedIn = await cli.run(['login', '--url', suite.server.url], {
      input: `${suite.server.adminToken}\n`,
    });
    assert.equal(loggedIn.status, 0, loggedIn.stderr);
    assert.match(loggedIn.stderr, /Logged in to http:\/\/127\.0\.0\.1:\d+ as bootstrap \(ak[0-9a-f]{16}\)/);
    const folder = join(cli.configHome, 'tessera');
    const file = join(folder, 'credentials.json');
    assert.equal(statSync(folder).mode & 0o777, 0o700);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {
      url: suite.server.url,
      token: suite.server.adminToken,
    });

    const listed = await cli.run(['keys', 'list', '--json']);
    assert.equal(listed.status, 0, listed.stderr);
    assert.ok((JSON.parse(listed.stdout) as { name: string }[]).some((key) => key.name === 'bootstrap'));

    // A stored token goes only to the server it was stored for.
    const elsewhere = await cli.run(['secrets', 'list'], { env: { TESSERA_URL: 'http://127.0.0.1:9' } });
    assert.equal(elsewhere.status, 2);
    assert.match(elsewhere.stderr, /stored login is for/);

    const out = await cli.run(['logout']);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(existsSync(file), false);
    const after = await cli.run(['secrets', 'list']);
    assert.equal(after.status, 2);
    assert.match(after.stderr, /not logged in: run `tessera login`/);
  });

  test('a token the server refuses is not stored; the 401 says why with its requestId', async () => {
    const cli = clientCli(undefined);
    const refused = await cli.run(['login', '--url', suite.server.url], {
      input: 'tsk_notarealtokenatallnotarealtokenatall00000\n',
    });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^tessera: 401 UNAUTHORIZED: .+/m);
    assert.match(refused.stderr, REQUEST_ID);
    assert.equal(existsSync(join(cli.configHome, 'tessera', 'credentials.json')), false);
  });

  test('a stored login readable by others is refused', async () => {
    const cli = clientCli(undefined);
    assert.equal(
      (await cli.run(['login', '--url', suite.server.url], { input: suite.server.adminToken })).status,
      0,
    );
    const file = join(cli.configHome, 'tessera', 'credentials.json');
    chmodSync(file, 0o644);
    const refused = await cli.run(['secrets', 'list']);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /may be read by others: run `chmod 600/);
  });

  test('keys create, list, roll and delete; a new token is the last line of standard output', async () => {
    const cli = admin();
    const created = await cli.run(['keys', 'create', '--name', 'ci-job', '--role', 'user'], { prints: true });
    assert.equal(created.status, 0, created.stderr);
    const token = created.stdout.trim();
    registerSensitive(token, 'token');
    assert.match(token, /^tsk_/);
    const cid = /Created (ak[0-9a-f]{16})/.exec(created.stderr)?.[1] ?? '';
    assert.notEqual(cid, '');

    const table = await cli.run(['keys', 'list']);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^CID\s+NAME\s+ROLES\s+EXPIRES\s+LAST4$/m);
    assert.match(table.stdout, new RegExp(`^${cid}\\s+ci-job\\s+USER\\s+-\\s+${token.slice(-4)}$`, 'm'));

    const rolled = await cli.run(['keys', 'roll', cid, '--expire-old-after', '0'], { prints: true });
    assert.equal(rolled.status, 0, rolled.stderr);
    const newToken = rolled.stdout.trim();
    registerSensitive(newToken, 'token');
    assert.notEqual(newToken, token);
    const withNew = await clientCli(suite.server.url, newToken).run(['secrets', 'list']);
    assert.equal(withNew.status, 0, withNew.stderr);
    const withOld = await clientCli(suite.server.url, token).run(['secrets', 'list']);
    assert.equal(withOld.status, 1);
    assert.match(withOld.stderr, /401 UNAUTHORIZED/);

    const deleted = await cli.run(['keys', 'delete', cid]);
    assert.equal(deleted.status, 0, deleted.stderr);
    const listed = JSON.parse((await cli.run(['keys', 'list', '--json'])).stdout) as { cid: string }[];
    assert.equal(
      listed.some((key) => key.cid === cid),
      false,
    );
  });

  test('keys: usage errors exit 2; a refused call exits 1 with its detail and requestId', async () => {
    const cli = admin();
    const badRole = await cli.run(['keys', 'create', '--name', 'x', '--role', 'OWNER']);
    assert.equal(badRole.status, 2);
    assert.match(badRole.stderr, /--role takes one of ADMIN, MANAGER, USER, READ_ONLY, VIEWER/);
    const unknownOption = await cli.run(['keys', 'list', '--colour']);
    assert.equal(unknownOption.status, 2);
    const reader = await createKey(suite.server, { roles: ['READ_ONLY'] });
    const refused = await clientCli(suite.server.url, reader.apiKey).run([
      'keys',
      'create',
      '--name',
      'x',
      '--role',
      'ADMIN',
    ]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^tessera: 403 FORBIDDEN: .+/m);
    assert.match(refused.stderr, REQUEST_ID);
    const missing = await cli.run(['keys', 'delete', 'ak0000000000000000']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /404 NOT_FOUND: .*ak0000000000000000/);
  });

  test('secrets set (stdin: created, then changed), get, reveal, versions, list and delete', async () => {
    const cli = admin();
    const tag = uniqueTag('cli');
    const first = marker();
    const second = marker();
    registerSensitive(first, 'secret value');
    registerSensitive(second, 'secret value');
    const created = await cli.run(['secrets', 'set', tag, '--name', 'CLI secret'], { input: `${first}\n` });
    assert.equal(created.status, 0, created.stderr);
    assert.equal(created.stderr, `Created ${tag}\n`);
    // One final line break (echo's, a here-document's) is not part of the value.
    assert.equal(await reveal(suite.server, tag), first);
    const changed = await cli.run(['secrets', 'set', tag], { input: second });
    assert.equal(changed.status, 0, changed.stderr);
    assert.equal(changed.stderr, `Changed ${tag}\n`);

    const got = await cli.run(['secrets', 'get', tag, '--json']);
    assert.equal(got.status, 0, got.stderr);
    const secret = JSON.parse(got.stdout) as { tag: string; name: string; id: string };
    assert.deepEqual({ tag: secret.tag, name: secret.name }, { tag, name: 'CLI secret' });

    const revealed = await cli.run(['secrets', 'reveal', tag], { prints: true });
    assert.equal(revealed.status, 0, revealed.stderr);
    assert.equal(revealed.stdout, second);
    const older = await cli.run(['secrets', 'reveal', tag, '--version', '1', '--json'], { prints: true });
    assert.equal((JSON.parse(older.stdout) as { value: string; version: number }).value, first);

    const versions = await cli.run(['secrets', 'versions', tag, '--json']);
    assert.deepEqual(
      (JSON.parse(versions.stdout) as { version: number }[]).map((v) => v.version),
      [1, 2],
    );
    const table = await cli.run(['secrets', 'list']);
    assert.match(table.stdout, new RegExp(`^${tag}\\s+CLI secret\\s+se[0-9a-f]{16}$`, 'm'));

    assert.equal((await cli.run(['secrets', 'delete', tag])).status, 0);
    const gone = await cli.run(['secrets', 'get', tag]);
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, new RegExp(`404 NOT_FOUND: .*'${tag}'`));
    assert.match(gone.stderr, REQUEST_ID);
  });

  test('secrets set --file keeps the file exactly (line breaks and all); an empty value is refused', async (t) => {
    const cli = admin();
    const tag = uniqueTag('file');
    const value = `-----BEGIN KEY-----\n${marker()}\n${marker()}\n-----END KEY-----\n`;
    registerSensitive(value, 'secret value');
    const file = join(cli.configHome, 'value.pem');
    writeFileSync(file, value, { mode: 0o600 });
    const set = await cli.run(['secrets', 'set', tag, '--file', file]);
    assert.equal(set.status, 0, set.stderr);
    assert.equal(await reveal(suite.server, tag), value);
    const empty = await cli.run(['secrets', 'set', uniqueTag('empty')], { input: '\n' });
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /the value is empty/);
    t.diagnostic('a value is never an argument: `set` takes none');
    const asArgument = await cli.run(['secrets', 'set', tag, 'the-value-here']);
    assert.equal(asArgument.status, 2);
  });

  test('an invalid request prints each violation', async () => {
    const invalid = await admin().run(['secrets', 'set', 'not a tag!'], { input: marker() });
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /400 BAD_REQUEST: /);
    assert.match(invalid.stderr, /\n {2}\/(body|params)\/\w+: .+/);
  });

  test('a server that cannot be reached: one line naming it, exit 1', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const down = await clientCli(url, suite.server.adminToken).run(['secrets', 'list']);
    assert.equal(down.status, 1);
    assert.equal(down.stderr, `tessera: ${url} could not be reached (ECONNREFUSED)\n`);
  });

  test('a key without READ_SECRET_VALUES is refused a reveal', async () => {
    const secret = await createSecret(suite.server, { tag: uniqueTag('user') });
    const user = await createKey(suite.server, { roles: ['USER'] });
    const refused = await clientCli(suite.server.url, user.apiKey).run(['secrets', 'reveal', secret.tag]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /403 FORBIDDEN/);
  });
});
