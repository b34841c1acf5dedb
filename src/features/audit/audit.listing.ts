import { defineListing } from '../../db/listing/define-listing.js';
import { denseSequence } from '../../db/listing/dense-sequence.js';
import { type AuditLogRow, toAuditLog } from './audit.mapping.js';

/**
 * `GET /api/v1/audit-logs`: newest first, by `seq`.
 *
 * Counted as a dense sequence (max − min + 1, a page seeks to `seq <= max − offset`), which holds
 * because the stored `seq` values are always one contiguous range:
 * - every event is appended through AuditLog.run (audit.log.ts; the denial log and its window,
 *   the services and the rekey command all write so), which takes the chain head's `seq` + 1
 *   under the audit lock (PostgreSQL) or the single writer (SQLite), held to the commit: events
 *   commit in `seq` order, one after the other. A unit that fails is rolled back with its event
 *   and the head it moved, so the next event takes the same `seq` again: no gap;
 * - with no event left, the head is the last checkpoint, so the range continues after it;
 * - retention (audit.retention.ts) deletes only a prefix (`seq <= X`, under the same lock), and
 *   nothing else deletes events: the log is hash-chained, and `tessera audit verify` reports a
 *   missing event as tampering.
 * So no write of an audited change counts anything: the log's own key is the count.
 *
 * No item texts are kept (the log is append-only and would carry every text for ever): each
 * page's rows are rendered as they are read. `id` and `actorIdentifier` are computed by
 * toAuditLog from their columns, which a list keeping texts would not allow.
 */
export const auditListing = defineListing({
  table: 'audit_events',
  key: 'seq',
  order: { by: ['seq'], direction: 'desc' },
  // As the serializer writes auditLogSchema: its required properties first, then the others.
  fields: [
    { key: 'timestamp', column: 'occurred_at' },
    { key: 'action', column: 'action' },
    { key: 'actorIdentifier', column: 'actor_id' },
    { key: 'actorType', column: 'actor_type' },
    { key: 'ipAddress', column: 'ip' },
    { key: 'objectIdentifier', column: 'object_id' },
    { key: 'objectType', column: 'object_type' },
    { key: 'outcome', column: 'outcome' },
    { key: 'id', column: 'seq' },
    { key: 'userAgent', column: 'user_agent' },
    { key: 'requestId', column: 'request_id' },
    { key: 'detail', column: 'detail' },
  ],
  toItem: (row: AuditLogRow) => toAuditLog(row),
  counting: denseSequence(),
  storesItems: false,
});
