/**
 * `tessera secrets import` and `export` against a real server: a .env file with the forms users
 * write (export prefixes, both quotes, escapes, values over several lines) becomes secrets named
 * by the variables' tags; export writes them back so that importing the export changes nothing;
 * JSON both ways; a key that may not read values still imports (and says it could not compare);
 * a bad file is refused before anything is written.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseDotenv } from '../../src/cli/client/dotenv.js';
import { type Cli, clientCli } from '../helpers/client-cli.js';
import { testDialect } from '../helpers/database.js';
import { createKey } from '../helpers/keys.js';
import { createSecret, marker, reveal } from '../helpers/secrets.js';
import { registerSensitive } from '../helpers/sensitive.js';
import { useTestServer } from '../helpers/server.js';

/** A distinctive value, registered for the leak scan. */
function value(prefix = ''): string {
  const made = `${prefix}${marker(24)}`;
  registerSensitive(made, 'secret value');
  return made;
}

function fileIn(cli: Cli, name: string, text: string): string {
  const file = join(cli.configHome, name);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

describe(`secrets import and export (${testDialect()})`, () => {
  const suite = useTestServer();

  test('a .env file round trips: import, export, import again changes nothing', async () => {
    const cli = clientCli(suite.server.url, suite.server.adminToken);
    const run = `rt${marker(6).toLowerCase()}`;
    const values = {
      plain: value(),
      exported: value(),
      single: value('no $EXPANSION \\n here '),
      double: value('quote " dollar $HOME back \\ '),
      multi: `${value()}\nsecond line\n\tindented`,
    };
    registerSensitive(values.multi, 'secret value');
    const upper = run.toUpperCase();
    const dotenv = [
      '# the app',
      `${upper}_PLAIN=${values.plain}  # a comment`,
      `export ${upper}_EXPORTED=${values.exported}`,
      `${upper}_SINGLE='${values.single}'`,
      `${upper}_DOUBLE="${values.double.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('$', '\\$')}"`,
      `${upper}_MULTI="${values.multi.replace('\t', '\\t')}"`,
      `${upper}_EMPTY=`,
      '',
    ].join('\n');
    const imported = await cli.run(['secrets', 'import', fileIn(cli, 'app.env', dotenv), '--json']);
    assert.equal(imported.status, 0, imported.stderr);
    const report = JSON.parse(imported.stdout) as {
      created: string[];
      changed: string[];
      skipped: unknown[];
    };
    assert.deepEqual(
      report.created.sort(),
      ['double', 'exported', 'multi', 'plain', 'single'].map((s) => `${run}-${s}`),
    );
    assert.deepEqual(report.changed, []);
    assert.deepEqual(report.skipped, [{ tag: `${run}-empty`, reason: 'empty' }]);
    for (const [name, expected] of Object.entries(values)) {
      assert.equal(await reveal(suite.server, `${run}-${name}`), expected, name);
    }

    const exported = await cli.run(['secrets', 'export', '--tag-prefix', `${run}-`], { prints: true });
    assert.equal(exported.status, 0, exported.stderr);
    assert.deepEqual(
      Object.fromEntries(parseDotenv(exported.stdout).map((e) => [e.name, e.value])),
      Object.fromEntries(Object.entries(values).map(([name, v]) => [`${upper}_${name.toUpperCase()}`, v])),
    );

    const again = await cli.run(['secrets', 'import', fileIn(cli, 'export.env', exported.stdout)]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(
      again.stdout,
      `Created 0\nChanged 0\nSkipped 5: ${['double', 'exported', 'multi', 'plain', 'single'].map((s) => `${run}-${s} (unchanged)`).join(', ')}\n`,
    );

    const changedValue = value();
    const one = await cli.run([
      'secrets',
      'import',
      fileIn(cli, 'one.env', `${upper}_PLAIN=${changedValue}\n`),
    ]);
    assert.match(one.stdout, new RegExp(`^Changed 1: ${run}-plain$`, 'm'));
    assert.equal(await reveal(suite.server, `${run}-plain`), changedValue);
  });

  test('JSON both ways, by the same names', async () => {
    const cli = clientCli(suite.server.url, suite.server.adminToken);
    const run = `js${marker(6).toLowerCase()}`;
    const object = {
      [`${run.toUpperCase()}_A`]: value(),
      [`${run.toUpperCase()}_B`]: `${value()}\n{"json": true}`,
    };
    registerSensitive(object[`${run.toUpperCase()}_B`] as string, 'secret value');
    const imported = await cli.run(['secrets', 'import', fileIn(cli, 'in.json', JSON.stringify(object))]);
    assert.equal(imported.status, 0, imported.stderr);
    assert.match(imported.stdout, /^Created 2: /);
    const exported = await cli.run(['secrets', 'export', '--format', 'json', '--tags', `${run}-a,${run}-b`], {
      prints: true,
    });
    assert.equal(exported.status, 0, exported.stderr);
    assert.deepEqual(JSON.parse(exported.stdout), object);
  });

  test('a key that may not read values imports all the same, and says it could not compare', async () => {
    const user = await createKey(suite.server, { roles: ['USER'] });
    const cli = clientCli(suite.server.url, user.apiKey);
    const run = `us${marker(6).toLowerCase()}`;
    const file = fileIn(cli, 'u.env', `${run.toUpperCase()}_X=${value()}\n`);
    assert.equal((await cli.run(['secrets', 'import', file])).status, 0);
    const again = await cli.run(['secrets', 'import', file]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`^Changed 1: ${run}-x$`, 'm'));
    assert.match(again.stderr, /may not read values \(READ_SECRET_VALUES\)/);
    const exported = await cli.run(['secrets', 'export']);
    assert.equal(exported.status, 1);
    assert.match(exported.stderr, /403 FORBIDDEN/);
  });

  test('more secrets under a prefix than one bulk reveal answers (500) are exported all the same', async () => {
    const run = `many${marker(6).toLowerCase()}`;
    const tags = Array.from({ length: 501 }, (_, i) => `${run}-${String(i).padStart(3, '0')}`);
    for (let at = 0; at < tags.length; at += 50) {
      await Promise.all(
        tags.slice(at, at + 50).map((tag) => createSecret(suite.server, { tag, secret: `v-${tag}` })),
      );
    }
    const cli = clientCli(suite.server.url, suite.server.adminToken);
    const exported = await cli.run(['secrets', 'export', '--format', 'json', '--tag-prefix', `${run}-`], {
      prints: true,
    });
    assert.equal(exported.status, 0, exported.stderr);
    const object = JSON.parse(exported.stdout) as Record<string, string>;
    assert.equal(Object.keys(object).length, 501);
    assert.equal(object[`${run.toUpperCase()}_500`], `v-${run}-500`);
  });

  test('a bad file is refused, naming its line or name, and nothing is written', async () => {
    const cli = clientCli(suite.server.url, suite.server.adminToken);
    const run = `bad${marker(6).toLowerCase()}`;
    const broken = await cli.run([
      'secrets',
      'import',
      fileIn(cli, 'broken.env', `${run.toUpperCase()}_OK=${value()}\nthis is not a line\n`),
    ]);
    assert.equal(broken.status, 2);
    assert.match(broken.stderr, /broken\.env: line 2: expected NAME=value/);
    const twice = await cli.run([
      'secrets',
      'import',
      fileIn(cli, 'twice.json', JSON.stringify({ A_B: 'x1234567', 'a-b': 'y1234567' })),
    ]);
    assert.equal(twice.status, 2);
    assert.match(twice.stderr, /two variables make the tag 'a-b'/);
    const notString = await cli.run(['secrets', 'import', fileIn(cli, 'n.json', '{"A": 1}')]);
    assert.equal(notString.status, 2);
    const listed = await cli.run(['secrets', 'list', '--json']);
    assert.equal(listed.stdout.includes(run), false);
  });
});
