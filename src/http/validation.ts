import Ajv, { type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';

/**
 * Two validators: bodies are JSON and must carry the right types (no coercion: `"name": 5` is a
 * 400, not "5"); query strings and path parameters are text and are coerced to the schema's types.
 * Both strip unknown fields (where a schema says `additionalProperties: false`), apply defaults
 * and report every problem at once, so a client can fix them all in one go.
 */
function makeAjv(options: Options) {
  const ajv = new Ajv.default({
    useDefaults: true,
    removeAdditional: true,
    allErrors: true,
    strict: false,
    ...options,
  });
  addFormats.default(ajv);
  return ajv;
}

export function registerValidators(app: FastifyInstance) {
  const forBodies = makeAjv({ coerceTypes: false });
  const forText = makeAjv({ coerceTypes: 'array' });
  app.setValidatorCompiler<FastifySchema>(({ schema, httpPart }) =>
    (httpPart === 'body' ? forBodies : forText).compile(schema as object),
  );
}
