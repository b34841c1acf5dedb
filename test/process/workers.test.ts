/**
 * TESSERA_WORKERS=2: the real `tessera serve` as a primary and two worker processes on one port
 * and one SQLite database. Connections are spread over the workers; a revoked key is refused by
 * every worker within milliseconds; the rate limit is one budget across workers; writes from both workers
 * keep one intact audit chain; a worker that dies is replaced; SIGTERM stops them all; and
 * concurrent guesses over both workers spend one failed-authentication budget exactly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { generateToken } from '../../src/crypto/tokens.js';
import { connectSqlite } from '../../src/db/connect.js';
import { type ChildServer, runTessera, sleep, spawnServer } from '../helpers/child-server.js';
import { testDialect } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import type { Reply } from '../helpers/http.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';

const skip = testDialect() === 'sqlite' ? false : 'multi-process mode on SQLite runs in the SQLite pass only';
const RATE_LIMIT = 60;
const METRICS_TOKEN = 'metrics-token-for-the-workers-test-0123456789';
/** More requests at once than workers: each opens its own connection, so both workers serve some. */
const FAN_OUT = 12;
/** Start-up through tsx on two busy cores is slow (see child-server.ts); a stuck suite still fails. */
const SUITE_TIMEOUT_MS = 180_000;
const HOOK_TIMEOUT_MS = 90_000;

/** The pid of the worker whose log line carries `requestId`. */
function servedBy(server: ChildServer, requestId: string | null): number | undefined {
  const line = server.stdout.find((l) => requestId !== null && l.includes(`"requestId":"${requestId}"`));
  return line === undefined ? undefined : (JSON.parse(line) as { pid: number }).pid;
}

