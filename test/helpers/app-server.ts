/**
 * A real server on a real loopback port built with buildApp options that startTestServer
 * (test/helpers/server.ts) does not pass through: trustProxy, the failed-authentication budget,
 * shortened slow-client timeouts. Same store, keyring and bootstrap as there; no captured logs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppOptions, buildApp } from '../../src/app.js';
import { masterKeyFrom } from '../../src/crypto/master-key.js';
import { generateToken } from '../../src/crypto/tokens.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { openKeyring } from '../../src/features/keyring/keyring.js';
import { createTestStore } from './database.js';

export type AppOverrides = Partial<Omit<AppOptions, 'store' | 'keyring' | 'now' | 'logStream'>>;

export interface AppServer {
  url: string;
  port: number;
  /** Token of the bootstrap ADMIN key. */
  adminToken: string;
  /** Moves the server's clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export async function startAppServer(overrides: AppOverrides = {}): Promise<AppServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  const { store, dispose } = await createTestStore(dataDir);
  const drop = async () => {
    await dispose({ drop: true });
    rmSync(dataDir, { recursive: true, force: true });
  };
  let offset = 0;
  try {
    await migrateToLatest(store.db, store.dialect);
    const keyring = await openKeyring({
      store,
      configured: masterKeyFrom(randomBytes(32)),
      source: 'test master key',
    });
    const { server, apiKeys } = await buildApp({
      rateLimitPerMinute: 100_000,
      logLevel: 'silent',
      ...overrides,
      store,
      keyring,
      now: () => new Date(Date.now() + offset),
    });
    const adminToken = generateToken();
    await apiKeys.bootstrap(adminToken);
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    return {
      url,
      port: Number(new URL(url).port),
      adminToken,
      advance(ms) {
        offset += ms;
      },
      async close() {
        keyring.close();
        await server.close();
        await drop();
      },
    };
  } catch (error) {
    await drop();
    throw error;
  }
}
