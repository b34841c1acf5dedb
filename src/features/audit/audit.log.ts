import type { Kysely } from 'kysely';
import { changeStampOf } from '../../db/change-stamp.js';
import { compiledInsert, compiledInsertReturningId } from '../../db/compiled-once.js';
import type { Database, Store } from '../../db/database.js';
import { createGroupCommit, type GroupCommit } from '../../db/group-commit.js';
import type { RequestInfo } from '../../domain/caller.js';
import { UnavailableError } from '../../domain/errors.js';
import type { ObjectType } from '../../domain/object-types.js';
import { type ChainHead, chainAfter, chainAllAfter } from './audit.chain.js';
import { readChainHead } from './audit.repository.js';
import { createAuditSealer } from './audit.sealer.js';
import type { ActorType, AuditAction, AuditEventFields, AuditEventRow, AuditOutcome } from './audit.table.js';

/** Who did it, and from where. Never a token, a value or a body. */
export interface AuditActor {
  type: ActorType;
  id: string | null;
  ip?: string | null | undefined;
  userAgent?: string | null | undefined;
  requestId?: string | null | undefined;
}

export interface AuditInput {
  actor: AuditActor;
  action: AuditAction;
  objectType: ObjectType;
  objectId: string | null;
  outcome?: AuditOutcome;
  /** A short, fixed phrase ("value version 3"): never input the caller chose freely. */
  detail?: string | null;
}

/**
 * Records one event in the transaction it is given to (see AuditLog.run), and answers the key
 * under which rows written beside it (the secrets change feed's) find their place in the chain's
 * order. On SQLite that is the event's `seq`, taken as the event is chained at once. On PostgreSQL
 * the event is chained later, by the sealer: the key is minus its pending id, and sealing replaces
 * it with the `seq` (secret-changes.repository.ts). Either way, `seq` follows the commit order.
 */
export type RecordEvent = (event: AuditInput) => Promise<number>;

/** The audit actor for an API key's call (request fields absent when called outside HTTP). */
export function keyActor(caller: { cid: string } & Partial<RequestInfo>): AuditActor {
  return {
    type: 'API_KEY',
    id: caller.cid,
    ip: caller.ip ?? null,
    userAgent: caller.userAgent ?? null,
    requestId: caller.requestId ?? null,
  };
}

/** Tessera itself: bootstrap at first start, the rekey command. */
export function systemActor(id: string): AuditActor {
  return { type: 'SYSTEM', id };
}

export interface AuditLogDeps {
  store: Store;
  now: () => Date;
  /** Called once a change that recorded events has committed (the webhook outbox's wake-up). */
  onCommitted?: () => void;
  /** Called with events once they are chained (the SIEM export): at the commit on SQLite, at the seal on PostgreSQL. */
  onSealed?: (rows: readonly AuditEventRow[]) => void;
  /** PostgreSQL: a seal that failed; its events stay pending, and the next sweep retries. */
  onSealError?: (error: unknown) => void;
  /** Told, in seconds, how long each audited change took from its start to its commit (metrics). */
  onCommitDuration?: ((seconds: number) => void) | undefined;
  /**
   * Runs in the change's transaction right after each event is written (the webhook outbox), so
   * that what it writes commits or rolls back with the change. Undefined: nothing to do.
   */
  afterRecord?: ((trx: Kysely<Database>, row: AuditEventFields) => Promise<void> | undefined) | undefined;
}

/**
 * At most `max` UTF-16 units, as text both databases store unchanged (so the hash still matches
 * what is read back): NUL, which PostgreSQL rejects in text (a denied call to a path with %00 would
 * otherwise go unrecorded), and a surrogate half left by the cut become U+FFFD.
 */
const clip = (value: string | null | undefined, max: number) =>
  value === undefined || value === null
    ? null
    : value.slice(0, max).replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** An event's own columns, as both tables that hold events have them. */
const EVENT_FIELDS = {
  occurred_at: true,
  actor_type: true,
  actor_id: true,
  action: true,
  object_type: true,
  object_id: true,
  ip: true,
  user_agent: true,
  request_id: true,
  outcome: true,
  detail: true,
} as const satisfies Record<keyof AuditEventFields, true>;

// SQLite: every audited change writes one, chained: compiled once (src/db/compiled-once.ts).
const insertEvent = compiledInsert('audit_events', {
  seq: true,
  ...EVENT_FIELDS,
  prev_hash: true,
  hash: true,
});

