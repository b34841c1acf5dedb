import type { Kysely } from 'kysely';
import { changeStampOf } from '../../db/change-stamp.js';
import { compiledInsert } from '../../db/compiled-once.js';
import type { Database, Store } from '../../db/database.js';
import { createGroupCommit, type GroupCommit } from '../../db/group-commit.js';
import { lockWithinTransaction } from '../../db/locks.js';
import type { RequestInfo } from '../../domain/caller.js';
import { UnavailableError } from '../../domain/errors.js';
import type { ObjectType } from '../../domain/object-types.js';
import { GENESIS_HASH, hashEvent } from './audit.chain.js';
import type { ActorType, AuditAction, AuditEventRow, AuditOutcome } from './audit.table.js';

/** Who did it, and from where. Never a token, a value or a body. */
export interface AuditActor {
  type: ActorType;
  id: string | null;
  ip?: string | null | undefined;
  userAgent?: string | null | undefined;
  requestId?: string | null | undefined;
}

/** The last event of the chain: the next one takes the next `seq` and chains to its `hash`. */
interface ChainHead {
  seq: number;
  hash: string;
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
 * Records one event in the transaction it is given to (see AuditLog.run), and answers its `seq`:
 * sequence numbers are taken under the chain's lock, held to the commit, so they are in commit
 * order (what the secrets change feed's cursor relies on).
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
  /** Called with each event once its transaction has committed (the SIEM export). */
  onCommitted?: (row: AuditEventRow) => void;
  /** Told, in seconds, how long each audited change took from its start to its commit (metrics). */
  onCommitDuration?: ((seconds: number) => void) | undefined;
  /**
   * Runs in the change's transaction right after each event is written (the webhook outbox), so
   * that what it writes commits or rolls back with the change. Undefined: nothing to do.
   */
  afterRecord?: ((trx: Kysely<Database>, row: AuditEventRow) => Promise<void> | undefined) | undefined;
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

// Every audited change writes one: compiled once (src/db/compiled-once.ts).
const insertEvent = compiledInsert('audit_events', {
  seq: true,
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
  prev_hash: true,
  hash: true,
});

/**
 * The audit log. Events are written inside the transaction of the change they describe, so
 * either both are stored or neither is; an event that cannot be written fails the change with a
 * 503 (fail closed). Appends are serialised (a lock on PostgreSQL, the single writer on SQLite)
 * so each event can chain to the one before.
 *
 * How changes reach storage differs by dialect. SQLite has one writer: concurrent changes share
 * transactions (group commit), so N changes cost one fsync. PostgreSQL runs each change in its own
 * transaction, in parallel on the pool; only the audit append at its end is serialised, by the
 * advisory lock, which is held from there to the commit. (Sharing one transaction there would run
 * every statement of every change one after the other on one connection: creates ran at half the
 * rate.)
 */
export function createAuditLog({ store, now, onCommitted, onCommitDuration, afterRecord }: AuditLogDeps) {
  const grouped = store.dialect === 'sqlite';
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

  async function chainHead(trx: Kysely<Database>): Promise<ChainHead> {
    if (grouped && head !== undefined) return head;
    // Taken before the head is read and held to the commit (on SQLite: nothing to take).
    await lockWithinTransaction(trx, store.dialect, 'audit');
    const last =
      (await trx
        .selectFrom('audit_events')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst()) ??
      (await trx
        .selectFrom('audit_checkpoints')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst());
    return { seq: Number(last?.seq ?? 0), hash: last?.hash ?? GENESIS_HASH };
  }

  async function append(trx: Kysely<Database>, event: AuditInput): Promise<AuditEventRow> {
    try {
      const previous = await chainHead(trx);
      const unhashed = {
        seq: previous.seq + 1,
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
      } satisfies Omit<AuditEventRow, 'hash' | 'prev_hash'>;
      const row: AuditEventRow = {
        ...unhashed,
        prev_hash: previous.hash,
        hash: hashEvent(previous.hash, unhashed),
      };
      await insertEvent(trx, row);
      if (grouped) head = { seq: unhashed.seq, hash: row.hash };
      return row;
    } catch (error) {
      throw new UnavailableError(
        'Audit log unavailable',
        'The change was not made because it could not be recorded in the audit log; retry shortly',
        error,
      );
    }
  }

  return {
    /**
     * Runs `work` with a `record` function for its audit events, in a transaction it may share
     * with concurrent calls (group commit: see createGroupCommit). Either the change and its
     * events are both committed or neither is. Resolves after the commit; the events are exported
     * only then.
     */
    async run<T>(work: (trx: Kysely<Database>, record: RecordEvent) => Promise<T>): Promise<T> {
      const rows: AuditEventRow[] = [];
      const started = onCommitDuration === undefined ? 0 : performance.now();
      const result = await commits.run(async (trx) => {
        const headBefore = head;
        try {
          return await work(trx, async (event) => {
            const row = await append(trx, event);
            rows.push(row);
            await afterRecord?.(trx, row);
            return Number(row.seq);
          });
        } catch (error) {
          // The unit is rolled back (its savepoint, or its own transaction), its events with it.
          head = headBefore;
          rows.length = 0;
          throw error;
        }
      });
      if (rows.length > 0) onCommitDuration?.((performance.now() - started) / 1000);
      for (const row of rows) onCommitted?.(row);
      return result;
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
