/**
 * The real `tessera` command as a child process (`node --import tsx src/cli/main.ts ...`): a
 * server on a loopback port that a test can call, stop gently (SIGTERM) or kill outright
 * (SIGKILL), and one-shot commands such as `audit verify`. Shared by the process, cluster and
 * crash-consistency tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type CallOptions, client, type Reply } from './http.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** How `tessera` is started: TypeScript through tsx, in the node process itself (signals reach it). */
const TSX = ['--import', 'tsx'];
export const TESSERA_CLI = [...TSX, 'src/cli/main.ts'];

/** Makes a served child say which port it bound (see listen-report.ts). */
const LISTEN_REPORT = resolve(REPO_ROOT, 'test/helpers/listen-report.ts');

/**
 * Start-up through tsx compiles the sources first: about a second on an idle machine, but
 * several nodes starting at once on two busy cores have taken over 15 s.
 */
const HEALTHY_WITHIN_MS = 45_000;
const STOP_WITHIN_MS = 5_000;
/** No single call in these tests may take longer: a hang is a failure, not a stuck run. */
const CALL_TIMEOUT_MS = 5_000;

/**
 * A loopback port that was free when asked. Nothing holds it after that: any process that binds
 * port 0 (every in-process test server does) can be given it before the caller binds it. Only for
 * a port that is never listened on (a start that must be refused); spawnServer and
 * listeningPort need none.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen({ host: '127.0.0.1', port: 0 }, () => done());
  });
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** One HTTP call with a bound: test/helpers/http.ts's client, which a stalled node cannot hang. */
export function request(
  baseUrl: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply> {
  return client(baseUrl)(method, path, { timeoutMs: CALL_TIMEOUT_MS, ...options });
}

export async function sleep(ms: number) {
  await new Promise((done) => setTimeout(done, ms));
}

/**
 * The port a `tessera serve` started with TESSERA_PORT=0 listens on, read from its own log line
 * ("Server listening at http://…:PORT", at log level info): for children started some other way
 * than spawnServer (through npm, say), so that no other process can answer in their place. Fails
 * at once when `exitCode()` says the process has exited, and after `withinMs` otherwise.
 */
export async function listeningPort(
  output: () => string,
  exitCode: () => number | null | undefined,
  describe: () => string,
  withinMs = HEALTHY_WITHIN_MS,
): Promise<number> {
  const deadline = performance.now() + withinMs;
  while (performance.now() < deadline) {
    const port = /Server listening at http:\/\/[^"\s]*:(\d+)/.exec(output())?.[1];
    if (port !== undefined) return Number(port);
    const code = exitCode();
    if (code !== undefined) throw new Error(`${describe()}\nexited with ${code} before listening`);
    await sleep(50);
  }
  throw new Error(`${describe()}\ndid not log that it listens within ${withinMs} ms`);
}

/**
 * Polls `${url}/healthz` until it answers 200. Fails at once when `exitCode()` says the process
 * has exited, and after `withinMs` otherwise; `describe()` adds what the process printed.
 */
export async function waitForHealthy(
  url: string,
  exitCode: () => number | null | undefined,
  describe: () => string = () => `the server at ${url}`,
  withinMs = HEALTHY_WITHIN_MS,
): Promise<void> {
  const deadline = performance.now() + withinMs;
  while (performance.now() < deadline) {
    const code = exitCode();
    if (code !== undefined) throw new Error(`${describe()}\nexited with ${code} before answering /healthz`);
    try {
      const reply = await request(url, 'GET', '/healthz', { timeoutMs: 1_000 });
      if (reply.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${describe()}\ndid not answer /healthz within ${withinMs} ms`);
}

/**
 * The environment of a child: ours, without anything Tessera or the test runner set (so only
 * `extra` configures it), plus `extra`.
 */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('TESSERA_') || key.startsWith('NODE_TEST') || key === 'DATABASE_URL') continue;
    if (key === 'REDIS_URL') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

function capture(stream: NodeJS.ReadableStream, into: string[]) {
  createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
    into.push(line);
  });
}

export interface ChildServer {
  /** A label for messages ('A', 'B', ... in a cluster). */
  readonly name: string;
  /** Known once `healthy` has settled: the port is the one the process itself bound. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Every line the process wrote, as it wrote it (pino JSON on stdout). */
  readonly stdout: string[];
  readonly stderr: string[];
  /** The exit code once the process has exited (null after a signal), undefined while running. */
  exitCode(): number | null | undefined;
  /** An HTTP call to this server, bounded (5 s unless `timeoutMs`). */
  call(method: string, path: string, options?: CallOptions & { timeoutMs?: number }): Promise<Reply>;
  /** stdout lines matching `pattern`, from line index `from` on. */
  linesMatching(pattern: RegExp, from?: number): string[];
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
  /** SIGKILL at once (no shutdown of any kind, as a crash or the OOM killer); resolves once it is gone. */
  kill(): Promise<void>;
}

/**
 * Starts `tessera serve` with exactly `env` (over a clean environment, see `childEnv`); it must
 * hold TESSERA_DATA_DIR. Without TESSERA_PORT the process listens on a port of the system's
 * choosing, so no other process can hold it. `healthy` settles once the process has reported the
 * port it listens on (listen-report.ts) and /healthz answers there, or rejects with what the
 * process printed: a server of someone else's that answers on the port never counts.
 */
export function spawnServer(
  name: string,
  env: Record<string, string>,
): ChildServer & { healthy: Promise<void> } {
  const asked = env.TESSERA_PORT ?? '0';
  const dataDir = env.TESSERA_DATA_DIR as string;
  const stdout: string[] = [];
  const stderr: string[] = [];
  const reportDir = mkdtempSync(join(tmpdir(), 'tessera-listen-'));
  const report = join(reportDir, 'port');
  const child: ChildProcess = spawn(
    process.execPath,
    [...TSX, '--import', LISTEN_REPORT, 'src/cli/main.ts', 'serve'],
    {
      cwd: REPO_ROOT,
      env: childEnv({ ...env, TESSERA_PORT: asked, TESSERA_TEST_LISTEN_REPORT: report }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let port: number | undefined;
  const listening = () => {
    if (port === undefined) throw new Error(`node ${name} has not reported its port yet: await healthy`);
    return port;
  };
  const url = () => `http://127.0.0.1:${listening()}`;
  if (child.stdout !== null) capture(child.stdout, stdout);
  if (child.stderr !== null) capture(child.stderr, stderr);
  let code: number | null | undefined;
  const exited = new Promise<void>((done) => {
    // 'close', not 'exit': by then every line the process wrote has been captured.
    child.once('close', (exitCode, signal) => {
      code = signal === null ? exitCode : null;
      rmSync(reportDir, { recursive: true, force: true });
      done();
    });
    child.once('error', (error) => {
      rmSync(reportDir, { recursive: true, force: true });
      stderr.push(`spawn failed: ${error.message}`);
      code = code ?? -1;
      done();
    });
  });

  const describe = () =>
    `node ${name} (port ${port ?? `${asked}, not reported`}); stderr:\n${stderr.join('\n') || '(empty)'}\nlast stdout:\n${stdout.slice(-10).join('\n') || '(empty)'}`;

  const healthy = (async () => {
    port = await reportedPort(report, () => code, describe);
    if (asked !== '0' && String(port) !== asked)
      throw new Error(`${describe()}\nlistens on ${port}, not ${asked}`);
    await waitForHealthy(url(), () => code, describe);
  })();
  return {
    name,
    get url() {
      return url();
    },
    get port() {
      return listening();
    },
    dataDir,
    stdout,
    stderr,
    healthy,
    exitCode: () => code,
    call: (method, path, options) => request(url(), method, path, options),
    linesMatching: (pattern, from = 0) => stdout.slice(from).filter((line) => pattern.test(line)),
    async stop() {
      if (code !== undefined) return;
      child.kill('SIGTERM');
      const inTime = await Promise.race([exited.then(() => true), sleep(STOP_WITHIN_MS).then(() => false)]);
      if (!inTime) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    async kill() {
      if (code !== undefined) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * The port the child reported once it listened (listen-report.ts). Fails at once when the process
 * has exited first (for instance because the port it was given is taken), and after
 * HEALTHY_WITHIN_MS otherwise.
 */
async function reportedPort(
  file: string,
  exitCode: () => number | null | undefined,
  describe: () => string,
): Promise<number> {
  const deadline = performance.now() + HEALTHY_WITHIN_MS;
  while (performance.now() < deadline) {
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // not listening yet
    }
    if (text !== undefined) return Number(text.trim());
    const code = exitCode();
    if (code !== undefined) throw new Error(`${describe()}\nexited with ${code} before listening`);
    await sleep(50);
  }
  throw new Error(`${describe()}\ndid not listen within ${HEALTHY_WITHIN_MS} ms`);
}

export interface CommandResult {
  /** The exit code (null when killed by a signal). */
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a one-shot `tessera` command (`audit verify`, `migrate`, ...) with exactly `env` over a
 * clean environment, without blocking the event loop; killed after `timeoutMs`.
 */
export async function runTessera(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<CommandResult> {
  const child = spawn(process.execPath, [...TESSERA_CLI, ...args], {
    cwd: REPO_ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const status = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('close', (exitCode) => done(exitCode));
  });
  return { status, stdout, stderr };
}

/**
 * A POST whose body is half sent: the server cannot finish closing until the rest arrives.
 * `accepted` resolves once the server has read the request's head (it answers the request's
 * `Expect: 100-continue` with 100 Continue, as Node's server does by itself) and the first half is
 * on its way: from then on the request is in flight. `finish()` sends the rest; the reply is the
 * server's answer.
 */
export function halfSentPost(port: number, token: string) {
  const body = JSON.stringify({ name: 'in flight', tag: 'in-flight', secret: 'x'.repeat(4096) });
  const half = Math.floor(body.length / 2);
  let finish = () => {};
  let accepted!: Promise<void>;
  const reply = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/secrets',
        // No keep-alive: an idle kept-alive connection would hold the close for its timeout.
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          expect: '100-continue',
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    accepted = new Promise<void>((done, fail) => {
      req.once('continue', () => req.write(body.slice(0, half), () => done()));
      req.once('error', fail);
    });
    req.flushHeaders();
    finish = () => req.end(body.slice(half));
  });
  return { reply, accepted, finish: () => finish() };
}
