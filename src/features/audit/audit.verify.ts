import type { Store } from '../../db/database.js';
import { GENESIS_HASH, hashEvent } from './audit.chain.js';
import { auditEventsAfter, latestCheckpoint } from './audit.repository.js';

export type VerifyResult =
  | { ok: true; events: number; fromSeq: number }
  | { ok: false; seq: number; problem: string; events: number };

const BATCH = 1_000;

/**
 * Walks the chain from the latest retention checkpoint (or the beginning) and names the first
 * event that was altered, removed or reordered.
 */
export async function verifyAuditChain(store: Store): Promise<VerifyResult> {
  const checkpoint = await latestCheckpoint(store.db);
  let expectedSeq = Number(checkpoint?.seq ?? 0) + 1;
  let prevHash = checkpoint?.hash ?? GENESIS_HASH;
  const fromSeq = expectedSeq;
  let events = 0;
  for (;;) {
    const rows = await auditEventsAfter(store.db, expectedSeq - 1, BATCH);
    if (rows.length === 0) return { ok: true, events, fromSeq };
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== expectedSeq) {
        return {
          ok: false,
          seq: expectedSeq,
          problem: `event #${expectedSeq} is missing (removed); the next is #${seq}`,
          events,
        };
      }
      if (row.prev_hash !== prevHash) {
        return {
          ok: false,
          seq,
          problem: `event #${seq} does not follow event #${seq - 1} (removed or reordered)`,
          events,
        };
      }
      if (hashEvent(prevHash, row) !== row.hash) {
        return { ok: false, seq, problem: `event #${seq} was altered`, events };
      }
      prevHash = row.hash;
      expectedSeq++;
      events++;
    }
  }
}
