/**
 * Tamper evidence (issue 5): verifyAuditChain passes on a clean log and names the first event
 * that was altered, removed or reordered; `tessera audit verify` does the same as a command
 * (exit 0 / exit 1 naming the event). Each case edits audit_events directly through Kysely and
 * puts the rows back afterwards, so the cases do not depend on each other. Anonymous denials are
 * among the events, the counted ones too (the test closes the denial window itself).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AuditEventRow } from '../../src/features/audit/audit.table.js';
import { verifyAuditChain } from '../../src/features/audit/audit.verify.js';
import { auditCount, auditRows, chained, manualDenialWindow } from '../helpers/audit.js';
import { testDialect } from '../helpers/database.js';
import { createKey } from '../helpers/keys.js';
import { changeValue, createSecret } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

/** How many events the set-up made: the tests that add events count their own. */
let total: number;
const denialWindow = manualDenialWindow();
const suite = useTestServer({ app: { denialWindow: denialWindow.open } }, async () => {
  for (let i = 0; i < 3; i++) {
    const key = await createKey(suite.server, { name: `chain-${i}` });
    const secret = await createSecret(suite.server);
    await changeValue(suite.server, secret.tag, `second value ${i}`);
    await suite.call('GET', `/api/v1/auth/key/${key.cid}`, {}); // a 401
  }
  // The first 401 is an event of its own, the other two one counted event.
  await denialWindow.close();
  total = await auditCount(suite.server);
  assert.ok(total >= 12, `${total} events`);
});

/** The row with this seq. */
async function row(seq: number): Promise<AuditEventRow> {
  return (await chained(suite.server.store)).db
    .selectFrom('audit_events')
    .selectAll()
    .where('seq', '=', seq)
    .executeTakeFirstOrThrow();
}

/** Everything of a row but its seq: what an edit or a swap changes. */
function contents(r: AuditEventRow): Omit<AuditEventRow, 'seq'> {
  const { seq: _seq, ...rest } = r;
  return rest;
}

async function setContents(seq: number, values: Partial<Omit<AuditEventRow, 'seq'>>) {
  await suite.server.store.db.updateTable('audit_events').set(values).where('seq', '=', seq).execute();
}

/** Runs `tamper`, checks verify fails at `seq` with `problem`, restores the rows, checks it passes. */
async function assertDetected(seq: number, problem: RegExp, tamper: () => Promise<void>) {
  const saved = await auditRows(suite.server);
  await tamper();
  try {
    const result = await verifyAuditChain(suite.server.store);
    assert.equal(result.ok, false, 'tampering went unnoticed');
    assert.ok(!result.ok);
    assert.equal(result.seq, seq, result.problem);
    assert.match(result.problem, problem);
    assert.equal(result.events, seq - 1, 'the events before it verified');
  } finally {
    await suite.server.store.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('audit_events').execute();
      for (const r of saved) await trx.insertInto('audit_events').values(r).execute();
    });
  }
  // Restored: the chain verifies again, every event as saved.
  assert.deepEqual(await verifyAuditChain(suite.server.store), {
    ok: true,
    events: saved.length,
    fromSeq: 1,
  });
}

