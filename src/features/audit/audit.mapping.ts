import type { AuditEventRow } from './audit.table.js';

/** What an entry shows of its event: all but the chain's hashes. */
export type AuditLogRow = Omit<AuditEventRow, 'prev_hash' | 'hash'>;

/** A log entry in Cortex's shape, with Tessera's extra fields. */
export type AuditLogEntry = ReturnType<typeof toAuditLog>;

export function toAuditLog(row: AuditLogRow) {
  return {
    id: Number(row.seq),
    timestamp: row.occurred_at,
    action: row.action,
    actorIdentifier: row.actor_id ?? 'anonymous',
    actorType: row.actor_type,
    ipAddress: row.ip,
    userAgent: row.user_agent,
    requestId: row.request_id,
    objectIdentifier: row.object_id,
    objectType: row.object_type,
    outcome: row.outcome,
    detail: row.detail,
  };
}
