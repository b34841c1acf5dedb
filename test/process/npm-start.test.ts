/**
 * `npm start` as a container runs it: npm is the process that receives the signal, and the server
 * is its script's child. SIGTERM to npm must reach the server and stop it through its normal close
 * (in-flight requests finish, storage closes, exit 0), and a Ctrl-C, which reaches every process
 * of the group and so reaches the server twice (from the terminal and from npm), must do the same.
 * The first start runs `prestart` (the build, tens of seconds on a busy machine); the second
 * skips it with `--ignore-scripts`, which still runs the start script itself.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  childEnv,
  halfSentPost,
  listeningPort,
  REPO_ROOT,
  sleep,
  waitForHealthy,
} from '../helpers/child-server.js';
import { testDialect } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';

const skip = testDialect() === 'sqlite' ? false : 'process signals run in the SQLite pass only';
/** The build in `prestart` plus start-up, on two busy cores. */
const HEALTHY_WITHIN_MS = 240_000;
const STOPPED_WITHIN_MS = 15_000;

interface NpmStart {
  npm: ChildProcess;
  port: number;
  output: string[];
  /** npm's exit: its code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The pid of the server, from its `Server listening` log line. */
  serverPid(): number;
}

const started: NpmStart[] = [];
const dataDirs: string[] = [];

/**
 * `npm start` in a process group of its own (as a container's or a terminal's), with a fresh data
 * folder and a free port, once /healthz answers.
 */
async function npmStart(args: string[] = []): Promise<NpmStart> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-npm-start-'));
  dataDirs.push(dataDir);
  const npm = spawn('npm', ['start', ...args], {
    cwd: REPO_ROOT,
    // Port 0: the server's own log line says where it listens (see listeningPort).
    env: childEnv({ TESSERA_DATA_DIR: dataDir, TESSERA_PORT: '0', TESSERA_LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const output: string[] = [];
  npm.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  npm.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const run: NpmStart = {
    npm,
    port: 0, // known once the server logs it, below
    output,
    exited,
    serverPid() {
      const line = output
        .join('')
        .split('\n')
        .find((l) => l.includes('Server listening'));
      assert.ok(line !== undefined, `no listening line in:\n${output.join('')}`);
      return JSON.parse(line).pid as number;
    },
  };
  started.push(run);
  const exitCode = () => npm.exitCode ?? (npm.signalCode === null ? undefined : null);
  const describe = () => `npm start\n${output.join('').slice(-2000)}`;
  run.port = await listeningPort(() => output.join(''), exitCode, describe, HEALTHY_WITHIN_MS);
  await waitForHealthy(`http://127.0.0.1:${run.port}`, exitCode, describe, HEALTHY_WITHIN_MS);
  return run;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether something accepts a TCP connection on the port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Until the server has logged that it is stopping. */
async function shuttingDown(run: NpmStart): Promise<void> {
  await eventually(
    'the server logging that it shuts down',
    () => run.output.join('').includes('shutting down'),
    { withinMs: STOPPED_WITHIN_MS, everyMs: 20 },
  );
}

/** What the test asserts once npm has been signalled: npm exits 0, and the server is gone. */
async function assertStoppedGracefully(run: NpmStart, serverPid: number): Promise<void> {
  const exit = await within(STOPPED_WITHIN_MS, 'npm exiting', run.exited);
  // A sleep, not a wait: what is tested is that nothing happens. An orphaned server, one npm
  // stopped waiting for, would still be running and answering half a second later.
  await sleep(500);
  assert.equal(isRunning(serverPid), false, `the server (pid ${serverPid}) is still running`);
  assert.equal(await answers(run.port), false, 'the port still answers');
  assert.deepEqual(exit, { code: 0, signal: null }, run.output.join('').slice(-2000));
  assert.match(run.output.join(''), /"msg":"stopped"/);
}

describe('npm start', { skip }, () => {
  after(() => {
    // Whatever a failed test left: each group this file started, by its id.
    for (const run of started) {
      try {
        if (run.npm.pid !== undefined) process.kill(-run.npm.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      try {
        const pid = run.serverPid();
        if (isRunning(pid)) process.kill(pid, 'SIGKILL');
      } catch {
        // never listened, or already gone
      }
    }
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  test('SIGTERM to npm stops the server through its close, and npm exits 0', {
    timeout: 300_000,
  }, async () => {
    const run = await npmStart();
    const serverPid = run.serverPid();
    assert.notEqual(serverPid, run.npm.pid);
    run.npm.kill('SIGTERM');
    await assertStoppedGracefully(run, serverPid);
  });

  test('Ctrl-C (SIGINT to the group, twice) lets an in-flight request finish, and npm exits 0', {
    timeout: 120_000,
  }, async () => {
    const run = await npmStart(['--ignore-scripts']);
    const serverPid = run.serverPid();
    const dataDir = dataDirs.at(-1) as string;
    const token = readFileSync(join(dataDir, 'bootstrap-admin.key'), 'utf8').trim();
    const post = halfSentPost(run.port, token);
    await post.accepted;
    const group = -(run.npm.pid as number);
    process.kill(group, 'SIGINT');
    await shuttingDown(run);
    // A second Ctrl-C while the server stops (npm's forward of the first may come this late too).
    process.kill(group, 'SIGINT');
    // A sleep: the second Ctrl-C must be given time to do harm (it must not cut the stop short).
    await sleep(300);
    post.finish();
    const { status, text } = await within(STOPPED_WITHIN_MS, 'the in-flight reply', post.reply);
    assert.equal(status, 200, text);
    await assertStoppedGracefully(run, serverPid);
  });
});
