#!/usr/bin/env node
// Runs every test file under test/ with Node's own test runner (TypeScript through tsx), once per
// storage dialect: SQLite, then PostgreSQL (the server at TEST_DATABASE_URL when set, otherwise
// PGlite in-process). Node 20's runner takes no glob patterns, so the files are listed here.
// Pure unit tests (test/unit/) touch no storage: they run once, in the first pass.
// Output: failures, skips and one summary line per pass (scripts/test-reporter.mjs); --tap prints
// the runner's full TAP stream instead.
// Usage: npm test [-- --dialect=sqlite|postgres] [--tap] [files...]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function collect(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'helpers' ? [] : collect(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const args = process.argv.slice(2);
const dialectArg = args.find((a) => a.startsWith('--dialect='));
const only = args.filter((a) => !a.startsWith('--'));
const files = only.length > 0 ? only : collect('test').sort();
const dialects = dialectArg ? [dialectArg.slice('--dialect='.length)] : ['sqlite', 'postgres'];
const reporter = args.includes('--tap') ? 'tap' : new URL('./test-reporter.mjs', import.meta.url).href;

const isUnit = (file) => file.split(/[\\/]/).includes('unit');
/** The files a pass runs: everything in the first; in later ones, what depends on the dialect. */
const filesOf = (pass) => (pass === 0 ? files : files.filter((file) => !isUnit(file)));

/** PGlite only: one migrated template database, copied by every test store (see test/helpers). */
function pgliteTemplate() {
  const folder = join(mkdtempSync(join(tmpdir(), 'tessera-pglite-')), 'template');
  const made = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/pglite-template.ts', folder], {
    stdio: 'inherit',
  });
  if (made.status !== 0) throw new Error('could not build the PGlite template database');
  return folder;
}

let failed = false;
for (const [pass, dialect] of dialects.entries()) {
  const passFiles = filesOf(pass);
  if (passFiles.length === 0) continue;
  const where =
    dialect === 'postgres'
      ? process.env.TEST_DATABASE_URL
        ? 'PostgreSQL at TEST_DATABASE_URL'
        : 'PGlite in-process (set TEST_DATABASE_URL to use a PostgreSQL server)'
      : 'SQLite';
  console.log(`# dialect: ${dialect} (${where})`);
  const env = { ...process.env, TESSERA_TEST: '1', TESSERA_TEST_DIALECT: dialect };
  const template = dialect === 'postgres' && !process.env.TEST_DATABASE_URL ? pgliteTemplate() : undefined;
  if (template !== undefined) env.TESSERA_TEST_PGLITE_TEMPLATE = template;
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=2', `--test-reporter=${reporter}`, ...passFiles],
    {
      stdio: 'inherit',
      env,
    },
  );
  if (template !== undefined) rmSync(join(template, '..'), { recursive: true, force: true });
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
