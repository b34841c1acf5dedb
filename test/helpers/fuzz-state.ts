/**
 * What the store holds, reduced to something cheap to compare: per table a row count and a hash
 * of every row, and the audit log's last sequence number. The fuzzer takes one snapshot per
 * request, so a change is pinned to the request that made it.
 *
 * The tables are found by introspection, so a new table is watched without touching the tests.
 * The webhook outbox is left out (BACKGROUND_TABLES). The audit log is apart: denied calls are recorded by design (401 and 403, see
 * src/features/audit/audit.denials.ts), so its new rows are returned for the caller to judge. A
 * snapshot is taken once every committed event is chained (PostgreSQL writes them pending first,
 * in `audit_pending`), so a request's events, and the change-feed rows sealing re-keys, are its own.
 */
import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database, Dialect } from '../../src/db/database.js';
import { sealPending } from '../../src/features/audit/audit.sealer.js';

const AUDIT_EVENTS = 'audit_events';
const AUDIT_PENDING = 'audit_pending';
/**
 * Written on the server's own time, not by a request: the webhook delivery loop records each
 * attempt's outcome whenever it runs, so a change there cannot be pinned to the request beside it.
 */
const BACKGROUND_TABLES = new Set(['webhook_deliveries']);
/**
 * A list's counts: how they are kept (blocks and, on PostgreSQL, stripes that every node settles
 * into them on its own time) is not the request's doing; what they add up to is. So each list's
 * total is watched instead, as one pseudo-table.
 */
const COUNT_TABLES = new Set(['page_blocks', 'page_block_stripes']);
const LIST_TOTALS = 'list totals (page blocks and stripes added up)';

export interface Snapshot {
  /** Table name → `rows:hash`. */
  tables: Map<string, string>;
  /** The highest audit event sequence number (0 when empty). */
  auditSeq: number;
}

export interface NewAuditEvent {
  seq: number;
  action: string;
  outcome: string;
  detail: string | null;
}

/** Buffers (bytea, blobs) as hex and bigints as text, so every row serialises. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer')
    return Buffer.from((value as { data: number[] }).data).toString('hex');
  return value;
}

export class StoreState {
  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    readonly tables: readonly string[],
  ) {}

  /** Watches every table of the store's own schema, except the audit log's events. */
  static async open(db: Kysely<Database>, dialect: Dialect): Promise<StoreState> {
    const schema =
      dialect === 'postgres'
        ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
        : undefined;
    const tables = (await db.introspection.getTables())
      .filter((t) => schema === undefined || t.schema === schema)
      .map((t) => t.name)
      .filter(
        (name) =>
          name !== AUDIT_EVENTS &&
          name !== AUDIT_PENDING &&
          !BACKGROUND_TABLES.has(name) &&
          !COUNT_TABLES.has(name),
      )
      .sort();
    return new StoreState(db, dialect, tables);
  }

  async snapshot(): Promise<Snapshot> {
    await sealPending(this);
    const snapshot = await (this.dialect === 'postgres'
      ? this.snapshotInOneQuery()
      : this.snapshotRowByRow());
    snapshot.tables.set(LIST_TOTALS, await this.listTotals());
    return snapshot;
  }

  /** Each list's total, however its counts are kept at the moment: blocks and stripes in one statement. */
  private async listTotals(): Promise<string> {
    const { rows } = await sql<{ list: string; total: number | string }>`
      select list, sum(row_count) as total from (
        select list, row_count from page_blocks union all select list, row_count from page_block_stripes
      ) as counts group by list order by list`.execute(this.db);
    return rows.map((row) => `${row.list}:${Number(row.total)}`).join(',');
  }

  /**
   * PostgreSQL hashes every table itself, in one round trip: several times faster than reading
   * the rows, which matters most on PGlite (in-process, and the slowest database of the suite).
   */
  private async snapshotInOneQuery(): Promise<Snapshot> {
    const fingerprints = this.tables.map(
      (name, i) =>
        sql`(select count(*) || ':' || md5(coalesce(string_agg(r::text, '|' order by r::text), '')) from ${sql.table(name)} r) as ${sql.ref(`t${i}`)}`,
    );
    const { rows } = await sql<
      Record<string, string>
    >`select ${sql.join(fingerprints)}, (select max(seq) from audit_events) as seq`.execute(this.db);
    const row = rows[0] ?? {};
    return {
      tables: new Map(this.tables.map((name, i) => [name, row[`t${i}`] ?? ''])),
      auditSeq: Number(row.seq ?? 0),
    };
  }

  /** SQLite answers in-process and fast: read the rows and hash them here. */
  private async snapshotRowByRow(): Promise<Snapshot> {
    const tables = new Map<string, string>();
    for (const name of this.tables) {
      const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(this.db);
      // Row order is not guaranteed without ORDER BY (and tables differ in keys): sort the text.
      const lines = rows.map((row) => JSON.stringify(row, replacer)).sort();
      const hash = createHash('sha256');
      for (const line of lines) hash.update(line).update('\n');
      tables.set(name, `${rows.length}:${hash.digest('hex').slice(0, 16)}`);
    }
    const last = await this.db
      .selectFrom(AUDIT_EVENTS)
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst();
    return { tables, auditSeq: Number(last?.seq ?? 0) };
  }

  /** Audit events written after `seq`. */
  async auditEventsAfter(seq: number): Promise<NewAuditEvent[]> {
    const rows = await this.db
      .selectFrom(AUDIT_EVENTS)
      .select(['seq', 'action', 'outcome', 'detail'])
      .where('seq', '>', seq)
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
  }
}

/** The tables whose content differs between two snapshots, with their before/after fingerprints. */
export function changedTables(before: Snapshot, after: Snapshot): string[] {
  const names = new Set([...before.tables.keys(), ...after.tables.keys()]);
  return [...names]
    .filter((name) => before.tables.get(name) !== after.tables.get(name))
    .map((name) => `${name} (${before.tables.get(name)} → ${after.tables.get(name)})`);
}
