import type { Kysely } from 'kysely';
import type { ChangeNoticeBus } from '../../cluster/change-notice-bus.js';
import { NoticeWaiters } from '../../cluster/notice-waiters.js';
import { looksLikeId } from '../../crypto/ids.js';
import type { Database, Dialect, Store } from '../../db/database.js';
import type { Caller } from '../../domain/caller.js';
import { InvalidInputError, UnavailableError, violation } from '../../domain/errors.js';
import type { RecordEvent } from '../audit/audit.log.js';
import { decodeCursor, encodeCursor } from './secret-changes.cursor.js';
import { insertSecretChange, secretChangeBounds, secretChangesAfter } from './secret-changes.repository.js';
import { feedScopeOf } from './secret-scope.js';
import { type SecretChange, toSecretChange } from './secrets.mapping.js';
import type { SecretChangeRow } from './secrets.table.js';

/** The longest a poll may wait for a change. */
export const FEED_WAIT_MAX_SECONDS = 60;
/** Changes in one answer at most; the cursor then continues from the last one. */
export const FEED_PAGE_MAX = 500;
/** Polls that may wait at once on one node; one more is a 503 (retry shortly). */
export const FEED_WAITERS_MAX = 1_000;
/** While change notices may be missed (none configured, or the bus down), waiters look this often. */
const UNTRUSTED_POLL_MS = 500;
/** Waiters look this often even while notices are trusted (see NoticeWaiters). */
const TRUSTED_POLL_MS = 5_000;

export interface ChangeFeedQuery {
  since?: string;
  waitSeconds?: number;
}

/** A change as a write records it, in the write's transaction. */
export type RecordedChange = Omit<SecretChangeRow, 'seq'>;

/**
 * The secrets change feed. Each create, update or delete of a secret writes a row keyed by the
 * `seq` of its audit event, in the same transaction (`record`); on PostgreSQL the key is a
 * placeholder until the sealer chains the event, and the row takes its `seq` then, in the
 * sealer's transaction (audit.sealer.ts). Sequence numbers follow the commit order (of the change
 * on SQLite, of the seal on PostgreSQL), so rows become visible in `seq` order on both dialects:
 * a reader that has seen up to N can never later find a change below N, which is what makes a
 * `seq` a cursor that skips nothing. (A cursor over an auto-increment id would: PostgreSQL
 * transactions commit out of id order.) A change to how the audit log takes its sequence numbers
 * must keep them in commit order, or this feed skips rows.
 *
 * A poll with nothing new waits on the change-notice bus that every secret change is announced on
 * (NoticeWaiters), so a change on any node wakes it; while the bus is down, or when there is none,
 * it looks again every 500 ms.
 */
export function createSecretChangeFeed({
  store,
  bus,
  sealed,
}: {
  store: Store;
  bus: ChangeNoticeBus | undefined;
  /** Resolves once every event committed so far is chained (AuditLog.sealed): each look waits for it. */
  sealed: () => Promise<void>;
}) {
  const { db, dialect } = store;
  const waiters = new NoticeWaiters(bus, {
    accepts: (owner) => looksLikeId('se', owner),
    maxWaiters: FEED_WAITERS_MAX,
    pollMs: UNTRUSTED_POLL_MS,
    trustedPollMs: TRUSTED_POLL_MS,
  });

  return {
    /** Writes one change in the write's transaction, with its audit event (recorded here). */
    async record(
      trx: Kysely<Database>,
      record: RecordEvent,
      event: Parameters<RecordEvent>[0],
      change: RecordedChange,
    ): Promise<void> {
      const seq = await record(event);
      await insertSecretChange(trx, { seq, ...change });
    },

    /**
     * The changes after `since` to secrets the caller may see, oldest first; without `since`,
     * none and the cursor to start from. With nothing new, waits up to `waitSeconds` for a change.
     */
    async changes(
      caller: Caller,
      query: ChangeFeedQuery,
      signal?: AbortSignal,
    ): Promise<{ changes: SecretChange[]; cursor: string }> {
      if (query.since === undefined) {
        await sealed();
        return { changes: [], cursor: encodeCursor((await secretChangeBounds(db)).head) };
      }
      const since = decodeCursor(query.since);
      if (since === undefined) throw badCursor('is not a cursor this server wrote');
      const scope = feedScopeOf(caller);
      const deadline = Date.now() + (query.waitSeconds ?? 0) * 1000;
      for (let first = true; ; first = false) {
        const ticket = waiters.ticket();
        await sealed();
        const found = await changesAfter(db, dialect, since, scope, first);
        const left = deadline - Date.now();
        if (found.changes.length > 0 || left <= 0 || waiters.closed || signal?.aborted === true) return found;
        if (!waiters.hasRoom()) {
          throw new UnavailableError(
            'Change feed busy',
            'Too many polls of the change feed are waiting on this server; retry in a few seconds',
          );
        }
        await waiters.wait(left, ticket, signal);
      }
    },

    /** The server is stopping: every waiting poll answers now with what it has. */
    close(): void {
      waiters.close();
    },

    /** Whether close() was called. */
    closed(): boolean {
      return waiters.closed;
    },
  };
}

export type SecretChangeFeed = ReturnType<typeof createSecretChangeFeed>;

function badCursor(why: string): InvalidInputError {
  const detail = `'since' ${why}: start again without 'since' to get the current cursor`;
  return new InvalidInputError(detail, [violation('/query/since', detail)]);
}

/**
 * One look. The bounds are read first: every change at or below the head read then has committed,
 * so a look that finds nothing more visible to this caller may move the cursor up to that head
 * (a key that sees few secrets does not re-read others' changes at every poll).
 */
async function changesAfter(
  db: Kysely<Database>,
  dialect: Dialect,
  since: number,
  scope: readonly string[] | undefined,
  checkBounds: boolean,
): Promise<{ changes: SecretChange[]; cursor: string }> {
  const { head, pruned } = await secretChangeBounds(db);
  if (checkBounds && since < pruned) {
    throw badCursor('is older than the change history this server keeps (TESSERA_AUDIT_RETENTION_DAYS)');
  }
  if (checkBounds && since > head) throw badCursor('is ahead of every change this server has recorded');
  const rows = await secretChangesAfter(db, dialect, since, FEED_PAGE_MAX, scope);
  const last = Number(rows.at(-1)?.seq ?? 0);
  // A full page may have more behind it; otherwise the look saw every visible change up to its
  // own last row or the head, whichever is later (rows commit in seq order).
  const upTo = rows.length === FEED_PAGE_MAX ? last : Math.max(since, head, last);
  return { changes: rows.map(toSecretChange), cursor: encodeCursor(upTo) };
}
