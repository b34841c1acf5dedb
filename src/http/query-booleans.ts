import type { FastifyInstance } from 'fastify';

interface QuerySchema {
  properties?: Record<string, { type?: unknown }>;
}

function isBooleanProperty(property: { type?: unknown } | undefined): boolean {
  const type = property?.type;
  return type === 'boolean' || (Array.isArray(type) && type.includes('boolean'));
}

/**
 * Cortex's CLI (Python) sends booleans as `True`/`False`. Lower-case them before validation so
 * the schema's boolean coercion understands them: only for parameters the route declares as
 * booleans, so a text parameter that happens to read `True` keeps its casing.
 */
export function registerQueryBooleans(app: FastifyInstance) {
  app.addHook('preValidation', async (request) => {
    const query = request.query as Record<string, unknown> | undefined;
    if (query === undefined || query === null) return;
    const properties = (request.routeOptions.schema?.querystring as QuerySchema | undefined)?.properties;
    if (properties === undefined) return;
    for (const [key, value] of Object.entries(query)) {
      if (typeof value === 'string' && isBooleanProperty(properties[key]) && /^(true|false)$/i.test(value)) {
        query[key] = value.toLowerCase();
      }
    }
  });
}
