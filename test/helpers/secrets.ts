/**
 * Helpers for the secrets tests (SPEC §5, §7): creating and revealing secrets over HTTP, the
 * secrets routes for the shared security suite, and direct, read-only looks at the data folder.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/db/database.js';
import { createTestStore, postgresFlavour, testDialect } from './database.js';
import { api } from './keys.js';
import type { ProtectedRoute, RouteContext, Vars } from './security.js';
import type { TestServer } from './server.js';

/** SPEC §5: `se` and 16 lowercase hex digits. */
export const SECRET_ID = /^se[0-9a-f]{16}$/;

export interface Secret {
  id: string;
  name: string;
  tag: string;
}

export interface NewSecret {
  name?: string;
  tag?: string;
  secret?: string;
  /** The caller; default: the bootstrap admin. */
  token?: string;
}

let counter = 0;

/** A tag no other test uses (SPEC §5's pattern). */
export function uniqueTag(prefix = 'tag'): string {
  counter += 1;
  return `${prefix}-${counter}-${randomBytes(4).toString('hex')}`;
}

/** A distinctive value: `length` random base62-ish characters, so finding it anywhere means a leak. */
export function marker(length = 40): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** Asserts SPEC §5's `Secret` shape: exactly `{ id, name, tag }`. */
export function assertSecretShape(body: unknown): asserts body is Secret {
  assert.equal(typeof body, 'object');
  assert.notEqual(body, null);
  assert.deepEqual(Object.keys(body as object).sort(), ['id', 'name', 'tag'], JSON.stringify(body));
  const secret = body as Secret;
  assert.match(secret.id, SECRET_ID);
  assert.equal(typeof secret.name, 'string');
  assert.equal(typeof secret.tag, 'string');
}

/** Creates a secret over HTTP, asserts the 200 and the shape, and returns it with its value. */
export async function createSecret(
  server: TestServer,
  options: NewSecret = {},
): Promise<Secret & { value: string }> {
  const tag = options.tag ?? uniqueTag('secret');
  const value = options.secret ?? marker();
  const reply = await api(server)('POST', '/api/v1/secrets', {
    token: options.token ?? server.adminToken,
    body: { name: options.name ?? `name of ${tag}`, tag, secret: value },
  });
  assert.equal(reply.status, 200, `creating a secret failed: ${reply.text}`);
  assertSecretShape(reply.body);
  return { ...reply.body, value };
}

/** PUTs a new value and asserts the 200. */
export async function changeValue(server: TestServer, tagOrId: string, value: string, token?: string) {
  const reply = await api(server)('PUT', `/api/v1/secrets/${encodeURIComponent(tagOrId)}`, {
    token: token ?? server.adminToken,
    body: { secret: value },
  });
  assert.equal(reply.status, 200, `changing a value failed: ${reply.text}`);
}

/** GET /api/v1/secrets/{tagOrId}/value (the raw reply). */
export function revealReply(
  server: TestServer,
  tagOrId: string,
  options: { version?: number; token?: string } = {},
) {
  const query = options.version === undefined ? '' : `?version=${options.version}`;
  return api(server)('GET', `/api/v1/secrets/${encodeURIComponent(tagOrId)}/value${query}`, {
    token: options.token ?? server.adminToken,
  });
}

/** Reveals a value as the admin and asserts the 200; returns the value. */
export async function reveal(server: TestServer, tagOrId: string, version?: number): Promise<string> {
  const reply = await revealReply(server, tagOrId, version === undefined ? {} : { version });
  assert.equal(reply.status, 200, `revealing ${tagOrId} failed: ${reply.text}`);
  return reply.body.value;
}

/** Reveals every secret and asserts each value. */
export async function assertAllReveal(
  server: TestServer,
  expected: ReadonlyMap<string, string> | readonly { tag: string; value: string }[],
): Promise<void> {
  const entries =
    expected instanceof Map
      ? [...expected]
      : (expected as { tag: string; value: string }[]).map((s) => [s.tag, s.value] as const);
  const values = await Promise.all(entries.map(([tag]) => reveal(server, tag)));
  entries.forEach(([tag, value], i) => {
    assert.equal(values[i], value, `the value of ${tag}`);
  });
}

// ---------------------------------------------------------------------------------------------
// The secrets routes for the shared security suite (test/helpers/security.ts).

let securityCreated = 0;

/** A fresh secret to read, update, delete or reveal, created as the admin. */
async function newSecret({ call, adminToken }: RouteContext): Promise<Vars> {
  securityCreated += 1;
  const tag = `security-${securityCreated}-${randomBytes(4).toString('hex')}`;
  const reply = await call('POST', '/api/v1/secrets', {
    token: adminToken,
    body: { name: 'security target', tag, secret: 'security value' },
  });
  assert.equal(reply.status, 200, `creating a secret failed: ${reply.text}`);
  return { tagOrId: tag };
}

