/**
 * `tessera login` at a real terminal: a pseudo-terminal made by util-linux's `script`, whose
 * output is everything the terminal would show. The token typed is stored and never shown (no
 * echo); the URL asked for with its default. Skipped where `script` is not installed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { childEnv, REPO_ROOT, TESSERA_CLI } from '../helpers/child-server.js';
import { testDialect } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { useTestServer } from '../helpers/server.js';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const skip =
  testDialect() !== 'sqlite'
    ? 'a terminal is the same on every dialect: the SQLite pass checks it'
    : hasScript
      ? false
      : 'needs `script` (util-linux) for a pseudo-terminal';

const suite = useTestServer();

test('at a terminal, the token is asked for without echo and stored', { skip }, async () => {
  const configHome = mkdtempSync(join(tmpdir(), 'tessera-tty-'));
  const command = [process.execPath, ...TESSERA_CLI, 'login'].map((part) => `'${part}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: REPO_ROOT,
    env: childEnv({ XDG_CONFIG_HOME: configHome }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let shown = '';
  child.stdout.on('data', (chunk: Buffer) => {
    shown += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('close', done));
  try {
    await eventually('the URL is asked for', () => shown.includes('Tessera URL [http://127.0.0.1:8080]: '), {
      withinMs: 30_000,
    });
    child.stdin.write(`${suite.server.url}\r`);
    await eventually('the token is asked for', () => shown.includes('Token (not shown): '));
    child.stdin.write(`${suite.server.adminToken}\r`);
    await eventually('the login', () => shown.includes('Logged in to'));
  } finally {
    child.stdin.end();
  }
  assert.equal(await exited, 0, shown);
  assert.equal(shown.includes(suite.server.adminToken), false, 'the token was shown');
  assert.ok(shown.includes(suite.server.url), 'the URL typed is echoed, as usual');
  const stored = JSON.parse(readFileSync(join(configHome, 'tessera', 'credentials.json'), 'utf8'));
  assert.deepEqual(stored, { url: suite.server.url, token: suite.server.adminToken });
});
