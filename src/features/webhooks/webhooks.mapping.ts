import type { WebhookEventType } from './webhook-events.js';
import type { DeliveryStatus, WebhookDeliveryRow, WebhookRow } from './webhooks.table.js';

/** A webhook as the API shows it: never its secret (but in the create answer). */
export interface Webhook {
  id: string;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  createdDate: string;
}

export function toWebhook(
  row: Pick<WebhookRow, 'id' | 'url' | 'events' | 'description' | 'created_at'>,
): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as WebhookEventType[],
    description: row.description,
    createdDate: row.created_at,
  };
}

export interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  responseStatus: number | null;
  error: string | null;
  createdDate: string;
  attemptedDate: string | null;
}

export function toDelivery(row: WebhookDeliveryRow): Delivery {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: Number(row.attempts),
    responseStatus: row.response_status === null ? null : Number(row.response_status),
    error: row.last_error,
    createdDate: row.created_at,
    attemptedDate: row.attempted_at,
  };
}
