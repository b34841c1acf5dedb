/**
 * Several real Tessera processes (`node --import tsx src/cli/main.ts serve`) on loopback ports,
 * sharing one PostgreSQL database and one Redis: what a fleet behind a load balancer looks like.
 * Every node starts at the same moment, so they race on migrations, the master-key record and the
 * bootstrap key exactly as a fleet rolled out at once does.
 *
 * Needs a PostgreSQL server (TEST_DATABASE_URL) and a Redis server (TEST_REDIS_URL);
 * `clusterSkipReason()` says, in one line, why a test file cannot run here.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { generateToken } from '../../src/crypto/tokens.js';
import { type ChildServer, spawnServer } from './child-server.js';

export { REPO_ROOT, request } from './child-server.js';

/**
 * Why the cluster tests cannot run here, or undefined when they can. They start real processes
 * (whatever the dialect), so they run in the postgres pass of `npm test` only.
 */
export function clusterSkipReason(): string | undefined {
  if (process.env.TESSERA_TEST_DIALECT === 'sqlite') {
    return 'cluster tests run in the postgres pass only (real server processes, not per dialect)';
  }
  if (!process.env.TEST_DATABASE_URL || !process.env.TEST_REDIS_URL) {
    return 'needs TEST_DATABASE_URL and TEST_REDIS_URL (PostgreSQL and Redis servers)';
  }
  return undefined;
}

export function requiredEnv(name: 'TEST_DATABASE_URL' | 'TEST_REDIS_URL'): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export interface Storage {
  /** The database name or schema name created for this run. */
  name: string;
  /** Where the data lives, reached directly (not through any proxy). */
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty PostgreSQL database `tessera_mn_<random>` on the server of `baseUrl`. */
export async function createDatabase(baseUrl = requiredEnv('TEST_DATABASE_URL')): Promise<Storage> {
  const name = `tessera_mn_${randomBytes(6).toString('hex')}`;
  await withClient(baseUrl, (c) => c.query(`create database ${name}`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () =>
      withClient(baseUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}

/** A fresh schema `tessera_mn_<random>` in the database of `baseUrl`, selected by search_path. */
export async function createSchema(baseUrl = requiredEnv('TEST_DATABASE_URL')): Promise<Storage> {
  const name = `tessera_mn_${randomBytes(6).toString('hex')}`;
  await withClient(baseUrl, (c) => c.query(`create schema ${name}`));
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${name}`);
  return {
    name,
    url: url.toString(),
    drop: () => withClient(baseUrl, (c) => c.query(`drop schema if exists ${name} cascade`)).then(() => {}),
  };
}

/** `url` with its host and port replaced by a loopback port (a proxy in front of the server). */
function viaLoopback(url: string, port: number | undefined): string {
  if (port === undefined) return url;
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(port);
  return parsed.toString();
}

/** One node of a cluster: a `tessera serve` child process, named 'A', 'B', 'C', ... */
export type ClusterNode = ChildServer;

export interface ClusterOptions {
  /** How many nodes (default 3). */
  nodes?: number;
  /** Extra environment for every node (e.g. TESSERA_RATE_LIMIT_PER_MINUTE). */
  env?: Record<string, string>;
  /** Extra environment for one node (0 is A), applied last. */
  nodeEnv?: (index: number) => Record<string, string>;
  /**
   * How the run's data is kept apart from everything else on the server. `schema` (default): a
   * fresh schema `tessera_mn_<random>` in TEST_DATABASE_URL's database, chosen through
   * `?options=-c search_path=...` (as a deployment sharing a database would). `database`: a
   * fresh database.
   */
  isolation?: 'database' | 'schema';
  /** Use this storage instead of creating one (the caller drops it). */
  storage?: Storage;
  /** Nodes reach PostgreSQL through this loopback port (a TcpProxy) instead of directly. */
  postgresPort?: number;
  /** Nodes reach Redis through this loopback port (a TcpProxy) instead of directly. */
  redisPort?: number;
  /** Without Redis: no REDIS_URL at all. */
  noRedis?: boolean;
}

export interface Cluster {
  nodes: ClusterNode[];
  /** TESSERA_BOOTSTRAP_TOKEN, shared by every node: the token of the one bootstrap ADMIN key. */
  adminToken: string;
  masterKey: string;
  storage: Storage;
  /** SQL against the cluster's data, directly (never through a proxy). */
  query<T extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<T[]>;
  /** Stops every node, closes connections, drops the storage, removes the data folders. */
  stop(): Promise<void>;
}

/** Starts `nodes` Tessera processes at once over fresh storage; resolves when all answer /healthz. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.nodes ?? 3;
  const storage =
    options.storage ?? (options.isolation === 'database' ? await createDatabase() : await createSchema());
  const ownsStorage = options.storage === undefined;
  const adminToken = generateToken();
  const masterKey = randomBytes(32).toString('base64');
  const databaseUrl = viaLoopback(storage.url, options.postgresPort);
  const redisUrl = viaLoopback(requiredEnv('TEST_REDIS_URL'), options.redisPort);
  const dataDirs = Array.from({ length: count }, () => mkdtempSync(join(tmpdir(), 'tessera-mn-')));
  // Each node listens on a port of its own choosing (see spawnServer).
  const nodes = dataDirs.map((dataDir, i) =>
    spawnServer(String.fromCharCode(65 + i), {
      DATABASE_URL: databaseUrl,
      ...(options.noRedis === true ? {} : { REDIS_URL: redisUrl }),
      TESSERA_MASTER_KEY: masterKey,
      TESSERA_BOOTSTRAP_TOKEN: adminToken,
      TESSERA_HOST: '127.0.0.1',
      TESSERA_DATA_DIR: dataDir,
      TESSERA_LOG_LEVEL: 'info',
      // Several clusters and test files share one server: a small pool per node is plenty.
      TESSERA_DB_POOL_SIZE: '5',
      ...options.env,
      ...options.nodeEnv?.(i),
    }),
  );
  const pool = new pg.Pool({ connectionString: storage.url, max: 2 });
  pool.on('error', () => {});

  let stopped = false;
  const cluster: Cluster = {
    nodes,
    adminToken,
    masterKey,
    storage,
    async query<T extends Record<string, unknown>>(text: string, values: unknown[] = []) {
      return (await pool.query(text, values)).rows as T[];
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(nodes.map((node) => node.stop()));
      await pool.end();
      if (ownsStorage) await storage.drop();
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    },
  };

  const started = await Promise.allSettled(nodes.map((node) => node.healthy));
  const failures = started.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
  if (failures.length > 0) {
    await cluster.stop();
    throw new Error(`the cluster did not start:\n${failures.join('\n\n')}`);
  }
  return cluster;
}

/** Creates an API key through `node` (the caller defaults to the bootstrap ADMIN key); returns it. */
export async function createKeyOn(
  node: ClusterNode,
  token: string,
  roles: string[] = ['USER'],
): Promise<{ cid: string; apiKey: string }> {
  const reply = await node.call('POST', '/api/v1/auth/key', {
    token,
    body: {
      name: `mn-key-${randomBytes(4).toString('hex')}`,
      roles: roles.map((role) => ({ type: 'DEFAULT', role })),
    },
  });
  if (reply.status !== 200)
    throw new Error(`creating a key on node ${node.name}: ${reply.status} ${reply.text}`);
  return { cid: reply.body.cid, apiKey: reply.body.apiKey };
}
