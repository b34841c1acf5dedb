/**
 * `tessera/client` as a program installing the package gets it: the `exports` entry of
 * package.json resolves (here by the package's self-reference) to the SDK as the build emits it,
 * JavaScript and declarations, and a TypeScript program type-checks against those declarations
 * (wrong use included, as an error). The SDK is compiled alone with the build's own settings
 * into a copy of the package, so the repository's dist/ is neither needed nor touched.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '../helpers/child-server.js';
import { testDialect } from '../helpers/database.js';

const skip =
  testDialect() === 'sqlite' ? false : 'the package is the same on every dialect: the SQLite pass checks it';
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

describe('the package exports tessera/client', { skip }, () => {
  let folder: string;
  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'tessera-package-'));
    copyFileSync(join(REPO_ROOT, 'package.json'), join(folder, 'package.json'));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(folder, 'node_modules'));
    writeFileSync(
      join(folder, 'tsconfig.client.json'),
      JSON.stringify({
        extends: join(REPO_ROOT, 'tsconfig.build.json'),
        compilerOptions: {
          rootDir: join(REPO_ROOT, 'src', 'client'),
          outDir: join(folder, 'dist', 'client'),
          incremental: false,
          sourceMap: false,
        },
        include: [join(REPO_ROOT, 'src', 'client')],
      }),
    );
    const built = spawnSync(process.execPath, [TSC, '-p', join(folder, 'tsconfig.client.json')], {
      encoding: 'utf8',
    });
    assert.equal(built.status, 0, built.stdout + built.stderr);
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  test("import('tessera/client') resolves to the built SDK", () => {
    writeFileSync(
      join(folder, 'check.mjs'),
      [
        "const sdk = await import('tessera/client');",
        'console.log(import.meta.resolve("tessera/client"));',
        'console.log(typeof sdk.TesseraClient, typeof sdk.TesseraProblem, typeof sdk.TesseraUnreachable);',
      ].join('\n'),
    );
    const ran = spawnSync(process.execPath, ['check.mjs'], { cwd: folder, encoding: 'utf8' });
    assert.equal(ran.status, 0, ran.stderr);
    const [resolved, kinds] = ran.stdout.trim().split('\n');
    assert.match(resolved ?? '', /\/dist\/client\/index\.js$/);
    assert.equal(kinds, 'function function function');
  });

  test('a TypeScript program type-checks against its declarations, and wrong use does not', () => {
    writeFileSync(
      join(folder, 'check.ts'),
      [
        "import { TesseraClient, TesseraProblem, type Secret, type RevealedValue } from 'tessera/client';",
        "const client = new TesseraClient({ baseUrl: 'http://127.0.0.1:8080', token: 'tsk_x' });",
        'export async function names(): Promise<string[]> {',
        '  const all: string[] = [];',
        '  for await (const secret of client.secrets.list()) all.push(secret.tag);',
        "  const value: string = await client.getSecretValue('db-password');",
        "  const many: RevealedValue[] = await client.secrets.revealMany({ tagPrefix: 'app-' });",
        '  const first: Secret | undefined = undefined;',
        '  void value; void many; void first;',
        '  return all;',
        '}',
        'export function status(error: unknown): number | undefined {',
        '  return error instanceof TesseraProblem ? error.status : undefined;',
        '}',
        '// @ts-expect-error: a secret needs a name, a tag and a value',
        "void client.secrets.create({ tag: 'x' });",
      ].join('\n'),
    );
    const checked = spawnSync(
      process.execPath,
      [
        TSC,
        '--noEmit',
        '--strict',
        '--module',
        'NodeNext',
        '--moduleResolution',
        'NodeNext',
        '--target',
        'ES2022',
        '--types',
        'node',
        'check.ts',
      ],
      { cwd: folder, encoding: 'utf8' },
    );
    assert.equal(checked.status, 0, checked.stdout + checked.stderr);
  });
});
