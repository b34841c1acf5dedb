/**
 * Crash consistency: the real `tessera serve` process is killed with SIGKILL in the middle of a
 * storm of concurrent writes, then restarted on the same data with the same master key. Every
 * write whose 200 fully arrived must be there (and decrypt); writes cut off by the kill may have
 * landed or not, but never in part; the stored data passes its integrity checks and the audit
 * chain verifies. Several kill/restart rounds per dialect: SQLite (the embedded default) in the
 * sqlite pass, a PostgreSQL server in the postgres pass.
 *
 * A process kill is not a power cut: what the process handed to the operating system survives it.
 * So this tests atomicity and recovery (no half-written transaction, no answer before the commit),
 * not whether commits reach the disk.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generateToken } from '../../src/crypto/tokens.js';
import { connectSqlite, SQLITE_FILE_NAME } from '../../src/db/connect.js';
import { connectPostgres } from '../../src/db/connect-postgres.js';
import type { Store } from '../../src/db/database.js';
import { sealPending } from '../../src/features/audit/audit.sealer.js';
import { verifyAuditChain } from '../../src/features/audit/audit.verify.js';
import { type ChildServer, runTessera, spawnServer } from '../helpers/child-server.js';
import { createSchema, type Storage } from '../helpers/cluster.js';
import { testDialect } from '../helpers/database.js';
import { checkRecovery } from '../helpers/recovery-check.js';
import {
  inspectPostgres,
  inspectSqlite,
  invariantProblems,
  type StoredRows,
} from '../helpers/stored-state.js';
import { type AckedWrite, newLedger, runStorm } from '../helpers/write-storm.js';

const ROUNDS = 3;
const CLIENTS = 32;
/** Each storm runs a random 0.5 to 2 s before the kill, so the kill lands at a different moment each time. */
const stormMs = () => 500 + randomInt(1_500);

const dialect = testDialect();
const skip =
  dialect === 'postgres' && !process.env.TEST_DATABASE_URL
    ? 'crash consistency on PostgreSQL needs TEST_DATABASE_URL (a child server cannot share the in-process PGlite)'
    : false;

/** Acknowledged writes whose audit event (found by the response's request id) is missing or wrong. */
function missingAuditEvents(acked: AckedWrite[], rows: StoredRows): string[] {
  const byRequest = new Map(rows.audit.map((e) => [e.request_id, e]));
  return acked.flatMap((write) => {
    const event = byRequest.get(write.requestId);
    const ok =
      event !== undefined &&
      event.action === write.action &&
      event.object_type === write.objectType &&
      event.object_id === write.objectId;
    return ok
      ? []
      : [`${write.kind} of ${write.objectId} (request ${write.requestId}) has no matching audit event`];
  });
}

/** Walks the audit hash chain of `store` (the code `tessera audit verify` runs), then closes it. */
async function assertChainIntact(store: Store, what: string) {
  try {
    const result = await verifyAuditChain(store);
    assert.ok(result.ok, `${what}: ${JSON.stringify(result)}`);
  } finally {
    await store.close();
  }
}

/**
 * The data exactly as the crash left it, checked before any restart touches it. A SQLite file
 * (with its WAL) is copied first, so the restarted server still recovers the original itself.
 */
