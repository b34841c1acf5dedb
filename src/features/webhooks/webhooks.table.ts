import type { Selectable } from 'kysely';

/** A webhook's row (migration 0010): its signing secret sealed as a secret value is. */
export interface WebhookTable {
  id: string;
  url: string;
  /** JSON array of WebhookEventType. */
  events: string;
  description: string | null;
  secret_iv: Buffer;
  secret_data: Buffer;
  dek_iv: Buffer;
  dek_data: Buffer;
  master_key_id: string;
  created_at: string;
  updated_at: string;
}

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED';

/** One event for one webhook: the outbox row, and the delivery's record once sent. */
export interface WebhookDeliveryTable {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  /** The JSON body sent, as written with the change. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string;
  /** While a node is sending it: until when, and which node. */
  lease_until: string | null;
  leased_by: string | null;
  response_status: number | null;
  /** Why the last attempt failed, in a few words (never the response body). */
  last_error: string | null;
  created_at: string;
  attempted_at: string | null;
}

/** An expiry reminder sent (kind: `7d`, `1d`, `expired`). */
export interface WebhookReminderTable {
  cid: string;
  kind: string;
  sent_at: string;
}

export type WebhookRow = Selectable<WebhookTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveryTable>;
