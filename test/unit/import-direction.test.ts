/**
 * Imports run one way (docs/architecture.md, "The layers"): the edge (src/http) and what nodes
 * share (src/cluster) know nothing of the features; src/domain, the vocabulary the edge and the
 * features share, knows nothing but itself; and a feature's service layer speaks the domain, not
 * HTTP. The client (the SDK in src/client, and the client commands in src/cli/client built on it)
 * imports nothing of the server and no package, only Node's own modules, so a program using the SDK
 * and `tessera run` load none of the server's code. Every import of every file under src/ is read (static, type-only, re-exports and dynamic
 * imports, through TypeScript's own pre-processor) and each broken rule is named with its file.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const root = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** What a file imports, as written and, for relative specifiers, as the src/ path it names. */
function importsOf(text: string, file: string): { specifier: string; target: string | undefined }[] {
  return ts.preProcessFile(text, true, true).importedFiles.map(({ fileName: specifier }) => ({
    specifier,
    target: specifier.startsWith('.')
      ? relative(root, join(root, dirname(file), specifier))
          .split(sep)
          .join('/')
          .replace(/\.js$/, '.ts')
      : undefined,
  }));
}

const under = (path: string, folder: string) => path.startsWith(`${folder}/`);

/**
 * Files of a feature that belong to the edge and may therefore use it: routes and schemas (the
 * OpenAPI document), and the error handler's hook that records denied requests.
 */
function isFeatureEdge(file: string): boolean {
  return /\.(routes|schemas)\.ts$/.test(file) || file === 'src/features/audit/audit.denials.ts';
}

/** The rule `file` breaks by importing `target` (a path under src/), if any. */
function brokenRule(file: string, target: string): string | undefined {
  if (under(file, 'src/client') && !under(target, 'src/client')) return 'src/client imports only src/client';
  if (under(file, 'src/cli/client') && !under(target, 'src/cli/client') && !under(target, 'src/client')) {
    return 'src/cli/client imports only src/cli/client and src/client';
  }
  if ((under(file, 'src/http') || under(file, 'src/cluster')) && under(target, 'src/features')) {
    return 'src/http and src/cluster import nothing from src/features';
  }
  if (under(file, 'src/domain') && !under(target, 'src/domain')) {
    return 'src/domain imports only src/domain';
  }
  if (under(file, 'src/features') && !isFeatureEdge(file) && under(target, 'src/http')) {
    return "a feature's services and what they use import nothing from src/http (only routes and schemas do)";
  }
  return undefined;
}

/** The rule `file` breaks by importing the package `specifier` (not a relative path), if any. */
function brokenPackageRule(file: string, specifier: string): string | undefined {
  const client = under(file, 'src/client') || under(file, 'src/cli/client');
  return client && !specifier.startsWith('node:')
    ? "the client imports no package, only Node's (node:...)"
    : undefined;
}

test('imports run one way: nothing below imports what stands above it', () => {
  const broken: string[] = [];
  for (const file of sourceFiles('src')) {
    for (const { specifier, target } of importsOf(readFileSync(join(root, file), 'utf8'), file)) {
      const rule = target === undefined ? brokenPackageRule(file, specifier) : brokenRule(file, target);
      if (rule !== undefined) broken.push(`${file} imports '${specifier}': ${rule}`);
    }
  }
  assert.deepEqual(broken, []);
});

test('every kind of import is read, and each rule catches what it forbids', () => {
  const text = [
    "import type { Permission } from '../features/roles/permissions.js';",
    "import {\n  a,\n  b,\n} from './errors.js';",
    "export { c } from '../features/audit/audit.table.js';",
    "const later = await import('../features/secrets/secrets.service.js');",
  ].join('\n');
  assert.deepEqual(
    importsOf(text, 'src/http/access.ts').map((i) => i.target),
    [
      'src/features/roles/permissions.ts',
      'src/http/errors.ts',
      'src/features/audit/audit.table.ts',
      'src/features/secrets/secrets.service.ts',
    ],
  );
  assert.ok(brokenRule('src/http/access.ts', 'src/features/roles/permissions.ts'));
  assert.ok(brokenRule('src/cluster/redis.ts', 'src/features/api-keys/token-cache.ts'));
  assert.ok(brokenRule('src/domain/errors.ts', 'src/http/errors.ts'));
  assert.ok(brokenRule('src/domain/caller.ts', 'src/features/roles/permissions.ts'));
  assert.ok(brokenRule('src/features/secrets/secrets.service.ts', 'src/http/errors.ts'));
  assert.ok(brokenRule('src/features/secrets/secret-lookup.ts', 'src/http/access.ts'));
  assert.ok(brokenRule('src/features/roles/role-resolution.ts', 'src/http/errors.ts'));
  assert.equal(brokenRule('src/features/secrets/secrets.routes.ts', 'src/http/access.ts'), undefined);
  assert.equal(brokenRule('src/db/database.ts', 'src/features/secrets/secrets.table.ts'), undefined);
  assert.equal(brokenRule('src/http/access.ts', 'src/domain/caller.ts'), undefined);
  assert.ok(brokenRule('src/client/http.ts', 'src/http/problem.ts'));
  assert.ok(brokenRule('src/client/index.ts', 'src/crypto/tokens.ts'));
  assert.ok(brokenRule('src/cli/client/run.command.ts', 'src/config.ts'));
  assert.ok(brokenRule('src/cli/client/fallback-snapshot.ts', 'src/crypto/aes-gcm.ts'));
  assert.equal(brokenRule('src/cli/client/run.command.ts', 'src/client/index.ts'), undefined);
  assert.ok(brokenPackageRule('src/client/http.ts', 'kysely'));
  assert.ok(brokenPackageRule('src/cli/client/run.command.ts', 'fastify'));
  assert.equal(brokenPackageRule('src/cli/client/run.command.ts', 'node:child_process'), undefined);
  assert.equal(brokenPackageRule('src/http/errors.ts', 'fastify'), undefined);
});
