import type { FastifyInstance } from 'fastify';
import type { Store } from '../../db/database.js';
import { UnavailableError } from '../../domain/errors.js';
import { commonErrors, origin } from '../../http/schemas.js';

const statusSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok'] } },
} as const;

/** Probes for load balancers and orchestrators: no token, no rate limit. */
export async function healthRoutes(app: FastifyInstance, { store }: { store: Store }) {
  const schema = { ...origin('tessera'), tags: ['Operations'] };
  app.get(
    '/healthz',
    {
      config: { unmetered: true },
      schema: { ...schema, summary: 'Alive', response: { 200: statusSchema } },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { unmetered: true },
      schema: {
        ...schema,
        summary: 'Ready: storage reachable',
        response: { 200: statusSchema, 503: commonErrors[503] },
      },
    },
    async (request) => {
      try {
        await store.ping();
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        throw new UnavailableError('Storage unavailable', 'The database cannot be reached');
      }
      return { status: 'ok' };
    },
  );
}
