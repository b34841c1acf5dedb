/**
 * Export for a SIEM (issue 5): buildApp's `auditExport` receives each committed event exactly
 * once, after its commit (a rolled-back event never), and createAuditExporter(file) appends one
 * JSON line per event (`"type":"tessera.audit"`, the event's fields and its chain hash) to a
 * file created with mode 0600.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError } from '../../src/config.js';
import { generateToken } from '../../src/crypto/tokens.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createAuditExporter } from '../../src/features/audit/audit.export.js';
import { createAuditLog } from '../../src/features/audit/audit.log.js';
import { toAuditLog } from '../../src/features/audit/audit.mapping.js';
import type { AuditEventRow } from '../../src/features/audit/audit.table.js';
import { verifyAuditChain } from '../../src/features/audit/audit.verify.js';
import { auditRows, auditRowsOf } from '../helpers/audit.js';
import { createTestStore } from '../helpers/database.js';
import { createKey } from '../helpers/keys.js';
import { changeValue, createSecret, marker, reveal } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';

const exported: AuditEventRow[] = [];
const tokens: string[] = [];
const values: string[] = [];
let folder: string;
const suite = useTestServer({ auditExport: (row) => void exported.push(row) }, async () => {
  folder = mkdtempSync(join(tmpdir(), 'tessera-export-'));
  tokens.push(suite.server.adminToken);
  const key = await createKey(suite.server, { roles: ['USER'] });
  tokens.push(key.apiKey);
  const secret = await createSecret(suite.server, { token: key.apiKey });
  values.push(secret.value);
  const second = marker();
  values.push(second);
  await changeValue(suite.server, secret.tag, second);
  assert.equal(await reveal(suite.server, secret.tag), second);
  // A 401 and a 403 are exported like any event...
  const unknown = generateToken();
  tokens.push(unknown);
  assert.equal((await suite.call('GET', '/api/v1/secrets', { token: unknown })).status, 401);
  assert.equal(
    (await suite.call('GET', `/api/v1/secrets/${secret.tag}/value`, { token: key.apiKey })).status,
    403,
  );
  // ...while a 400 and a 409 leave nothing to export.
  const duplicate = await suite.call('POST', '/api/v1/secrets', {
    token: suite.server.adminToken,
    body: { name: 'again', tag: secret.tag, secret: 'v' },
  });
  assert.equal(duplicate.status, 409);
  const invalid = await suite.call('POST', '/api/v1/secrets', {
    token: suite.server.adminToken,
    body: { tag: 'x' },
  });
  assert.equal(invalid.status, 400);
});

after(async () => {
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
});

test('each committed event reaches auditExport exactly once, in chain order, as stored', async () => {
  const stored = await auditRows(suite.server);
  assert.equal(stored.length, 7, 'bootstrap, key, secret, value, reveal, 401, 403; the 400 and 409 none');
  assert.deepEqual(
    exported.map((r) => Number(r.seq)),
    stored.map((r) => Number(r.seq)),
  );
  exported.forEach((row, i) => {
    const same = stored[i] as AuditEventRow;
    assert.equal(row.hash, same.hash);
    assert.deepEqual({ ...row, seq: Number(row.seq) }, { ...same, seq: Number(same.seq) });
  });
});

test('an event whose transaction rolls back is not exported (nor stored)', async (t) => {
  // A store of its own: no server's sealer beside this log's may chain (and so export) its events.
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-export-rollback-'));
  const { store, dispose } = await createTestStore(dataDir);
  t.after(async () => {
    await dispose({ drop: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
  await migrateToLatest(store.db, store.dialect);
  const seen: AuditEventRow[] = [];
  const audit = createAuditLog({
    store,
    now: () => new Date(),
    onSealed: (rows) => seen.push(...rows),
  });
  const eventCount = async () => (await auditRowsOf(store)).length;
  const events = await eventCount();
  await assert.rejects(
    audit.run(async (_trx, record) => {
      await record({
        actor: { type: 'SYSTEM', id: 'test' },
        action: 'UPDATE',
        objectType: 'API_KEY',
        objectId: null,
      });
      throw new Error('the change failed after its event was written');
    }),
    /the change failed/,
  );
  await audit.sealed();
  assert.equal(seen.length, 0, 'a rolled-back event was exported');
  assert.equal(await eventCount(), events);
  const committed = await audit.run(async (_trx, record) => {
    await record({
      actor: { type: 'SYSTEM', id: 'test' },
      action: 'READ',
      objectType: 'AUDIT_LOG',
      objectId: null,
    });
    await record({
      actor: { type: 'SYSTEM', id: 'test' },
      action: 'READ',
      objectType: 'AUDIT_LOG',
      objectId: null,
    });
    return 'done';
  });
  assert.equal(committed, 'done');
  await audit.sealed();
  assert.equal(seen.length, 2);
  assert.equal(Number(seen[1]?.seq), Number(seen[0]?.seq) + 1);
  assert.equal(seen[1]?.prev_hash, seen[0]?.hash);
  assert.equal((await verifyAuditChain(store)).ok, true);
});

test('createAuditExporter(file): one JSON line per event, type tessera.audit, with the hash; mode 0600; appends', async () => {
  const file = join(folder, 'audit.jsonl');
  const rows = await auditRows(suite.server);
  const exporter = createAuditExporter(file, (error) => assert.fail(error));
  for (const row of rows.slice(0, 3)) exporter.write(row);
  await exporter.close();
  assert.equal(statSync(file).mode & 0o777, 0o600);

  const again = createAuditExporter(file, (error) => assert.fail(error));
  for (const row of rows.slice(3)) again.write(row);
  await again.close();

  const text = readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'));
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, rows.length);
  lines.forEach((line, i) => {
    const row = rows[i] as AuditEventRow;
    const parsed = JSON.parse(line);
    assert.deepEqual(parsed, { type: 'tessera.audit', ...toAuditLog(row), hash: row.hash });
    assert.equal(parsed.id, Number(row.seq));
  });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  for (const secret of [...tokens, ...values]) assert.ok(!text.includes(secret), 'a token or value exported');
});

test('createAuditExporter(file): an unusable path is a clear start-up error; an existing file becomes 0600', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-export-'));
  try {
    assert.throws(
      () => createAuditExporter(join(dir, 'missing', 'audit.jsonl'), () => {}),
      (error: Error) => error instanceof ConfigError && /TESSERA_AUDIT_EXPORT/.test(error.message),
    );
    const existing = join(dir, 'open.jsonl');
    writeFileSync(existing, '', { mode: 0o644 });
    const exporter = createAuditExporter(existing, (error) => assert.fail(error));
    await exporter.close();
    assert.equal(statSync(existing).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
