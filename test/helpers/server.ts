import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach } from 'node:test';
import { type App, type AppOptions, buildApp } from '../../src/app.js';
import { masterKeyFrom } from '../../src/crypto/master-key.js';
import { generateToken } from '../../src/crypto/tokens.js';
import type { Store } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import type { AuditEventRow } from '../../src/features/audit/audit.table.js';
import { type Keyring, openKeyring } from '../../src/features/keyring/keyring.js';
import { createTestStore } from './database.js';
import { api, type Call } from './keys.js';
import { registerSensitive, scanTestServer } from './sensitive.js';

export interface TestServer {
  /** Base URL on a real loopback port, e.g. http://127.0.0.1:43127 */
  url: string;
  /** Token of the bootstrap ADMIN key. */
  adminToken: string;
  dataDir: string;
  /** The master key the server runs with (32 bytes). */
  masterKey: Buffer;
  store: Store;
  keyring: Keyring;
  /** Every log line the server wrote, raw. */
  logs: string[];
  /** Moves the server's clock forward. */
  advance(ms: number): void;
  /** Writes the keys' last uses this server has seen now, instead of at its next timed flush. */
  flushLastUsed(): Promise<void>;
  /** Scans for due webhook expiry reminders now (after `advance`), instead of at the next timed scan. */
  scanReminders(): Promise<void>;
  /**
   * Stops the server, then runs the leak scan over what it left (test/helpers/sensitive.ts) and
   * throws a LeakError if a token, secret value or master key turns up; the data folder is removed
   * (unless `keepData` was set) either way. Closing again waits for the first close.
   */
  close(): Promise<void>;
}

export interface TestServerOptions {
  rateLimitPerMinute?: number;
  /** Reuse a data folder (a restart); a fresh temporary one otherwise. */
  dataDir?: string;
  /** Keep the data folder on close (for restart tests). */
  keepData?: boolean;
  masterKey?: Buffer;
  /** Token for the bootstrap key when the store is empty. */
  adminToken?: string;
  secretVersionsKept?: number;
  secretReveal?: boolean;
  /** Receives each committed audit event (buildApp's `auditExport`, the SIEM export). */
  auditExport?: (row: AuditEventRow) => void;
  /** Any other buildApp option: trustProxy, the failed-authentication budget, short timeouts. */
  app?: Partial<Omit<AppOptions, 'store' | 'keyring' | 'now' | 'logStream'>>;
}

/** A real server on a real port over a SQLite data folder, with captured logs. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tessera-test-'));
  const masterKey = options.masterKey ?? randomBytes(32);
  registerSensitive(masterKey, 'master key');
  const { store, dispose } = await createTestStore(dataDir);
  let keyring: Keyring;
  try {
    await migrateToLatest(store.db, store.dialect);
    keyring = await openKeyring({ store, configured: masterKeyFrom(masterKey), source: 'test master key' });
  } catch (error) {
    await dispose({ drop: options.dataDir === undefined });
    throw error;
  }
  const logs: string[] = [];
  let offset = 0;
  const adminToken = options.adminToken ?? generateToken();
  registerSensitive(adminToken, 'token');
  let app: App | undefined;
  let address: string;
  try {
    app = await buildApp({
      store,
      keyring,
      rateLimitPerMinute: options.rateLimitPerMinute ?? 100_000,
      logLevel: 'debug',
      logStream: { write: (line) => void logs.push(line) },
      now: () => new Date(Date.now() + offset),
      ...(options.secretVersionsKept === undefined ? {} : { secretVersionsKept: options.secretVersionsKept }),
      ...(options.secretReveal === undefined ? {} : { secretReveal: options.secretReveal }),
      ...(options.auditExport === undefined ? {} : { auditExport: options.auditExport }),
      ...options.app,
      // The tests' receivers listen on 127.0.0.1 (a test shows it refused without this).
      webhooks: { allowPrivate: true, ...options.app?.webhooks },
    });
    await app.apiKeys.bootstrap(adminToken);
    address = await app.server.listen({ host: '127.0.0.1', port: 0 });
  } catch (error) {
    // Nothing may outlive a start that failed: an open pool or listener keeps the test process
    // from ever exiting.
    keyring.close();
    await app?.server.close().catch(() => {});
    await dispose({ drop: options.dataDir === undefined });
    throw error;
  }
  const { server, lastUsed, scanReminders } = app;
  let closed: Promise<void> | undefined;
  return {
    url: address,
    adminToken,
    dataDir,
    masterKey,
    store,
    keyring,
    logs,
    advance(ms) {
      offset += ms;
    },
    flushLastUsed: () => lastUsed.flush(),
    scanReminders,
    close() {
      // Once only, however often it is called (a test and its cleanup hook may both close).
      closed ??= (async () => {
        keyring.close();
        try {
          await server.close();
          // While the store is open: the scan reads its rows, then the files under it.
          await scanTestServer({ url: address, logs, store, dataDir, adminToken, masterKey });
        } finally {
          // Whatever failed above: an open store keeps the test process from exiting.
          await dispose({ drop: options.keepData !== true });
          if (options.keepData !== true) rmSync(dataDir, { recursive: true, force: true });
        }
      })();
      return closed;
    },
  };
}

/**
 * A start that must be refused (a wrong or retired master key, say): its error. A server that
 * starts all the same is closed before the test fails, so the failure leaves nothing listening:
 * a leaked server keeps the test process from ever exiting.
 */
export async function startRefused(options: TestServerOptions): Promise<unknown> {
  let started: TestServer;
  try {
    started = await startTestServer(options);
  } catch (error) {
    return error;
  }
  await started.close();
  assert.fail('the server started, but its start should have been refused');
}

/** A suite's server and its HTTP client, started before the suite's tests (see useTestServer). */
export interface SuiteServer {
  readonly server: TestServer;
  call: Call;
}

export interface SuiteServerOptions extends TestServerOptions {
  /**
   * A fresh server (and `setUp`) for every test instead of one for the suite: for tests of what
   * cannot be undone, such as pruned events or spent rate-limit budgets.
   */
  eachTest?: boolean;
}

/**
 * The start and stop of a suite's server, in one line: started in the suite's `before`, closed
 * (with its leak scan) in its `after`. Call it in a `describe`, or at a file's top level for the
 * whole file; read `server` from the tests, once it has started. What the suite needs made before
 * its tests (keys, secrets, rows) goes in `setUp`, run in the same hook once the server answers:
 * Node 20 runs a file's top-level `before` hooks at once, not one after the other, so a hook of
 * the file's own could not count on the server having started.
 */
export function useTestServer(
  options: SuiteServerOptions = {},
  setUp?: (server: TestServer) => Promise<void> | void,
): SuiteServer {
  let started: TestServer | undefined;
  const [start, stop] = options.eachTest === true ? [beforeEach, afterEach] : [before, after];
  start(async () => {
    started = await startTestServer(options);
    await setUp?.(started);
  });
  stop(async () => {
    await started?.close();
    started = undefined;
  });
  const suite: SuiteServer = {
    get server() {
      if (started === undefined) throw new Error("the suite's server starts in its before hook");
      return started;
    },
    call: (method, path, callOptions) => api(suite.server)(method, path, callOptions),
  };
  return suite;
}