/** SPEC §5's five calls and Tessera's versions, reveal, bulk reveal and change feed, one entry each. */
export const SECRET_ROUTES: readonly ProtectedRoute[] = [
  { method: 'GET', path: '/api/v1/secrets', permission: 'CREATE_SECRETS' },
  {
    method: 'POST',
    path: '/api/v1/secrets',
    permission: 'CREATE_SECRETS',
    body: () => ({
      name: 'security created',
      tag: `security-created-${++securityCreated}-${randomBytes(4).toString('hex')}`,
      secret: 'v',
    }),
  },
  { method: 'GET', path: '/api/v1/secrets/{tagOrId}', permission: 'CREATE_SECRETS', setup: newSecret },
  {
    method: 'PUT',
    path: '/api/v1/secrets/{tagOrId}',
    permission: 'CREATE_SECRETS',
    body: { name: 'security renamed' },
    setup: newSecret,
  },
  { method: 'DELETE', path: '/api/v1/secrets/{tagOrId}', permission: 'CREATE_SECRETS', setup: newSecret },
  {
    method: 'GET',
    path: '/api/v1/secrets/{tagOrId}/versions',
    permission: 'CREATE_SECRETS',
    setup: newSecret,
  },
  {
    method: 'GET',
    path: '/api/v1/secrets/{tagOrId}/value',
    permission: 'READ_SECRET_VALUES',
    setup: newSecret,
  },
  {
    method: 'GET',
    path: '/api/v1/secrets/changes',
    permission: ['CREATE_SECRETS', 'READ_SECRET_VALUES'],
  },
  {
    method: 'POST',
    path: '/api/v1/secrets/values',
    permission: 'READ_SECRET_VALUES',
    setup: newSecret,
    body: (vars: Vars) => ({ tags: [vars.tagOrId] }),
  },
];

// ---------------------------------------------------------------------------------------------
// The data folder, looked at directly.

/** Every regular file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return statSync(path).isFile() ? [path] : [];
  });
}

/** The files under `dir` (and the needle's label) in which any needle's bytes occur. */
export function findInFiles(dir: string, needles: Record<string, Buffer>): string[] {
  const found: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const [label, needle] of Object.entries(needles)) {
      if (bytes.includes(needle)) found.push(`${label} in ${file}`);
    }
  }
  return found;
}

/** The forms a leaked value may take in a file: its UTF-8 bytes, base64 and hex. */
export function encodingsOf(label: string, value: string | Buffer): Record<string, Buffer> {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return {
    [`${label} (bytes)`]: bytes,
    [`${label} (base64)`]: Buffer.from(bytes.toString('base64')),
    [`${label} (base64url)`]: Buffer.from(bytes.toString('base64url')),
    [`${label} (hex)`]: Buffer.from(bytes.toString('hex')),
    [`${label} (HEX)`]: Buffer.from(bytes.toString('hex').toUpperCase()),
  };
}

/**
 * Runs `fn` over the data folder's database, opened directly (not through the server), on the
 * dialect under test. On SQLite that is the folder's `tessera.db` file. Use it while no server
 * holds the folder open (PGlite allows one process-local user at a time).
 */
export async function withStoreOf<T>(dataDir: string, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const { store, dispose } = await createTestStore(dataDir);
  try {
    return await fn(store.db);
  } finally {
    await dispose({ drop: false });
  }
}

/**
 * Removes a data folder kept with `keepData`, and on a PostgreSQL server the schema that goes
 * with it (test/helpers/database.ts keys one schema to each data folder).
 */
export async function removeTestData(dataDir: string): Promise<void> {
  if (testDialect() === 'postgres' && postgresFlavour() === 'server') {
    const { dispose } = await createTestStore(dataDir);
    await dispose({ drop: true });
  }
  rmSync(dataDir, { recursive: true, force: true });
}

const ORDER: Record<string, string> = {
  master_keys: 'key_id',
  secret_versions: 'secret_id, version',
  secrets: 'id',
  api_keys: 'cid',
};

type Table = 'master_keys' | 'secret_versions' | 'secrets' | 'api_keys';

/** Every row of each table in key order, blobs as hex: comparable with deepEqual. One connection. */
export async function tableSnapshot(dataDir: string, ...tables: Table[]): Promise<Record<string, unknown>> {
  return withStoreOf(dataDir, async (db) => {
    const snapshot: Record<string, unknown> = {};
    for (const table of tables) {
      const { rows } = await sql<
        Record<string, unknown>
      >`select * from ${sql.table(table)} order by ${sql.raw(ORDER[table] as string)}`.execute(db);
      snapshot[table] = rows.map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? `hex:${v.toString('hex')}` : v]),
        ),
      );
    }
    return snapshot;
  });
}
