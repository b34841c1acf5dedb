import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/app.js';
import { generateToken } from '../../src/crypto/tokens.js';
import { connectSqlite } from '../../src/db/connect.js';
import type { Store } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';

export interface TestServer {
  /** Base URL on a real loopback port, e.g. http://127.0.0.1:43127 */
  url: string;
  /** Token of the bootstrap ADMIN key. */
  adminToken: string;
  dataDir: string;
  store: Store;
  /** Every log line the server wrote, raw. */
  logs: string[];
  /** Moves the server's clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export interface TestServerOptions {
  rateLimitPerMinute?: number;
}

/** A real server on a real port over a fresh SQLite data folder, with captured logs. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  const store = connectSqlite(dataDir);
  await migrateToLatest(store.db, store.dialect);
  const logs: string[] = [];
  let offset = 0;
  const { server, apiKeys } = await buildApp({
    store,
    rateLimitPerMinute: options.rateLimitPerMinute ?? 100_000,
    logLevel: 'debug',
    logStream: { write: (line) => void logs.push(line) },
    now: () => new Date(Date.now() + offset),
  });
  const adminToken = generateToken();
  await apiKeys.bootstrap(adminToken);
  const address = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: address,
    adminToken,
    dataDir,
    store,
    logs,
    advance(ms) {
      offset += ms;
    },
    async close() {
      await server.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
