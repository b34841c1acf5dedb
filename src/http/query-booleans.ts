import type { FastifyInstance } from 'fastify';

/**
 * Cortex's CLI (Python) sends booleans as `True`/`False`. Lower-case them before validation so
 * the schema's boolean coercion understands them.
 */
export function registerQueryBooleans(app: FastifyInstance) {
  app.addHook('preValidation', async (request) => {
    const query = request.query as Record<string, unknown> | undefined;
    if (query === undefined || query === null) return;
    for (const [key, value] of Object.entries(query)) {
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) query[key] = value.toLowerCase();
    }
  });
}