async function inspectCrashedData(
  dataDir: string,
  storage: Storage | undefined,
  round: number,
): Promise<StoredRows> {
  if (storage !== undefined) {
    // Events committed but not yet chained when the process died are chained first, as the next
    // node to start (or any running node's sweep, or `tessera audit verify`) does.
    const store = connectPostgres(storage.url, 1);
    await sealPending(store);
    await assertChainIntact(store, `round ${round}: audit chain after the kill`);
    return inspectPostgres(storage.url);
  }
  const copy = join(dataDir, `inspect-${round}`);
  mkdirSync(copy);
  try {
    for (const suffix of ['', '-wal', '-shm']) {
      const file = join(dataDir, SQLITE_FILE_NAME + suffix);
      if (existsSync(file)) cpSync(file, join(copy, SQLITE_FILE_NAME + suffix));
    }
    const inspection = inspectSqlite(join(copy, SQLITE_FILE_NAME));
    assert.deepEqual(inspection.integrity, ['ok'], `round ${round}: PRAGMA integrity_check after the kill`);
    assert.equal(
      inspection.foreignKeyViolations,
      0,
      `round ${round}: PRAGMA foreign_key_check after the kill`,
    );
    await assertChainIntact(connectSqlite(copy), `round ${round}: audit chain after the kill`);
    return inspection.rows;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

describe('crash consistency: SIGKILL during a storm of concurrent writes', { skip }, () => {
  test(`${dialect}: every acknowledged write survives ${ROUNDS} kill/restart cycles`, {
    timeout: 180_000,
  }, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-crash-'));
    const storage: Storage | undefined = dialect === 'postgres' ? await createSchema() : undefined;
    const masterKey = randomBytes(32);
    const adminToken = generateToken();
    const env: Record<string, string> = {
      TESSERA_HOST: '127.0.0.1',
      TESSERA_DATA_DIR: dataDir,
      TESSERA_MASTER_KEY: masterKey.toString('base64'),
      TESSERA_BOOTSTRAP_TOKEN: adminToken,
      // The storm is far above the default budget; rate limits are not under test here.
      TESSERA_RATE_LIMIT_PER_MINUTE: '1000000',
      // Checking that deleted keys stay deleted is a run of 401s from one address: not a brute force.
      TESSERA_AUTH_FAILURES_PER_MINUTE: '1000000',
      TESSERA_LOG_LEVEL: 'warn',
      ...(storage === undefined ? {} : { DATABASE_URL: storage.url, TESSERA_DB_POOL_SIZE: '8' }),
    };
    const servers: ChildServer[] = [];
    const start = async () => {
      // A port of the process's own: see spawnServer.
      const server = spawnServer(`crash-${servers.length}`, env);
      servers.push(server);
      await server.healthy;
      return server;
    };

    const ledger = newLedger();
    let totalAcked = 0;
    let totalRecovered = 0;
    try {
      let server = await start();
      for (let round = 1; round <= ROUNDS; round++) {
        const durationMs = stormMs();
        const victim = server;
        const storm = await runStorm(ledger, {
          url: victim.url,
          token: adminToken,
          clients: CLIENTS,
          durationMs,
          tagPrefix: `crash-r${round}`,
          kill: () => victim.kill(),
        });
        assert.deepEqual(
          storm.unexpected.slice(0, 5),
          [],
          `round ${round}: ${storm.unexpected.length} writes refused or broken while the server was up; ` +
            `the server printed:\n${[...victim.stderr, ...victim.stdout].slice(-5).join('\n')}`,
        );
        assert.ok(storm.acked.length > 0, `round ${round}: no write was acknowledged before the kill`);

        // Sound storage, no partial rows, every version decrypts, nothing unaudited.
        const rows = await inspectCrashedData(dataDir, storage, round);
        assert.deepEqual(
          invariantProblems(rows, masterKey),
          [],
          `round ${round}: stored invariants after the kill`,
        );
        assert.deepEqual(
          missingAuditEvents(storm.acked, rows),
          [],
          `round ${round}: audit events of acknowledged writes`,
        );

        // Restart on the same data and master key: the API must show every acknowledged write.
        server = await start();
        const recovery = await checkRecovery(server.url, adminToken, ledger);
        assert.deepEqual(recovery.problems, [], `round ${round}: acknowledged writes after the restart`);
        const recovered = storm.acked.filter((write) => recovery.consistent.has(write.objectId)).length;
        assert.equal(recovered, storm.acked.length, `round ${round}: recovered`);

        totalAcked += storm.acked.length;
        totalRecovered += recovered;
        t.diagnostic(
          `round ${round}: killed ${durationMs} ms into the storm; ${storm.acked.length} writes acknowledged, ` +
            `${storm.inFlightAtKill} in flight at the kill, ${storm.unanswered} of them never answered ` +
            `(${recovery.landed} seen landed, ${recovery.notLanded} seen not, the rest key creates whose token never came), ` +
            `${recovered} recovered; ${rows.audit.length} audit events`,
        );
      }
      await server.stop();
      assert.equal(server.exitCode(), 0, 'the last server stops cleanly');

      // The restarted data, stopped: the audit command a user runs, and the same storage checks.
      const verify = await runTessera(['audit', 'verify'], env);
      assert.equal(verify.status, 0, `tessera audit verify\n${verify.stdout}${verify.stderr}`);
      assert.match(verify.stdout, /audit log intact/);
      let final: StoredRows;
      if (storage === undefined) {
        const inspection = inspectSqlite(join(dataDir, SQLITE_FILE_NAME));
        assert.deepEqual(inspection.integrity, ['ok'], 'PRAGMA integrity_check after the last stop');
        final = inspection.rows;
      } else {
        final = await inspectPostgres(storage.url);
      }
      assert.deepEqual(invariantProblems(final, masterKey), [], 'stored invariants after the last stop');

      // Nothing the clients sent or received may show up in what the processes printed.
      const printed = servers.flatMap((s) => [...s.stdout, ...s.stderr]).join('\n');
      assert.ok(!printed.includes(adminToken), 'the admin token appears in server output');
      for (const secret of ledger.secrets.values()) {
        assert.ok(
          !printed.includes(secret.value),
          `a secret value of ${secret.tag} appears in server output`,
        );
      }
      t.diagnostic(
        `${dialect}: ${totalAcked} writes acknowledged and ${totalRecovered} recovered over ${ROUNDS} SIGKILL/restart cycles; ` +
          verify.stdout.trim(),
      );
    } finally {
      await Promise.all(servers.map((s) => s.kill()));
      await storage?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
