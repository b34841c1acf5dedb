import type { FastifyInstance, preValidationHookHandler } from 'fastify';

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
 * booleans, so a text parameter that happens to read `True` keeps its casing. The hook is added
 * to those routes alone, as each is declared: every other request skips it.
 */
export function registerQueryBooleans(app: FastifyInstance) {
  app.addHook('onRoute', (route) => {
    const properties = (route.schema?.querystring as QuerySchema | undefined)?.properties ?? {};
    const booleans = new Set(Object.keys(properties).filter((key) => isBooleanProperty(properties[key])));
    if (booleans.size === 0) return;
    const lowerCaseBooleans: preValidationHookHandler = (request, _reply, done) => {
      const query = request.query as Record<string, unknown> | undefined | null;
      if (query !== undefined && query !== null) {
        for (const key of booleans) {
          const value = query[key];
          if (typeof value === 'string' && /^(true|false)$/i.test(value)) query[key] = value.toLowerCase();
        }
      }
      done();
    };
    const own = route.preValidation;
    route.preValidation = own === undefined ? [lowerCaseBooleans] : [lowerCaseBooleans, ...[own].flat()];
  });
}
