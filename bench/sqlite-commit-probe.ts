// What a durable commit costs on this machine's disk, apart from Tessera:
// `node --import tsx bench/sqlite-commit-probe.ts`. SQLite in WAL mode as Tessera opens it, one
// small row per commit, then 32 rows per commit (what a group commit would do), with
// synchronous=FULL (Tessera's setting: every commit is fsynced) and NORMAL (for comparison).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import SQLite from '../src/db/sqlite-native.js';

const dir = mkdtempSync(join(os.tmpdir(), 'tessera-commit-probe-'));
try {
  for (const synchronous of ['FULL', 'NORMAL']) {
    const db = new SQLite(join(dir, `probe-${synchronous}.db`));
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.exec('create table t (id integer primary key, v text not null)');
    const insert = db.prepare('insert into t (v) values (?)');
    const row = 'x'.repeat(200);
    const single = 2_000;
    let started = performance.now();
    for (let i = 0; i < single; i++) insert.run(row);
    const perCommit = (performance.now() - started) / single;
    const group = db.transaction((n: number) => {
      for (let i = 0; i < n; i++) insert.run(row);
    });
    const groups = 200;
    started = performance.now();
    for (let i = 0; i < groups; i++) group(32);
    const perGroup = (performance.now() - started) / groups;
    process.stdout.write(
      `synchronous=${synchronous}: ${perCommit.toFixed(3)} ms per one-row commit (${Math.round(1000 / perCommit)} commits/s); ` +
        `${perGroup.toFixed(3)} ms per 32-row commit (${Math.round((32 * 1000) / perGroup)} rows/s)\n`,
    );
    db.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
