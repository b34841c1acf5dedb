import { statSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { encryptValue } from '../../src/crypto/envelope.js';
import { generateId } from '../../src/crypto/ids.js';
import { masterKeyFrom } from '../../src/crypto/master-key.js';
import { generateToken, hashToken } from '../../src/crypto/tokens.js';
import type { Database } from '../../src/db/database.js';
import SQLite from '../../src/db/sqlite-native.js';
import { apiKeysListing } from '../../src/features/api-keys/api-keys.listing.js';
import { secretsListing } from '../../src/features/secrets/secrets.listing.js';

/**
 * The large-data seeder: N API keys and N secrets (each with one encrypted value version) written
 * straight into a migrated SQLite database, in one transaction, through prepared statements.
 * Rows are what the service itself would write: keys carry the SHA-256 of a real, well-formed
 * token; every value is envelope-encrypted under its own data key for its own secret id and
 * version (the AAD binds both), wrapped by the configured master key.
 */
export interface SeedRequest {
  dbFile: string;
  n: number;
  /** The master key the server runs with (already recorded in master_keys by a first start). */
  masterKey: Buffer;
  /** How many tokens, spread evenly over the keys, to hand back for cache-missing look-ups. */
  sampleTokens: number;
  log?: (line: string) => void;
}

export interface Seeded {
  seconds: number;
  n: number;
  /** Token of the key in the middle of the table. */
  middleToken: string;
  /** Tokens spread evenly over the whole table. */
  sampledTokens: string[];
  middleTag: string;
  middleValue: string;
  /** Database size after seeding (main file + WAL), bytes. */
  bytes: number;
}

const KEY_COLUMNS = [
  'cid',
  'name',
  'description',
  'token_hash',
  'last4',
  'roles',
  'is_admin',
  'created_at',
  'expires_at',
  'list_item',
];
const SECRET_COLUMNS = ['id', 'tag', 'name', 'current_version', 'created_at', 'updated_at', 'list_item'];
const VERSION_COLUMNS = [
  'secret_id',
  'version',
  'value_iv',
  'value_data',
  'dek_iv',
  'dek_data',
  'master_key_id',
  'created_at',
  'created_by',
];

/** Refuses to seed a schema this seeder does not know: a new required column would make rows invalid. */
function checkColumns(db: BetterSqlite3.Database, table: string, known: string[]) {
  const columns = db.prepare(`pragma table_info(${table})`).all() as {
    name: string;
    notnull: number;
    dflt_value: unknown;
    pk: number;
  }[];
  if (columns.length === 0) throw new Error(`seed: table ${table} does not exist (not migrated?)`);
  const unknown = columns.filter((c) => !known.includes(c.name) && c.notnull === 1 && c.dflt_value === null);
  if (unknown.length > 0) {
    throw new Error(
      `seed: ${table} has required columns the seeder does not fill (${unknown.map((c) => c.name).join(', ')}); update bench/lib/seed.ts`,
    );
  }
  const missing = known.filter((name) => !columns.some((c) => c.name === name));
  if (missing.length > 0) throw new Error(`seed: ${table} lacks columns ${missing.join(', ')}`);
}

const seededValue = (i: number) => `seeded-value-${i}-${'x'.repeat(16)}`;
const seededTag = (i: number) => `seed-${i}`;

export async function seedLarge(request: SeedRequest): Promise<Seeded> {
  const { n } = request;
  const log = request.log ?? (() => {});
  const master = masterKeyFrom(request.masterKey);
  const started = performance.now();
  const middle = Math.floor(n / 2);
  const stride = Math.max(1, Math.floor(n / Math.max(1, request.sampleTokens)));
  const sampledTokens: string[] = [];
  let middleToken = '';
  const db = new SQLite(request.dbFile);
  try {
    checkColumns(db, 'api_keys', KEY_COLUMNS);
    checkColumns(db, 'secrets', SECRET_COLUMNS);
    checkColumns(db, 'secret_versions', VERSION_COLUMNS);
    const recorded = db.prepare('select state from master_keys where key_id = ?').get(master.id) as
      | { state: string }
      | undefined;
    if (recorded?.state !== 'active') {
      throw new Error(
        'seed: the master key is not the active key of this database (start the server once first)',
      );
    }

    // Seeding is set-up, not a measured write path: no fsync, a rollback journal (an empty table
    // needs almost nothing journalled, where WAL would hold a second copy of every page), and a
    // large page cache. The server switches back to WAL and durable commits when it opens the file.
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -1048576'); // 1 GiB
    db.pragma('temp_store = MEMORY');

    const insertKey = db.prepare(
      `insert into api_keys (${KEY_COLUMNS.join(', ')}) values (${KEY_COLUMNS.map(() => '?').join(', ')})`,
    );
    const insertSecret = db.prepare(
      `insert into secrets (${SECRET_COLUMNS.join(', ')}) values (${SECRET_COLUMNS.map(() => '?').join(', ')})`,
    );
    const insertVersion = db.prepare(
      `insert into secret_versions (${VERSION_COLUMNS.join(', ')}) values (${VERSION_COLUMNS.map(() => '?').join(', ')})`,
    );

    // Oldest first in the API's order: seeded rows predate anything the server creates.
    const epoch = Date.UTC(2020, 0, 1);
    const roles = JSON.stringify([{ type: 'DEFAULT', role: 'USER' }]);
    const creator = generateId('ak');
    const progressEvery = Math.max(10_000, Math.floor(n / 10));

    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const at = new Date(epoch + i * 1_000).toISOString();
        const token = generateToken();
        const cid = i === 0 ? creator : generateId('ak');
        const key = {
          cid,
          name: `seed key ${i}`,
          description: null,
          last4: token.slice(-4),
          roles,
          created_at: at,
          expires_at: null,
          allowed_ips: null,
          rate_limit_per_minute: null,
          last_used_at: null,
        };
        insertKey.run(
          cid,
          key.name,
          key.description,
          hashToken(token),
          key.last4,
          roles,
          0,
          at,
          null,
          // The item text the listing renders when a key is written (api-keys.listing.ts).
          apiKeysListing.itemText(key),
        );
        if (i === middle) middleToken = token;
        if (i % stride === Math.floor(stride / 2) && sampledTokens.length < request.sampleTokens) {
          sampledTokens.push(token);
        }

        const id = generateId('se');
        const secret = { id, tag: seededTag(i), name: `Seeded secret ${i}`, created_at: at };
        insertSecret.run(id, secret.tag, secret.name, 1, at, at, secretsListing.itemText(secret));
        const envelope = encryptValue(master, seededValue(i), id, 1);
        insertVersion.run(
          id,
          1,
          envelope.value.iv,
          envelope.value.data,
          envelope.wrappedKey.iv,
          envelope.wrappedKey.data,
          envelope.masterKeyId,
          at,
          creator,
        );
        if ((i + 1) % progressEvery === 0) {
          log(`seeded ${i + 1} of ${n} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
        }
      }
    })();
    // The rows bypassed the listings: count them as the listings would have (page blocks).
    const lists = new Kysely<Database>({ dialect: new SqliteDialect({ database: db }) });
    await apiKeysListing.recount(lists);
    await secretsListing.recount(lists);
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  const seconds = (performance.now() - started) / 1000;
  let bytes = statSync(request.dbFile).size;
  try {
    bytes += statSync(`${request.dbFile}-wal`).size;
  } catch {
    // no WAL file
  }
  return {
    seconds,
    n,
    middleToken,
    sampledTokens,
    middleTag: seededTag(middle),
    middleValue: seededValue(middle),
    bytes,
  };
}