function workerPids(server: ChildServer): number[] {
  return server.linesMatching(/Server listening at/).map((line) => (JSON.parse(line) as { pid: number }).pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** FAN_OUT concurrent calls; the pids that served them. */
async function fanOut(
  server: ChildServer,
  method: string,
  path: string,
  token: string,
  body?: (i: number) => unknown,
) {
  const replies = await Promise.all(
    Array.from({ length: FAN_OUT }, (_, i) =>
      server.call(method, path, { token, ...(body === undefined ? {} : { body: body(i) }) }),
    ),
  );
  // A request's log line is written once its response is done, and comes through a pipe.
  const pids = await eventually('the log line of every request fanned out', () => {
    const served = replies.map((r) => servedBy(server, r.headers.get('x-request-id')));
    return served.every((pid) => pid !== undefined) && new Set(served);
  });
  return { replies, pids };
}

/** Two workers started over this data folder, once both serve: the server and its admin token. */
async function startWorkers(name: string, dataDir: string, extra: Record<string, string> = {}) {
  const server = spawnServer(name, { TESSERA_DATA_DIR: dataDir, TESSERA_WORKERS: '2', ...extra });
  try {
    await server.healthy;
    await eventually(
      'both workers serving',
      () =>
        server.linesMatching(/serving with 2 worker processes/).length === 1 &&
        workerPids(server).length === 2,
      { withinMs: 20_000 },
    );
  } catch (error) {
    // Whoever called cannot stop what it was never given.
    await server.kill();
    throw error;
  }
  return { server, admin: readFileSync(join(dataDir, 'bootstrap-admin.key'), 'utf8').trim() };
}

describe('several worker processes (TESSERA_WORKERS=2)', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  // One server for the tests that only add to its data and leave every worker running.
  let dataDir: string;
  let server: ChildServer;
  let admin: string;
  /** The key list as the first call after start-up saw it, before any test made a key. */
  let keysAtStart: Reply;

  before(
    async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'tessera-workers-'));
      ({ server, admin } = await startWorkers('workers', dataDir, {
        TESSERA_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
        TESSERA_METRICS_TOKEN: METRICS_TOKEN,
      }));
      keysAtStart = await server.call('GET', '/api/v1/auth/key', { token: admin });
    },
    { timeout: HOOK_TIMEOUT_MS },
  );

  after(
    async () => {
      await server?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    { timeout: HOOK_TIMEOUT_MS },
  );

  test('two workers listen on the one port, and connections reach both', async () => {
    const pids = workerPids(server);
    assert.equal(pids.length, 2);
    assert.notEqual(pids[0], pids[1]);
    // One bootstrap key, one master key: the first worker prepared the store alone.
    assert.equal(keysAtStart.status, 200);
    assert.equal(keysAtStart.body.total, 1);
    const { replies, pids: served } = await fanOut(server, 'GET', '/api/v1/me', admin);
    assert.ok(replies.every((r) => r.status === 200));
    assert.deepEqual([...served].sort(), [...pids].sort());
  });

  test("/metrics, scraped through either worker, sums both workers' series", async () => {
    const served = async () => {
      const reply = await server.call('GET', '/metrics', { token: METRICS_TOKEN });
      assert.equal(reply.status, 200, reply.text);
      return sampleValue(parsePrometheusText(reply.text), 'tessera_http_requests_total', {
        route: '/api/v1/me',
        status: '200',
      });
    };
    const before = await served();
    const { pids } = await fanOut(server, 'GET', '/api/v1/me', admin);
    assert.equal(pids.size, 2, 'both workers served some');
    // Every scrape, whichever worker it reaches, counts all of them.
    for (let i = 0; i < 4; i++) assert.equal((await served()) - before, FAN_OUT);
  });

  test('a key deleted through one worker is refused by every worker within milliseconds', async () => {
    const created = await server.call('POST', '/api/v1/auth/key', {
      token: admin,
      body: { name: 'revoked-soon', roles: [{ type: 'DEFAULT', role: 'USER' }] },
    });
    assert.equal(created.status, 200);
    const { apiKey, cid } = created.body;
    // Both workers have the key's grant cached.
    const warm = await fanOut(server, 'GET', '/api/v1/me', apiKey);
    assert.ok(warm.replies.every((r) => r.status === 200));
    assert.equal(warm.pids.size, 2);
    const deleted = await server.call('DELETE', `/api/v1/auth/key/${cid}`, { token: admin });
    assert.equal(deleted.status, 200);
    // The notice goes worker → primary → worker over IPC, not through the client's connection.
    // A sleep, not a poll: 50 ms is the bound under test, and each try would spend a 401 of the
    // client's failed-authentication budget.
    await sleep(50);
    const after = await fanOut(server, 'GET', '/api/v1/me', apiKey);
    assert.equal(after.pids.size, 2);
    assert.deepEqual(
      after.replies.map((r) => r.status),
      after.replies.map(() => 401),
    );
  });

  test('the rate limit is one budget across the workers', async () => {
    const created = await server.call('POST', '/api/v1/auth/key', {
      token: admin,
      body: { name: 'metered', roles: [{ type: 'DEFAULT', role: 'USER' }] },
    });
    const token = created.body.apiKey;
    let admitted = 0;
    let lastWave: number[] = [];
    // Waves of FAN_OUT over both workers, with time between them for the workers' reports.
    for (let wave = 0; wave < (2 * RATE_LIMIT) / FAN_OUT; wave++) {
      const { replies, pids } = await fanOut(server, 'GET', '/api/v1/me', token);
      assert.equal(pids.size, 2);
      lastWave = replies.map((r) => r.status);
      admitted += lastWave.filter((status) => status === 200).length;
      // The workers report what they admitted every 20 ms, and nothing a client sees says the
      // primary has the reports: each wave leaves them time to arrive before the next.
      await sleep(100);
    }
    // Alone, each worker would have admitted RATE_LIMIT: 2 × RATE_LIMIT in all.
    assert.ok(admitted >= RATE_LIMIT, `admitted ${admitted}`);
    assert.ok(admitted <= RATE_LIMIT + FAN_OUT, `admitted ${admitted}: more than one wave over the limit`);
    assert.deepEqual(
      lastWave,
      lastWave.map(() => 429),
    );
  });

  test('concurrent writes on both workers keep one intact audit chain', async () => {
    const { replies, pids } = await fanOut(server, 'POST', '/api/v1/secrets', admin, (i) => ({
      name: `from worker ${i}`,
      tag: `wk-${i}`,
      secret: `value-${i}`,
    }));
    assert.equal(pids.size, 2);
    assert.deepEqual(
      replies.map((r) => r.status),
      replies.map(() => 200),
    );
    const reveals = await fanOut(server, 'GET', '/api/v1/secrets/wk-3/value', admin);
    assert.ok(reveals.replies.every((r) => r.status === 200 && r.body.value === 'value-3'));
    const verify = await runTessera(['audit', 'verify'], { TESSERA_DATA_DIR: dataDir });
    assert.equal(verify.status, 0, `tessera audit verify\n${verify.stdout}${verify.stderr}`);
  });
});

