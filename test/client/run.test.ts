/**
 * `tessera run -- command` against a real server: the secrets reach the command as environment
 * variables (named from their tags, or by --env), never as arguments; its exit code, or 128 + the
 * signal that ended it, is tessera's; signals sent to tessera reach it; and the run loads nothing
 * of the server's modules. `--fallback`: an encrypted snapshot (mode 0600, no plaintext) used with
 * a warning when the server cannot be reached, refused under a wrong passphrase, and never used to
 * get round a server that refuses the key.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, REPO_ROOT } from '../helpers/child-server.js';
import { clientCli } from '../helpers/client-cli.js';
import { testDialect } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { createKey } from '../helpers/keys.js';
import { createSecret, marker, uniqueTag } from '../helpers/secrets.js';
import { assertNoLeaks, registerSensitive } from '../helpers/sensitive.js';
import { useTestServer } from '../helpers/server.js';

/** A command printing the named variables as JSON, and its arguments. */
const printEnv = (...names: string[]) => [
  '--',
  process.execPath,
  '-e',
  `console.log(JSON.stringify({ env: Object.fromEntries(${JSON.stringify(names)}.map((n) => [n, process.env[n] ?? null])), argv: process.argv }))`,
];

describe(`tessera run (${testDialect()})`, () => {
  const tags = { db: uniqueTag('db'), api: uniqueTag('api') };
  const values = { db: marker(), api: marker() };
  const suite = useTestServer({}, async (server) => {
    await createSecret(server, { tag: tags.db, secret: values.db });
    await createSecret(server, { tag: tags.api, secret: values.api });
  });
  const names = {
    db: tags.db.toUpperCase().replaceAll('-', '_'),
    api: tags.api.toUpperCase().replaceAll('-', '_'),
  };
  const admin = () => clientCli(suite.server.url, suite.server.adminToken);

  test('the secrets are environment variables named from their tags (or by --env), never arguments', async () => {
    const ran = await admin().run(
      ['run', '--tags', `${tags.db},${tags.api}`, ...printEnv(names.db, names.api)],
      {
        prints: true,
      },
    );
    assert.equal(ran.status, 0, ran.stderr);
    const { env, argv } = JSON.parse(ran.stdout) as { env: Record<string, string>; argv: string[] };
    assert.deepEqual(env, { [names.db]: values.db, [names.api]: values.api });
    assertNoLeaks([{ where: 'the command’s arguments', content: JSON.stringify(argv) }]);

    const renamed = await admin().run(
      [
        'run',
        '--tags',
        tags.db,
        '--env',
        `DATABASE_PASSWORD=${tags.api}`,
        ...printEnv('DATABASE_PASSWORD', names.db, names.api),
      ],
      { prints: true },
    );
    assert.equal(renamed.status, 0, renamed.stderr);
    assert.deepEqual((JSON.parse(renamed.stdout) as { env: unknown }).env, {
      DATABASE_PASSWORD: values.api,
      [names.db]: values.db,
      [names.api]: null,
    });

    const byPrefix = await admin().run(['run', '--tag-prefix', tags.db, ...printEnv(names.db, names.api)], {
      prints: true,
    });
    assert.deepEqual((JSON.parse(byPrefix.stdout) as { env: unknown }).env, {
      [names.db]: values.db,
      [names.api]: null,
    });
  });

  test('a scoped key: a tag outside its reach is a 404 naming it, and nothing runs', async () => {
    const role = `run-${marker(6).toLowerCase()}`;
    const created = await suite.call('POST', '/api/v1/roles', {
      token: suite.server.adminToken,
      body: { tag: role, name: role, permissions: ['READ_SECRET_VALUES'], secretTags: [tags.db] },
    });
    assert.equal(created.status, 200, created.text);
    const key = await createKey(suite.server, { customRoles: [role] });
    const cli = clientCli(suite.server.url, key.apiKey);
    const allowed = await cli.run(['run', '--tags', tags.db, ...printEnv(names.db)], { prints: true });
    assert.equal(allowed.status, 0, allowed.stderr);
    const refused = await cli.run([
      'run',
      '--tags',
      tags.api,
      '--',
      process.execPath,
      '-e',
      'console.log("ran")',
    ]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, new RegExp(`404 NOT_FOUND: .*${tags.api}`));
    assert.equal(refused.stdout, '');
  });

  test("the command's exit code, 128 + a signal's number, 127 for no such command", async () => {
    const cli = admin();
    const seven = await cli.run(['run', '--tags', tags.db, '--', process.execPath, '-e', 'process.exit(7)']);
    assert.equal(seven.status, 7, seven.stderr);
    const killed = await cli.run([
      'run',
      '--tags',
      tags.db,
      '--',
      process.execPath,
      '-e',
      'process.kill(process.pid, "SIGKILL")',
    ]);
    assert.equal(killed.status, 128 + 9, killed.stderr);
    const missing = await cli.run(['run', '--tags', tags.db, '--', 'no-such-command-anywhere']);
    assert.equal(missing.status, 127);
    assert.match(missing.stderr, /cannot run no-such-command-anywhere: no such command/);
    const noCommand = await cli.run(['run', '--tags', tags.db]);
    assert.equal(noCommand.status, 2);
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    test(`${signal} sent to tessera reaches the command`, async () => {
      const script = `process.on(${JSON.stringify(signal)}, () => { console.log('got it'); process.exit(3); }); setInterval(() => {}, 1000); console.log('ready');`;
      const { child, done } = admin().spawn(['run', '--tags', tags.db, '--', process.execPath, '-e', script]);
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      await eventually('the command is ready', () => out.includes('ready'), { withinMs: 30_000 });
      child.kill(signal);
      const result = await done;
      assert.equal(result.status, 3, result.stderr);
      assert.match(out, /got it/);
    });
  }

  test('the run loads nothing of the server: no Fastify, Kysely, database driver, or src/ outside the client', async () => {
    const log = join(admin().configHome, 'modules.log');
    const hook = join(REPO_ROOT, 'test/helpers/module-log.mjs');
    const ran = await admin().run(['run', '--tags', tags.db, '--', process.execPath, '-e', '0'], {
      env: { TESSERA_TEST_MODULE_LOG: log, NODE_OPTIONS: `--import=${hook}` },
    });
    assert.equal(ran.status, 0, ran.stderr);
    const loaded = readFileSync(log, 'utf8')
      .split('\n')
      .filter((url) => url.startsWith('file:'));
    const sources = loaded
      .map((url) => fileURLToPath(url))
      .filter((path) => path.startsWith(join(REPO_ROOT, 'src')));
    assert.ok(
      sources.some((path) => path.endsWith(join('src', 'cli', 'client', 'run.command.ts'))),
      'the log saw the run',
    );
    const server = sources.filter(
      (path) =>
        !path.startsWith(join(REPO_ROOT, 'src', 'client')) &&
        !path.startsWith(join(REPO_ROOT, 'src', 'cli', 'client')) &&
        path !== join(REPO_ROOT, 'src', 'cli', 'main.ts') &&
        path !== join(REPO_ROOT, 'src', 'config-error.ts'),
    );
    assert.deepEqual(server, []);
    const packages = loaded.filter((url) =>
      /node_modules\/(fastify|kysely|better-sqlite3|pg|ioredis|pino)\//.test(url),
    );
    assert.deepEqual(packages, []);
  });

  describe('--fallback', () => {
    const passphrase = `pass-${marker(20)}`;
    const fallbackEnv = { TESSERA_FALLBACK_PASSPHRASE: passphrase };

    test('keeps an encrypted snapshot (0600, no plaintext) and runs from it, warning, when the server is down', async () => {
      const cli = admin();
      const file = join(cli.configHome, 'fallback.snapshot');
      const first = await cli.run(
        ['run', '--tags', tags.db, '--fallback', file, ...printEnv(names.db, 'TESSERA_FALLBACK_PASSPHRASE')],
        {
          env: fallbackEnv,
          prints: true,
        },
      );
      assert.equal(first.status, 0, first.stderr);
      // The passphrase is tessera's, not the command's.
      assert.deepEqual((JSON.parse(first.stdout) as { env: unknown }).env, {
        [names.db]: values.db,
        TESSERA_FALLBACK_PASSPHRASE: null,
      });
      assert.equal(statSync(file).mode & 0o777, 0o600);
      registerSensitive(passphrase, 'secret value');
      assertNoLeaks([{ where: 'the fallback snapshot', content: readFileSync(file) }]);

      const down = clientCli(`http://127.0.0.1:${await freePort()}`, suite.server.adminToken);
      const offline = await down.run(['run', '--tags', tags.db, '--fallback', file, ...printEnv(names.db)], {
        env: fallbackEnv,
        prints: true,
      });
      assert.equal(offline.status, 0, offline.stderr);
      assert.deepEqual((JSON.parse(offline.stdout) as { env: unknown }).env, { [names.db]: values.db });
      assert.match(
        offline.stderr,
        /^tessera: warning: http:\/\/127\.0\.0\.1:\d+ could not be reached \(ECONNREFUSED\); running with the fallback snapshot saved at \d{4}-/m,
      );

      const wrong = await down.run(['run', '--tags', tags.db, '--fallback', file, ...printEnv(names.db)], {
        env: { TESSERA_FALLBACK_PASSPHRASE: 'not the passphrase' },
      });
      assert.equal(wrong.status, 1);
      assert.match(
        wrong.stderr,
        /could not be decrypted: TESSERA_FALLBACK_PASSPHRASE is wrong, or the file was altered/,
      );
      assert.equal(wrong.stdout, '');

      const other = await down.run(['run', '--tags', tags.api, '--fallback', file, ...printEnv(names.api)], {
        env: fallbackEnv,
      });
      assert.equal(other.status, 1);
      assert.match(other.stderr, /holds other secrets/);
    });

    test('is not used when the server answers and refuses; needs its passphrase', async () => {
      const cli = admin();
      const file = join(cli.configHome, 'fallback.snapshot');
      assert.equal(
        (await cli.run(['run', '--tags', tags.db, '--fallback', file, '--', 'true'], { env: fallbackEnv }))
          .status,
        0,
      );
      const refused = await clientCli(suite.server.url, 'tsk_notarealtokenatallnotarealtokenatall00000').run(
        ['run', '--tags', tags.db, '--fallback', file, '--', process.execPath, '-e', 'console.log("ran")'],
        { env: fallbackEnv },
      );
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /401 UNAUTHORIZED/);
      assert.equal(refused.stdout, '');
      const noPassphrase = await cli.run(['run', '--tags', tags.db, '--fallback', file, '--', 'true']);
      assert.equal(noPassphrase.status, 2);
      assert.match(noPassphrase.stderr, /--fallback needs TESSERA_FALLBACK_PASSPHRASE/);
    });
  });
});
