import type { FastifyInstance } from 'fastify';
import type { PageQuery } from '../../domain/page.js';
import { actorOf } from '../../http/access.js';
import { pageQuery, sendPage } from '../../http/pagination.js';
import { commonErrors, notFoundError, origin } from '../../http/schemas.js';
import {
  createdWebhookSchema,
  deliveryListSchema,
  deliveryParams,
  type WebhookInput,
  webhookBody,
  webhookIdParams,
  webhookListSchema,
  webhookSchema,
} from './webhooks.schemas.js';
import type { WebhookService } from './webhooks.service.js';

const access = { permission: 'EDIT_WEBHOOKS', objectType: 'WEBHOOK' } as const;
const call = { ...origin('tessera'), tags: ['Webhooks'], security: [{ bearerAuth: [] }] };

/** Webhooks (Tessera extension): signed events about keys and secrets, sent to an endpoint. */
export async function webhookRoutes(app: FastifyInstance, { service }: { service: WebhookService }) {
  app.get<{ Querystring: PageQuery }>(
    '/api/v1/webhooks',
    {
      config: access,
      schema: {
        ...call,
        summary: 'List webhooks',
        description: 'Oldest first. Needs EDIT_WEBHOOKS.',
        querystring: pageQuery,
        response: { 200: webhookListSchema, ...commonErrors },
      },
    },
    async (request, reply) => sendPage(reply, 'webhooks', await service.list(request.query)),
  );

  app.post<{ Body: WebhookInput }>(
    '/api/v1/webhooks',
    {
      config: access,
      schema: {
        ...call,
        summary: 'Create a webhook',
        description:
          'Answers 200 with the webhook and its signing `secret`, shown this once. The URL is checked now (its host ' +
          'resolved) and again at each delivery. Needs EDIT_WEBHOOKS.',
        body: webhookBody,
        response: { 200: createdWebhookSchema, ...commonErrors },
      },
    },
    async (request) => service.create(actorOf(request), request.body),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/webhooks/:id',
    {
      config: access,
      schema: {
        ...call,
        summary: 'Get a webhook',
        description: 'Needs EDIT_WEBHOOKS.',
        params: webhookIdParams,
        response: { 200: webhookSchema, ...commonErrors, ...notFoundError },
      },
    },
    async (request) => service.get(request.params.id),
  );

  app.put<{ Params: { id: string }; Body: WebhookInput }>(
    '/api/v1/webhooks/:id',
    {
      config: access,
      schema: {
        ...call,
        summary: 'Replace a webhook',
        description:
          'Replaces the URL, the events and the description (omitted: null); the signing secret stays. Needs EDIT_WEBHOOKS.',
        params: webhookIdParams,
        body: webhookBody,
        response: { 200: webhookSchema, ...commonErrors, ...notFoundError },
      },
    },
    async (request) => service.replace(actorOf(request), request.params.id, request.body),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/webhooks/:id',
    {
      config: access,
      schema: {
        ...call,
        summary: 'Delete a webhook',
        description:
          'Answers 200 with an empty body; deliveries not yet sent are dropped. Any request body is ignored. Needs EDIT_WEBHOOKS.',
        params: webhookIdParams,
        response: {
          200: { type: 'null', description: 'Deleted (empty body).' },
          ...commonErrors,
          ...notFoundError,
        },
      },
    },
    async (request, reply) => {
      await service.delete(actorOf(request), request.params.id);
      return reply.code(200).send();
    },
  );

  app.get<{ Params: { id: string }; Querystring: PageQuery }>(
    '/api/v1/webhooks/:id/deliveries',
    {
      config: access,
      schema: {
        ...call,
        summary: "List a webhook's deliveries",
        description:
          'Newest first: each event sent (or to be sent) to this webhook, its status, attempts and last response status. Needs EDIT_WEBHOOKS.',
        params: webhookIdParams,
        querystring: pageQuery,
        response: { 200: deliveryListSchema, ...commonErrors, ...notFoundError },
      },
    },
    async (request, reply) =>
      sendPage(reply, 'deliveries', await service.deliveries(request.params.id, request.query)),
  );

  app.post<{ Params: { id: string; deliveryId: string } }>(
    '/api/v1/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      config: access,
      schema: {
        ...call,
        summary: 'Send a delivery again',
        description:
          'Makes the delivery pending again, due at once, with its attempts counted from zero; the same event id and body are sent. ' +
          'Answers 200 with an empty body. Needs EDIT_WEBHOOKS.',
        params: deliveryParams,
        response: {
          200: { type: 'null', description: 'Queued again (empty body).' },
          ...commonErrors,
          ...notFoundError,
        },
      },
    },
    async (request, reply) => {
      await service.redeliver(actorOf(request), request.params.id, request.params.deliveryId);
      return reply.code(200).send();
    },
  );
}
