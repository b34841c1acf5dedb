import { sha256Hex } from '../../crypto/sha256.js';
import type { AuditEventFields, AuditEventRow } from './audit.table.js';

/** The hash before the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields an event's hash covers, in a fixed order: everything but the hashes themselves. */
export function hashEvent(prevHash: string, event: Omit<AuditEventRow, 'hash' | 'prev_hash'>): string {
  const fields = [
    Number(event.seq),
    event.occurred_at,
    event.actor_type,
    event.actor_id,
    event.action,
    event.object_type,
    event.object_id,
    event.ip,
    event.user_agent,
    event.request_id,
    event.outcome,
    event.detail,
  ];
  return sha256Hex(`${prevHash}\n${JSON.stringify(fields)}`);
}

/** The last event of the chain: the next one takes the next `seq` and chains to its `hash`. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** `fields` as the event after `head`: its seq, and its hash over the head's. */
export function chainAfter(head: ChainHead, fields: AuditEventFields): AuditEventRow {
  const unhashed = { seq: head.seq + 1, ...fields };
  return { ...unhashed, prev_hash: head.hash, hash: hashEvent(head.hash, unhashed) };
}

/** `fields` as the events after `head`, in order; with the head they leave. */
export function chainAllAfter(
  head: ChainHead,
  fields: readonly AuditEventFields[],
): { rows: AuditEventRow[]; head: ChainHead } {
  let previous = head;
  const rows = fields.map((event) => {
    const row = chainAfter(previous, event);
    previous = { seq: Number(row.seq), hash: row.hash };
    return row;
  });
  return { rows, head: previous };
}