/** Fail closed: what could not be recorded is not done (503). */
const unrecorded = (error: unknown) =>
  new UnavailableError(
    'Audit log unavailable',
    'The change was not made because it could not be recorded in the audit log; retry shortly',
    error,
  );

// PostgreSQL: every audited change writes one, and the sealer chains it.
const insertPending = compiledInsertReturningId('audit_pending', EVENT_FIELDS);

/**
 * The audit log. Events are written inside the transaction of the change they describe, so
 * either both are stored or neither is; an event that cannot be written fails the change with a
 * 503 (fail closed). Each event chains to the one before (audit.chain.ts), in commit order.
 *
 * How events reach the chain differs by dialect. SQLite has one writer: concurrent changes share
 * transactions (group commit), so N changes cost one fsync, and each event is chained as it is
 * written (the single writer orders them). PostgreSQL runs each change in its own transaction, in
 * parallel on the pool and across nodes; there, chaining as it writes would make every audited
 * write of the fleet wait for the one before to commit (a lock held to the commit: one
 * transaction's latency each). So a change only inserts its event, pending, and the sealer
 * (audit.sealer.ts) chains the committed events in batches, just after, under the chain's lock.
 */
export function createAuditLog({
  store,
  now,
  onCommitted,
  onSealed,
  onSealError,
  onCommitDuration,
  afterRecord,
}: AuditLogDeps) {
  const grouped = store.dialect === 'sqlite';
  const sealer = grouped ? undefined : createAuditSealer({ store, onSealed, onError: onSealError });
  /**
   * SQLite only: the last event written in the batch being committed. Batches run one at a time,
   * so after a batch's first append the head is known without reading it back.
   */
  let head: ChainHead | undefined;
  /**
   * SQLite only: the head a committed batch left, with the change stamp read inside that batch's
   * transaction just before its commit. The next batch starts from it, without reading the head
   * (about 25 µs), if its own reading of the stamp, taken under the write lock, is the same: then
   * no other process has committed and nothing else on this connection has changed a row since.
   * (A commit moves neither part of this connection's own stamp.) Any doubt reads the head again.
   */
  const stamp = grouped ? changeStampOf(store.db) : undefined;
  let committed: { head: ChainHead; stamp: string } | undefined;
  let closing: { head: ChainHead; stamp: string } | undefined;

  const commits: GroupCommit = grouped
    ? createGroupCommit({
        db: store.db,
        dialect: store.dialect,
        begin: async () => {
          head = committed !== undefined && stamp?.() === committed.stamp ? committed.head : undefined;
          committed = undefined;
        },
        beforeCommit: async () => {
          closing = head === undefined || stamp === undefined ? undefined : { head, stamp: stamp() };
        },
        afterBatch: (ok) => {
          committed = ok ? closing : undefined;
          closing = undefined;
        },
      })
    : { run: (unit) => store.db.transaction().execute(unit) };

  const fieldsOf = (event: AuditInput): AuditEventFields => ({
    occurred_at: now().toISOString(),
    actor_type: event.actor.type,
    actor_id: clip(event.actor.id, 64),
    action: event.action,
    object_type: event.objectType,
    object_id: clip(event.objectId, 256),
    ip: clip(event.actor.ip, 64),
    user_agent: clip(event.actor.userAgent, 512),
    request_id: clip(event.actor.requestId, 64),
    outcome: event.outcome ?? 'SUCCESS',
    detail: clip(event.detail, 256),
  });

  /** After a commit that recorded events: its metrics, its hooks, and the seal (PostgreSQL). */
  function afterCommit(started: number, chained: readonly AuditEventRow[]) {
    onCommitDuration?.((performance.now() - started) / 1000);
    onCommitted?.();
    if (chained.length > 0) onSealed?.(chained);
    sealer?.soon();
  }

  /** SQLite: chains the event at once, after the head this batch knows or reads (one writer: no lock). */
  async function chain(trx: Kysely<Database>, fields: AuditEventFields): Promise<AuditEventRow> {
    const row = chainAfter(head ?? (await readChainHead(trx)), fields);
    await insertEvent(trx, row);
    head = { seq: Number(row.seq), hash: row.hash };
    return row;
  }

  /** SQLite: chains events one after another and writes them with one statement. */
  async function chainAll(
    trx: Kysely<Database>,
    fields: readonly AuditEventFields[],
  ): Promise<AuditEventRow[]> {
    const chained = chainAllAfter(head ?? (await readChainHead(trx)), fields);
    const { rows } = chained;
    if (rows.length === 1) await insertEvent(trx, rows[0] as AuditEventRow);
    else await trx.insertInto('audit_events').values(rows).execute();
    head = chained.head;
    return rows;
  }

  /** Writes one event in `trx`; answers its key (see RecordEvent) and, on SQLite, its chained row. */
  async function append(
    trx: Kysely<Database>,
    fields: AuditEventFields,
  ): Promise<{ key: number; row: AuditEventRow | undefined }> {
    try {
      if (!grouped) return { key: -(await insertPending(trx, fields)), row: undefined };
      const row = await chain(trx, fields);
      return { key: Number(row.seq), row };
    } catch (error) {
      throw unrecorded(error);
    }
  }

  const log = {
    /**
     * Runs `work` with a `record` function for its audit events, in a transaction it may share
     * with concurrent calls (group commit: see createGroupCommit). Either the change and its
     * events are both committed or neither is. Resolves after the commit.
     */
    async run<T>(work: (trx: Kysely<Database>, record: RecordEvent) => Promise<T>): Promise<T> {
      const chained: AuditEventRow[] = [];
      let recorded = 0;
      const started = onCommitDuration === undefined ? 0 : performance.now();
      const result = await commits.run(async (trx) => {
        const headBefore = head;
        try {
          return await work(trx, async (event) => {
            const fields = fieldsOf(event);
            const { key, row } = await append(trx, fields);
            recorded++;
            if (row !== undefined) chained.push(row);
            await afterRecord?.(trx, fields);
            return key;
          });
        } catch (error) {
          // The unit is rolled back (its savepoint, or its own transaction), its events with it.
          head = headBefore;
          chained.length = 0;
          recorded = 0;
          throw error;
        }
      });
      if (recorded > 0) afterCommit(started, chained);
      return result;
    },

    /**
     * Records events that go with no change of their own (a value revealed, a denied call), with
     * `run`'s guarantees: resolved once they are durable, refused (503) if they cannot be. One
     * INSERT: on SQLite in the next group commit without a savepoint of its own, on PostgreSQL
     * with no transaction around it (one round trip where `run` takes three). `afterRecord` is not called for them: no
     * webhook event is made of a read or a denial.
     */
    async recordAlone(events: readonly AuditInput[]): Promise<void> {
      if (events.some((event) => event.action !== 'READ' && event.outcome !== 'DENIED')) {
        throw new Error('recordAlone takes reads and denials only: a change records its events in run()');
      }
      if (events.length === 0) return;
      const started = onCommitDuration === undefined ? 0 : performance.now();
      const fields = events.map(fieldsOf);
      if (grouped) {
        // In the next batch, chained and written in one statement: no savepoint is needed (see
        // UnitOptions), which is two statements of a reveal's three.
        const rows = await commits.run(
          async (trx) => {
            const headBefore = head;
            try {
              return await chainAll(trx, fields);
            } catch (error) {
              head = headBefore;
              throw unrecorded(error);
            }
          },
          { savepoint: false },
        );
        afterCommit(started, rows);
        return;
      }
      try {
        if (fields.length === 1) await insertPending(store.db, fields[0] as AuditEventFields);
        else await store.db.insertInto('audit_pending').values(fields).execute();
      } catch (error) {
        throw unrecorded(error);
      }
      afterCommit(started, []);
    },

    /**
     * Resolves once every event committed before the call is in the chain: a reader of the chain
     * (the audit log's pages, the change feed, `audit verify`) calls it first, so that it sees
     * its own writes. At once on SQLite, where events are chained as they are written.
     */
    async sealed(): Promise<void> {
      await sealer?.seal();
    },

    /** Starts sealing in the background (PostgreSQL): what is pending now, then a sweep every second. */
    start(): void {
      sealer?.start();
    },

    /** Stops the sweeps and seals what is pending; call it after the last change, before the store closes. */
    async close(): Promise<void> {
      await sealer?.close();
    },
  };
  return log;
}

export type AuditLog = ReturnType<typeof createAuditLog>;
