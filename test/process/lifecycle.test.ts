import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isWellFormedToken } from '../../src/crypto/tokens.js';
import { halfSentPost, listeningPort, waitForHealthy } from '../helpers/child-server.js';
import { testDialect } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';

// The `tessera` command as a user runs it: a real process, a real port, real signals.
// Process-level behaviour is the same on both dialects, so this runs in the SQLite pass only.
const skip = testDialect() === 'sqlite' ? false : 'process lifecycle runs in the SQLite pass only';
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

function cli(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [...CLI, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** The port the server listens on (its own, see listeningPort) once it answers /healthz. */
async function waitForHealth(child: ChildProcess, output: () => string): Promise<number> {
  const exitCode = () => child.exitCode ?? undefined;
  const describe = () => `the server; it printed:\n${output().slice(-2000)}`;
  const port = await listeningPort(output, exitCode, describe, 20_000);
  await waitForHealthy(`http://127.0.0.1:${port}`, exitCode, describe, 20_000);
  return port;
}

describe('the tessera command', { skip }, () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-process-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('`token` prints one fresh well-formed token', () => {
    const first = cli(['token'], {});
    const second = cli(['token'], {});
    assert.equal(first.status, 0);
    assert.equal(isWellFormedToken(first.stdout.trim()), true);
    assert.notEqual(first.stdout, second.stdout);
  });

  test('`--version` prints the package version', () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', 'version']) {
      const result = cli([flag], {});
      assert.equal(result.status, 0);
      assert.equal(result.stdout, `tessera ${manifest.version}\n`);
    }
  });

  test('bad configuration stops start-up with one line naming the variable, not the value', () => {
    const result = cli(['serve'], {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_BOOTSTRAP_TOKEN: 'tsk_not-a-real-token',
    });
    assert.equal(result.status, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] ?? '', /TESSERA_BOOTSTRAP_TOKEN/);
    assert.doesNotMatch(result.stderr, /not-a-real-token/);
  });

  test('an unknown command exits 2 with the usage', () => {
    const result = cli(['frobnicate'], {});
    assert.equal(result.status, 2);
    assert.match(result.stderr, /Usage: tessera/);
  });

  test('serve bootstraps, and SIGTERM lets an in-flight request finish before exiting 0', async () => {
    const child = spawn(process.execPath, [...CLI, 'serve'], {
      env: {
        ...process.env,
        TESSERA_DATA_DIR: dataDir,
        TESSERA_PORT: '0',
        TESSERA_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const port = await waitForHealth(child, () => output);
      const keyFile = join(dataDir, 'bootstrap-admin.key');
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      const token = readFileSync(keyFile, 'utf8').trim();
      assert.equal(isWellFormedToken(token), true);
      assert.equal(statSync(join(dataDir, 'master.key')).mode & 0o777, 0o600);

      // Start a request, send half its body, ask the server to stop, and send the rest only once
      // it is stopping: the request is in flight throughout.
      const post = halfSentPost(port, token);
      await post.accepted;
      child.kill('SIGTERM');
      await eventually('the server logging that it shuts down', () => output.includes('shutting down'));
      post.finish();
      const { status, text } = await post.reply;
      assert.equal(status, 200, text);
      assert.equal(JSON.parse(text).tag, 'in-flight');
      assert.equal(await exited, 0);
      assert.match(output, /shutting down/);
      assert.match(output, /"msg":"stopped"/);
      assert.doesNotMatch(output, new RegExp(token));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