/**
 * Two workers of the test `t`'s own, over a fresh data folder, for tests that kill or stop them:
 * stopped and the folder removed when that test ends, whatever it did (a test bound clean-up:
 * see kept-data.ts on why not an afterEach).
 */
async function ownWorkers(t: TestContext, name: string, extra: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-workers-'));
  let server: ChildServer | undefined;
  t.after(
    async () => {
      await server?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    { timeout: HOOK_TIMEOUT_MS },
  );
  const workers = await startWorkers(name, dataDir, extra);
  server = workers.server;
  return { ...workers, dataDir };
}

describe('workers that end', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  test('a worker that dies is replaced, and the port keeps answering', async (t) => {
    const { server, admin } = await ownWorkers(t, 'workers');
    const [victim] = workerPids(server);
    assert.ok(victim !== undefined);
    process.kill(victim, 'SIGKILL');
    await eventually('a replacement worker listening', () => workerPids(server).length === 3, {
      withinMs: 20_000,
    });
    assert.equal(server.linesMatching(/a worker exited; starting a new one/).length, 1);
    const { replies, pids } = await fanOut(server, 'GET', '/api/v1/me', admin);
    assert.ok(replies.every((r) => r.status === 200));
    assert.equal(pids.has(victim), false);
    assert.equal(pids.size, 2);
  });

  test('SIGTERM stops every worker, then the primary, with exit code 0; each writes its last uses', async (t) => {
    const { server, admin, dataDir } = await ownWorkers(t, 'workers');
    const pids = workerPids(server).filter(alive);
    assert.equal(pids.length, 2);
    // Both workers see the key used; neither has written it yet (they write every 20 s).
    const created = await server.call('POST', '/api/v1/auth/key', {
      token: admin,
      body: { name: 'used on both', roles: [{ type: 'DEFAULT', role: 'USER' }] },
    });
    const before = new Date().toISOString();
    assert.equal((await fanOut(server, 'GET', '/api/v1/me', created.body.apiKey)).pids.size, 2);
    await server.stop();
    assert.equal(server.exitCode(), 0);
    assert.equal(server.linesMatching(/"msg":"stopped"/).length, 3, 'two workers and the primary');
    assert.deepEqual(pids.filter(alive), []);
    const store = connectSqlite(dataDir);
    try {
      const row = await store.db
        .selectFrom('api_keys')
        .select('last_used_at')
        .where('cid', '=', created.body.cid)
        .executeTakeFirstOrThrow();
      assert.ok(row.last_used_at !== null && row.last_used_at >= before, `${row.last_used_at} < ${before}`);
    } finally {
      await store.close();
    }
  });
});

describe('the failed-authentication budget across workers', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  test('200 concurrent guesses over both workers get exactly the budget (20) of 401s', async (t) => {
    const { server, admin } = await ownWorkers(t, 'guessed', { TESSERA_AUTH_FAILURES_PER_MINUTE: '20' });
    // Well-formed tokens no key has: each is looked up before it fails.
    const replies = await Promise.all(
      Array.from({ length: 200 }, () => server.call('GET', '/api/v1/me', { token: generateToken() })),
    );
    const statuses = replies.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, 20, 'the budget, not a budget per worker');
    assert.equal(statuses.filter((s) => s === 429).length, 180);
    assert.equal((await server.call('GET', '/api/v1/me', { token: admin })).status, 200);
  });
});

describe('a primary that dies takes its workers with it', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  test('SIGKILL of the primary: both workers exit, nothing keeps the port', async (t) => {
    const { server } = await ownWorkers(t, 'orphaned');
    const pids = workerPids(server);
    await server.kill();
    await eventually('the workers gone', () => pids.every((pid) => !alive(pid)), { withinMs: 5_000 });
    await assert.rejects(server.call('GET', '/healthz', { timeoutMs: 1_000 }));
  });
});
