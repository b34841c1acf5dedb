import { pageOf } from '../../http/pagination.js';
import { DESCRIPTION_TEXT_PATTERN } from '../../http/schemas.js';
import { WEBHOOK_EVENTS, type WebhookEventType } from './webhook-events.js';

export const URL_MAX = 2048;
const DESCRIPTION_MAX = 4096;

const eventsField = {
  type: 'array',
  description:
    'The events the endpoint receives (at least one); each kept once, in the order of the events table.',
  minItems: 1,
  maxItems: WEBHOOK_EVENTS.length * 2,
  items: { type: 'string', enum: WEBHOOK_EVENTS },
} as const;

export const webhookSchema = {
  type: 'object',
  description: 'A webhook (Tessera extension): an endpoint that receives signed events.',
  required: ['id', 'url', 'events', 'description', 'createdDate'],
  properties: {
    id: { type: 'string', examples: ['wh3f9a0c1b2d4e5f60'] },
    url: { type: 'string' },
    events: { type: 'array', items: { type: 'string', enum: WEBHOOK_EVENTS } },
    description: { type: ['string', 'null'] },
    createdDate: { type: 'string', format: 'date-time' },
  },
} as const;

export const createdWebhookSchema = {
  ...webhookSchema,
  description: 'The webhook, with its signing secret: shown this once.',
  required: [...webhookSchema.required, 'secret'],
  properties: {
    ...webhookSchema.properties,
    secret: {
      type: 'string',
      description: 'Keys the HMAC-SHA256 of every delivery (Tessera-Signature). Shown only in this answer.',
    },
  },
} as const;

export const webhookListSchema = pageOf('webhooks', webhookSchema);

export const webhookBody = {
  type: 'object',
  required: ['url', 'events'],
  additionalProperties: false,
  properties: {
    url: {
      type: 'string',
      description:
        'An http or https URL without credentials, at most 2048 characters. Loopback, private and link-local addresses are refused unless TESSERA_WEBHOOK_ALLOW_PRIVATE=true.',
      minLength: 1,
      maxLength: URL_MAX,
    },
    events: eventsField,
    description: {
      type: ['string', 'null'],
      description: 'Up to 4096 characters. Tab and newline are its only control characters.',
      maxLength: DESCRIPTION_MAX,
      pattern: DESCRIPTION_TEXT_PATTERN,
    },
  },
} as const;

export const webhookIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 64, description: "The webhook's id." } },
} as const;

export const deliveryParams = {
  type: 'object',
  required: ['id', 'deliveryId'],
  properties: {
    id: { type: 'string', maxLength: 64, description: "The webhook's id." },
    deliveryId: { type: 'string', maxLength: 64, description: "The delivery's id." },
  },
} as const;

export const deliverySchema = {
  type: 'object',
  description: 'One event for one webhook, and how its delivery went.',
  required: [
    'id',
    'eventId',
    'eventType',
    'status',
    'attempts',
    'responseStatus',
    'error',
    'createdDate',
    'attemptedDate',
  ],
  properties: {
    id: { type: 'string', description: 'The delivery (one event for this webhook).' },
    eventId: {
      type: 'string',
      description: 'The Tessera-Event-Id header: the same for every webhook of the event.',
    },
    eventType: { type: 'string', enum: WEBHOOK_EVENTS },
    status: {
      type: 'string',
      enum: ['PENDING', 'DELIVERED', 'FAILED'],
      description: 'PENDING: not delivered yet (being retried); FAILED: given up after a day of retries.',
    },
    attempts: { type: 'integer' },
    responseStatus: {
      type: ['integer', 'null'],
      description: "The receiver's last HTTP status; null: none yet, or no answer.",
    },
    error: { type: ['string', 'null'], description: 'Why the last attempt failed, in a few words.' },
    createdDate: { type: 'string', format: 'date-time' },
    attemptedDate: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export const deliveryListSchema = pageOf('deliveries', deliverySchema);

export interface WebhookInput {
  url: string;
  events: WebhookEventType[];
  description?: string | null;
}
