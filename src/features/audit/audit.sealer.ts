import type { Kysely } from 'kysely';
import type { Database, Store } from '../../db/database.js';
import { lockWithinTransaction } from '../../db/locks.js';
import { rekeySealedChanges } from '../secrets/secret-changes.repository.js';
import { chainAllAfter } from './audit.chain.js';
import { readChainHead } from './audit.repository.js';
import type { AuditEventRow } from './audit.table.js';

/** Events chained in one sealing transaction at most (14 parameters each, well inside a statement's). */
export const SEAL_BATCH = 1_000;
/**
 * Every node looks for events left unsealed this often, whatever it wrote itself: so the events
 * of a node that died between its commit and its seal are sealed within about this long.
 */
export const SEAL_SWEEP_MS = 1_000;

export interface AuditSealerDeps {
  store: Pick<Store, 'db'>;
  /** Called with the events just chained, once their sealing transaction has committed (the SIEM export). */
  onSealed?: ((rows: readonly AuditEventRow[]) => void) | undefined;
  /** A sweep that failed (the database down): the events stay pending and the next sweep retries. */
  onError?: ((error: unknown) => void) | undefined;
  sweepEveryMs?: number;
}

/**
 * Chains the events that changes wrote to `audit_pending` (PostgreSQL). A change's transaction
 * only inserts its event, so audited writes run side by side on every connection of every node;
 * the chain is built here, in batches, by whichever node holds the chain's lock: each pass takes
 * it, moves every committed pending event (in `id` order) into `audit_events` with the next `seq`
 * and its hash, re-keys the secret change feed's rows written beside them, and commits. A pass
 * that dies rolls back whole: its events are still pending and the next pass takes them. Two
 * nodes sealing at once wait for each other on the lock, and the second finds what the first left.
 *
 * Passes follow one another in commit order, and a pass sees every event committed before it
 * began, so `seq` follows the order in which changes committed, batch by batch (within a batch,
 * the order of `id`: two changes to one row take their ids in the order of their row locks, since
 * each records its event after its write).
 */
export function createAuditSealer({
  store,
  onSealed,
  onError,
  sweepEveryMs = SEAL_SWEEP_MS,
}: AuditSealerDeps) {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  let sweeper: NodeJS.Timeout | undefined;

  async function sealUntilEmpty(): Promise<void> {
    for (;;) {
      const rows = await store.db.transaction().execute(sealBatch);
      if (rows.length > 0) onSealed?.(rows);
      if (rows.length < SEAL_BATCH) return;
    }
  }

  /**
   * Resolves once every event committed before the call is sealed. One pass runs at a time per
   * process; calls made while one runs share the next pass (the running one may have looked
   * before their events committed), so a burst of commits costs two passes, not one each.
   */
  function seal(): Promise<void> {
    if (running === undefined) {
      running = sealUntilEmpty().finally(() => {
        running = undefined;
      });
      return running;
    }
    queued ??= running
      .catch(() => {})
      .then(() => {
        queued = undefined;
        return seal();
      });
    return queued;
  }

  const sweep = () => {
    seal().catch((error: unknown) => onError?.(error));
  };

  return {
    seal,
    /** A change with events has committed here: seal them soon, without making it wait. */
    soon: sweep,
    /** Seals what is pending now, then every `sweepEveryMs`. */
    start(): void {
      sweep();
      sweeper ??= setInterval(sweep, sweepEveryMs).unref();
    },
    /** Stops sweeping and seals what this process wrote (a failure is reported, the events stay pending). */
    async close(): Promise<void> {
      clearInterval(sweeper);
      sweeper = undefined;
      await seal().catch((error: unknown) => onError?.(error));
    },
  };
}

/** One pass, in its own transaction: the chain's lock, then up to SEAL_BATCH pending events chained. */
async function sealBatch(trx: Kysely<Database>): Promise<AuditEventRow[]> {
  await lockWithinTransaction(trx, 'postgres', 'audit');
  const pending = await trx
    .deleteFrom('audit_pending')
    .where('id', 'in', (eb) => eb.selectFrom('audit_pending').select('id').orderBy('id').limit(SEAL_BATCH))
    .returningAll()
    .execute();
  if (pending.length === 0) return [];
  pending.sort((a, b) => Number(a.id) - Number(b.id));
  const { rows } = chainAllAfter(
    await readChainHead(trx),
    pending.map(({ id: _id, ...fields }) => fields),
  );
  await trx.insertInto('audit_events').values(rows).execute();
  const changes = pending.flatMap((event, i) =>
    event.object_type === 'SECRET' && event.action !== 'READ' ? [i] : [],
  );
  await rekeySealedChanges(
    trx,
    changes.map((i) => Number(pending[i]?.id)),
    changes.map((i) => Number(rows[i]?.seq)),
  );
  return rows;
}

/**
 * Chains whatever is pending, once, outside a server (tests and tools that read `audit_events`
 * straight after writing). Events sealed so are not exported: a server's own sealer exports.
 */
export async function sealPending(store: Pick<Store, 'db' | 'dialect'>): Promise<void> {
  if (store.dialect === 'postgres') await createAuditSealer({ store }).seal();
}
