import { defineListing } from '../../db/listing/define-listing.js';
import { filteredOnly } from '../../db/listing/filtered-only.js';
import { pageBlocks } from '../../db/listing/page-blocks.js';
import { toDelivery, toWebhook } from './webhooks.mapping.js';
import type { WebhookDeliveryRow, WebhookRow } from './webhooks.table.js';

/** `GET /api/v1/webhooks`: oldest first. Few and rarely listed: rendered when read. */
export const webhooksListing = defineListing({
  table: 'webhooks',
  key: 'id',
  order: { by: ['created_at', 'id'], direction: 'asc' },
  // webhookSchema's fields in its order, as toWebhook has them.
  fields: [
    { key: 'id', column: 'id' },
    { key: 'url', column: 'url' },
    { key: 'events', column: 'events', json: true },
    { key: 'description', column: 'description' },
    { key: 'createdDate', column: 'created_at' },
  ],
  toItem: (row: WebhookRow) => toWebhook(row),
  counting: pageBlocks(),
  storesItems: false,
});

/**
 * `GET /api/v1/webhooks/{id}/deliveries`: newest first, always of one webhook (a filter), so no
 * counts are kept (filtered-only.ts): the outbox rows every audited change may write cost nothing
 * more for being listed.
 */
export const deliveriesListing = defineListing({
  table: 'webhook_deliveries',
  key: 'id',
  order: { by: ['created_at', 'id'], direction: 'desc' },
  // deliverySchema's fields in its order.
  fields: [
    { key: 'id', column: 'id' },
    { key: 'eventId', column: 'event_id' },
    { key: 'eventType', column: 'event_type' },
    { key: 'status', column: 'status' },
    { key: 'attempts', column: 'attempts' },
    { key: 'responseStatus', column: 'response_status' },
    { key: 'error', column: 'last_error' },
    { key: 'createdDate', column: 'created_at' },
    { key: 'attemptedDate', column: 'attempted_at' },
  ],
  toItem: (row: WebhookDeliveryRow) => toDelivery(row),
  counting: filteredOnly(),
  storesItems: false,
});