describe('verifyAuditChain', () => {
  test('a clean log verifies: every event, from #1', async () => {
    const events = await auditCount(suite.server);
    assert.ok(events >= total, `${events} events`);
    assert.deepEqual(await verifyAuditChain(suite.server.store), { ok: true, events, fromSeq: 1 });
  });

  const middle = () => Math.floor(total / 2);

  for (const [column, value] of [
    ['object_id', 'some-other-tag'],
    ['actor_id', 'ak0000000000000000'],
    ['occurred_at', '2020-01-01T00:00:00.000Z'],
    ['action', 'READ'],
    ['outcome', 'DENIED'],
    ['ip', '10.9.8.7'],
    ['detail', 'value version 99'],
  ] as const) {
    test(`an edited ${column} is named as altered`, async () => {
      const seq = middle();
      assert.notEqual((await row(seq))[column], value, 'test bug: the edit changes nothing');
      await assertDetected(seq, /altered/, () => setContents(seq, { [column]: value }));
    });
  }

  test('an edit of the first and of the last event is found too', async () => {
    await assertDetected(1, /altered/, () => setContents(1, { actor_id: 'someone' }));
    const last = await auditCount(suite.server);
    await assertDetected(last, /altered/, () => setContents(last, { object_id: 'x' }));
  });

  test('an edited hash breaks the chain at that event', async () => {
    const seq = middle();
    await assertDetected(seq, /altered/, () => setContents(seq, { hash: 'f'.repeat(64) }));
  });

  test('an event deleted from the middle is named as missing', async () => {
    const seq = middle();
    await assertDetected(seq, /missing/, async () => {
      await suite.server.store.db.deleteFrom('audit_events').where('seq', '=', seq).execute();
    });
  });

  test('the first event deleted is named too', async () => {
    await assertDetected(1, /missing/, async () => {
      await suite.server.store.db.deleteFrom('audit_events').where('seq', '=', 1).execute();
    });
  });

  test('a deletion with the later events renumbered to close the gap: named at the gap', async () => {
    const seq = middle();
    await assertDetected(seq, /does not follow|altered/, async () => {
      await suite.server.store.db.deleteFrom('audit_events').where('seq', '=', seq).execute();
      for (let s = seq + 1; s <= total; s++) {
        await suite.server.store.db
          .updateTable('audit_events')
          .set({ seq: s - 1 })
          .where('seq', '=', s)
          .execute();
      }
    });
  });

  test('two events swapped (reordered): named at the earlier position', async () => {
    const a = middle();
    const b = a + 2;
    await assertDetected(a, /does not follow/, async () => {
      const [first, second] = [await row(a), await row(b)];
      await setContents(a, contents(second));
      await setContents(b, contents(first));
    });
  });

  test('concurrent changes and denials still chain: numbered without gaps, verify passes', async () => {
    await denialWindow.close();
    const before = await auditCount(suite.server);
    const replies = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        i % 3 === 0
          ? suite.call('GET', '/api/v1/secrets', {})
          : suite.call('POST', '/api/v1/secrets', {
              token: suite.server.adminToken,
              body: { name: `concurrent ${i}`, tag: `concurrent-${i}`, secret: `value ${i}` },
            }),
      ),
    );
    assert.deepEqual(
      replies.map((r) => r.status),
      Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? 401 : 200)),
    );
    // The 16 creates, the first of the 8 denials, and (once the window closes) the other 7 counted.
    await denialWindow.close();
    const rows = await auditRows(suite.server);
    assert.equal(rows.length, before + 16 + 2);
    assert.match(rows.at(-1)?.detail ?? '', /^UNAUTHORIZED: 7 more denials from this client/);
    assert.deepEqual(
      rows.map((r) => Number(r.seq)),
      Array.from({ length: rows.length }, (_, i) => i + 1),
    );
    assert.deepEqual(await verifyAuditChain(suite.server.store), {
      ok: true,
      events: rows.length,
      fromSeq: 1,
    });
  });

  test('two neighbours swapped: named at the earlier one', async () => {
    const a = middle();
    await assertDetected(a, /does not follow/, async () => {
      const [first, second] = [await row(a), await row(a + 1)];
      await setContents(a, contents(second));
      await setContents(a + 1, contents(first));
    });
  });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `tessera audit verify` from the sources, on the server's data folder. */
function auditVerify(dataDir: string): Promise<Run> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('TESSERA_')),
  );
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'verify'],
      { cwd: ROOT, env: { ...clean, TESSERA_DATA_DIR: dataDir }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        done({ code, stdout, stderr });
      },
    );
  });
}

describe('tessera audit verify', {
  skip: testDialect() === 'sqlite' ? false : 'the CLI runs on the embedded default (SQLite): covered there',
}, () => {
  test('exit 0 on a clean log; exit 1 naming the event after an edit; 0 again once restored', async () => {
    const events = await auditCount(suite.server);
    const clean = await auditVerify(suite.server.dataDir);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, new RegExp(`intact: ${events} events verified from event #1\\b`));

    const seq = Math.floor(events / 2);
    const original = await row(seq);
    await setContents(seq, { object_id: 'edited-behind-its-back' });
    try {
      const broken = await auditVerify(suite.server.dataDir);
      assert.equal(broken.code, 1, broken.stderr);
      assert.match(broken.stdout, new RegExp(`BROKEN at event #${seq}:`));
      assert.match(broken.stdout, /altered/);
    } finally {
      await setContents(seq, { object_id: original.object_id });
    }
    assert.equal((await auditVerify(suite.server.dataDir)).code, 0);
  });
});
