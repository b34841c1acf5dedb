import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import SQLite from '../../src/db/sqlite-native.js';

const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);

/** The version of the better-sqlite3 package installed under `name`, and its entry module. */
function installed(name: string) {
  const entry = require.resolve(name);
  const manifest = require(join(dirname(entry), '..', 'package.json')) as { version: string };
  return { entry, major: Number(manifest.version.split('.')[0]) };
}

test('the SQLite driver is better-sqlite3 13 on Node 22 and later, 12 on Node 20', () => {
  const expected = major >= 22 ? installed('better-sqlite3') : installed('better-sqlite3-node20');
  assert.equal(expected.major, major >= 22 ? 13 : 12);
  // The module this process loaded is that package's, not the other one.
  assert.equal(SQLite, require(expected.entry));
  const database = new SQLite(':memory:');
  assert.deepEqual(database.prepare('select 1 + 1 as two').get(), { two: 2 });
  database.close();
});
