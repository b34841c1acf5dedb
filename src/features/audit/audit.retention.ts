import type { Store } from '../../db/database.js';
import { lockWithinTransaction } from '../../db/locks.js';

/**
 * Deletes events older than `cutoff`, oldest first, after recording the last deleted event's seq
 * and hash as a checkpoint: the chain stays verifiable from there; the change feed's rows up to it
 * go too. Returns how many events were deleted.
 */
export async function pruneAuditEvents(store: Store, cutoff: Date, now: () => Date = () => new Date()) {
  return store.db.transaction().execute(async (trx) => {
    await lockWithinTransaction(trx, store.dialect, 'audit');
    const last = await trx
      .selectFrom('audit_events')
      .select(['seq', 'hash'])
      .where('occurred_at', '<', cutoff.toISOString())
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (last === undefined) return 0;
    const seq = Number(last.seq);
    await trx
      .insertInto('audit_checkpoints')
      .values({ seq, hash: last.hash, created_at: now().toISOString() })
      .execute();
    const result = await trx.deleteFrom('audit_events').where('seq', '<=', seq).executeTakeFirst();
    // The secrets change feed's rows are keyed by their audit events' seq and live as long as
    // they do; the checkpoint tells a reader with an older cursor that changes were pruned.
    // (Those not yet sealed are keyed below 0, and stay: their events are newer.)
    await trx.deleteFrom('secret_changes').where('seq', '>', 0).where('seq', '<=', seq).execute();
    return Number(result.numDeletedRows);
  });
}
