/**
 * The denial window's bounds (src/features/audit/audit.denial-window.ts), over a real audit log:
 * in a window each client has its first denial recorded at once and the rest written as one
 * count, and past the ceiling of distinct clients every further client's denials go into one
 * overflow event. So however many clients and denials, a window adds at most 2 rows per client
 * and 2 × ceiling + 1 rows in all. (Over HTTP, from one address: test/audit/events.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createDenialWindow, MAX_CLIENTS_PER_WINDOW } from '../../src/features/audit/audit.denial-window.js';
import { type AuditInput, type AuditLog, createAuditLog } from '../../src/features/audit/audit.log.js';
import type { AuditEventRow } from '../../src/features/audit/audit.table.js';
import { verifyAuditChain } from '../../src/features/audit/audit.verify.js';
import { chained, manualDenialWindow } from '../helpers/audit.js';
import { createTestStore, type TestStore } from '../helpers/database.js';

let dataDir: string;
let testStore: TestStore;
let audit: AuditLog;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-denial-window-'));
  testStore = await createTestStore(dataDir);
  await migrateToLatest(testStore.store.db, testStore.store.dialect);
  audit = createAuditLog({ store: testStore.store, now: () => new Date() });
});
after(async () => {
  await testStore?.dispose({ drop: true });
  rmSync(dataDir, { recursive: true, force: true });
});

/** An anonymous denial from `ip`, as the denial log hands it over. */
function denial(ip: string): AuditInput {
  return {
    actor: { type: 'ANONYMOUS', id: null, ip, userAgent: 'probe', requestId: `req-${ip}` },
    action: 'READ',
    objectType: 'SECRET',
    objectId: null,
    outcome: 'DENIED',
    detail: 'UNAUTHORIZED: Invalid API key',
  };
}

/** Every row, in chain order. */
const rows = async (): Promise<AuditEventRow[]> =>
  (await chained(testStore.store)).db.selectFrom('audit_events').selectAll().orderBy('seq').execute();

/**
 * `perClient` denials from each of `clients` addresses, interleaved, through a window; the ones it
 * admits are written as the denial log would. Returns the rows the whole window added.
 */
async function spray(clients: number, perClient: number, maxClients?: number): Promise<AuditEventRow[]> {
  const manual = manualDenialWindow();
  const window = createDenialWindow({
    audit,
    open: manual.open,
    ...(maxClients === undefined ? {} : { maxClients }),
    onError: (error) => {
      throw error;
    },
  });
  const before = (await rows()).length;
  for (let round = 0; round < perClient; round++) {
    for (let c = 0; c < clients; c++) {
      const ip = `198.18.${c >> 8}.${c & 255}`;
      const event = denial(ip);
      if (window.admit(ip, event)) await audit.run((_trx, record) => record(event));
    }
  }
  await manual.close();
  return (await rows()).slice(before);
}

test('past the ceiling, every further client shares one overflow event', async () => {
  const added = await spray(10, 5, 3);
  assert.equal(added.length, 2 * 3 + 1);
  const details = added.map((row) => row.detail);
  // The first denial of each of the first three clients, at once ...
  assert.deepEqual(details.slice(0, 3), Array(3).fill('UNAUTHORIZED: Invalid API key'));
  assert.deepEqual(
    added.slice(0, 3).map((row) => row.ip),
    ['198.18.0.0', '198.18.0.1', '198.18.0.2'],
  );
  // ... their other four each as one count, and the seven other clients' 35 in one event.
  assert.deepEqual(details.slice(3), [
    ...Array(3).fill(
      'UNAUTHORIZED: 4 more denials from this client within a minute of its first (the last: Invalid API key)',
    ),
    'UNAUTHORIZED: 35 denials from 7 more clients within a minute, past the 3 recorded one by one',
  ]);
  const overflow = added.at(-1);
  assert.deepEqual([overflow?.actor_type, overflow?.actor_id, overflow?.ip], ['ANONYMOUS', null, null]);
  const verified = await verifyAuditChain(testStore.store);
  assert.equal(verified.ok, true);
});

test(`the default ceiling (${MAX_CLIENTS_PER_WINDOW} clients): 1,000 clients × 3 denials add ${2 * MAX_CLIENTS_PER_WINDOW + 1} rows`, async () => {
  assert.equal(MAX_CLIENTS_PER_WINDOW, 100, 'the figure docs/audit.md and docs/security.md give');
  const added = await spray(1_000, 3);
  assert.equal(added.length, 2 * MAX_CLIENTS_PER_WINDOW + 1);
  assert.equal(
    added.at(-1)?.detail,
    'UNAUTHORIZED: 2700 denials from 900 more clients within a minute, past the 100 recorded one by one',
  );
});

test('one client alone: 2 rows a window, however many denials; the next window starts afresh', async () => {
  assert.equal((await spray(1, 500)).length, 2);
  assert.equal((await spray(1, 1)).length, 1, 'a lone denial has no count to write');
});
