// The least a value reveal can cost under Tessera's rules, apart from Tessera: the bare baseline
// (servers/baseline.mjs) whose route does only what every reveal must do, with nothing else
// around it:
//   - two AES-256-GCM opens: the data key under the master key, then the value under the data key
//     (envelope encryption, docs/security.md);
//   - one audit event, hash-chained to the one before: no value is returned unrecorded
//     (docs/audit.md);
//   - a durable commit before answering (an acknowledged write is durable), shared by every
//     reveal that arrived in the same turn of the event loop (group commit), on SQLite in WAL mode
//     with synchronous=FULL, as Tessera opens it.
// No authentication, no permission check, no rate limit, no look-up of the secret, no logging:
// Tessera does all of these on top. Its reveal's ratio to bare can only be below this server's.
// With FLOOR_AUDIT=0 the route only decrypts: no audit event, no storage at all.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';

// The same driver per Node.js line as Tessera's (src/db/sqlite-native.ts): this baseline imports nothing of Tessera's.
const SQLite = createRequire(import.meta.url)(
  Number(process.versions.node.split('.')[0]) >= 22 ? 'better-sqlite3' : 'better-sqlite3-node20',
);

const port = Number(process.env.PORT);
const audited = process.env.FLOOR_AUDIT !== '0';
const dir = audited ? mkdtempSync(join(os.tmpdir(), 'tessera-reveal-floor-')) : undefined;

/** The audit table and its statements, on SQLite as Tessera opens it; none with FLOOR_AUDIT=0. */
function openAuditStore(folder) {
  const db = new SQLite(join(folder, 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`create table audit_events (
    seq integer primary key, at text not null, actor text not null, action text not null,
    object_type text not null, object_id text not null, ip text, user_agent text,
    request_id text not null, outcome text not null, hash blob not null)`);
  return {
    db,
    insert: db.prepare(
      'insert into audit_events (at, actor, action, object_type, object_id, ip, user_agent, request_id, outcome, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    begin: db.prepare('begin immediate'),
    commit: db.prepare('commit'),
  };
}
const store = dir === undefined ? undefined : openAuditStore(dir);

// One secret, sealed as Tessera seals it: a fresh data key wrapped by the master key, each with
// its own nonce and additional data binding it to the secret's id and version.
const TAG = 16;
function seal(key, plaintext, aad) {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  return { iv, data: Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]) };
}
function open(key, sealed, aad) {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv);
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.data.subarray(sealed.data.length - TAG));
  return Buffer.concat([decipher.update(sealed.data.subarray(0, -TAG)), decipher.final()]);
}
const masterKey = randomBytes(32);
const dataKey = randomBytes(32);
const aad = 'secret:bench-floor:1';
const wrappedKey = seal(masterKey, dataKey, aad);
const sealedValue = seal(dataKey, Buffer.from('a bench secret value'), aad);

let previousHash = Buffer.alloc(32);
let requestCounter = 0;
/** Replies waiting for the open transaction's commit; empty when none is open. */
let waiting = [];

function commitBatch() {
  const batch = waiting;
  waiting = [];
  store.commit.run();
  for (const resolve of batch) resolve();
}

function reveal(request) {
  const value = open(open(masterKey, wrappedKey, aad), sealedValue, aad).toString('utf8');
  if (store === undefined) return { value };
  const event = [
    new Date().toISOString(),
    'bench',
    'READ',
    'SECRET',
    'bench-floor',
    request.ip,
    request.headers['user-agent'] ?? null,
    `req-${++requestCounter}`,
    'SUCCESS',
  ];
  const hash = createHash('sha256').update(previousHash).update(JSON.stringify(event)).digest();
  if (waiting.length === 0) {
    store.begin.run();
    setImmediate(commitBatch);
  }
  store.insert.run(...event, hash);
  previousHash = hash;
  return new Promise((resolve) => waiting.push(() => resolve({ value })));
}

const app = Fastify({ logger: false });
app.get('/', async (request) => reveal(request));
app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ host: '127.0.0.1', port });

const stop = () =>
  app.close().then(() => {
    store?.db.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
