import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { childEnv, REPO_ROOT } from '../helpers/child-server.js';
import { testDialect } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';

// A stop signal that arrives while `tessera serve` is still starting (here: held at its listen by
// test/helpers/slow-listen.ts) must not meet Node's default action, which ends the process at once.
// Process-level behaviour is the same on both dialects, so this runs in the SQLite pass only.
const skip = testDialect() === 'sqlite' ? false : 'process lifecycle runs in the SQLite pass only';
const SLOW_LISTEN = join(REPO_ROOT, 'test/helpers/slow-listen.ts');

/** Starts `tessera serve` held at its listen for `holdMs`; resolves once it is starting. */
async function startHeld(t: { after: (fn: () => void) => void }, holdMs: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-stop-starting-'));
  const cue = join(dataDir, 'starting');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', SLOW_LISTEN, 'src/cli/main.ts', 'serve'],
    {
      cwd: REPO_ROOT,
      env: childEnv({
        TESSERA_DATA_DIR: dataDir,
        TESSERA_PORT: '0',
        TESSERA_LOG_LEVEL: 'info',
        TESSERA_TEST_SLOW_LISTEN: cue,
        TESSERA_TEST_SLOW_LISTEN_MS: String(holdMs),
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('close', (code, signal) => done({ code, signal })),
  );
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });
  await eventually('the server reaching its listen', () => existsSync(cue) || child.exitCode !== null, {
    withinMs: 30_000,
  });
  assert.equal(child.exitCode, null, `exited before listening; stderr:\n${stderr}`);
  return { child, ended, output: () => ({ stdout, stderr }) };
}

test('SIGTERM while starting: the server finishes starting, then stops gracefully with 0', {
  skip,
}, async (t) => {
  const { child, ended, output } = await startHeld(t, 1_500);
  child.kill('SIGTERM');
  const { code, signal } = await ended;
  const { stdout, stderr } = output();
  assert.equal(signal, null, `ended by ${signal}, not by its own stop; stderr:\n${stderr}`);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /Server listening/);
  assert.match(stdout, /"signal":"SIGTERM".*shutting down/);
  assert.match(stdout, /"msg":"stopped"/);
});

test('SIGTERM while a start does not finish: it is abandoned within the grace, exit 1 saying why', {
  skip,
}, async (t) => {
  const { child, ended, output } = await startHeld(t, 120_000);
  child.kill('SIGTERM');
  const { code, signal } = await ended;
  assert.equal(signal, null);
  assert.equal(code, 1);
  assert.match(output().stderr, /SIGTERM while starting: not ready within 10000 ms, exiting/);
  assert.doesNotMatch(output().stdout, /Server listening/);
});
