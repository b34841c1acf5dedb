import type { AuditEventFields } from '../audit/audit.table.js';

/** Every event a webhook may take, in the order the docs list them. */
export const WEBHOOK_EVENTS = [
  'api_key.created',
  'api_key.updated',
  'api_key.rolled',
  'api_key.deleted',
  'api_key.expiring',
  'api_key.expired',
  'secret.created',
  'secret.updated',
  'secret.deleted',
  'token.leaked',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/**
 * The body a receiver gets. It names the object and who acted, never a token or a value: it is
 * made from the audit event, which holds neither.
 */
export interface WebhookPayload {
  id: string;
  type: WebhookEventType;
  occurredAt: string;
  object: { type: 'API_KEY' | 'SECRET'; id: string | null };
  actor: { type: string; id: string | null };
  /** The audit event's fixed phrase ("token rolled; …", "value version 3"), or the reminder's. */
  detail: string | null;
  /** api_key.expiring and api_key.expired: when the key expires. */
  expiresAt?: string;
}

/** The SYSTEM actor the token-scanning endpoint's revocations are recorded under. */
const TOKEN_SCANNING = 'token-scanning';

/**
 * The webhook events an audit event stands for: every audited change to a key or a secret has
 * one (a roll is an UPDATE whose detail says so); a key revoked by the token-scanning endpoint
 * is deleted and leaked, both. Reads and denials have none.
 */
export function webhookEventsOf(
  row: Pick<AuditEventFields, 'action' | 'object_type' | 'outcome' | 'actor_type' | 'actor_id' | 'detail'>,
): WebhookEventType[] {
  if (row.outcome !== 'SUCCESS' || row.action === 'READ') return [];
  if (row.object_type === 'API_KEY') {
    if (row.action === 'CREATE') return ['api_key.created'];
    if (row.action === 'UPDATE')
      return row.detail?.startsWith('token rolled') ? ['api_key.rolled'] : ['api_key.updated'];
    if (row.actor_type === 'SYSTEM' && row.actor_id === TOKEN_SCANNING)
      return ['api_key.deleted', 'token.leaked'];
    return ['api_key.deleted'];
  }
  if (row.object_type === 'SECRET') {
    if (row.action === 'CREATE') return ['secret.created'];
    if (row.action === 'UPDATE') return ['secret.updated'];
    return ['secret.deleted'];
  }
  return [];
}

/** An audit event's webhook payload. */
export function payloadOf(id: string, type: WebhookEventType, row: AuditEventFields): WebhookPayload {
  return {
    id,
    type,
    occurredAt: row.occurred_at,
    object: { type: row.object_type as 'API_KEY' | 'SECRET', id: row.object_id },
    actor: { type: row.actor_type, id: row.actor_id },
    detail: row.detail,
  };
}
