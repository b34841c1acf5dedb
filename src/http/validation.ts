import Ajv, { type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';

/**
 * Two validators: bodies are JSON and must carry the right types (no coercion: `"name": 5` is a
 * 400, not "5"); query strings and path parameters are text and are coerced to the schema's types.
 * Both strip unknown fields (where a schema says `additionalProperties: false`), apply defaults
 * and report every problem at once, so a client can fix them all in one go. Text parameters may
 * not contain NUL (`%00`): no identifier or filter value holds one, and PostgreSQL refuses it in
 * a query parameter outright, which would be a 500.
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
    httpPart === 'body'
      ? forBodies.compile(schema as object)
      : withoutNul(strictIntegers(forText.compile(schema as object), schema as TextSchema)),
  );
}

interface TextSchema {
  properties?: Record<string, { type?: unknown }>;
}

type Issue = NonNullable<ValidateFunction['errors']>[number];

type Validate = ((data: unknown) => boolean) & { errors?: Issue[] | null | undefined };

/**
 * NUL in a text parameter (or in any value of a repeated one): a violation of its own. Checked
 * after validation, so unknown parameters it strips stay ignored whatever they hold.
 */
function withoutNul(validate: Validate): Validate {
  const checked = (data: unknown): boolean => {
    const valid = validate(data);
    const withNul = nulIssues(data);
    checked.errors = withNul.length > 0 || !valid ? [...withNul, ...(validate.errors ?? [])] : null;
    return checked.errors === null;
  };
  checked.errors = null as Issue[] | null;
  return checked;
}

const NO_ISSUES: readonly Issue[] = Object.freeze([]);

/** The fields holding NUL, each a violation. Runs on every request: no allocation when none does. */
function nulIssues(data: unknown): readonly Issue[] {
  if (typeof data !== 'object' || data === null) return NO_ISSUES;
  const fields = data as Record<string, unknown>;
  let issues: Issue[] | undefined;
  for (const name of Object.keys(fields)) {
    const value = fields[name];
    const hasNul = Array.isArray(value)
      ? value.some((v) => typeof v === 'string' && v.includes('\u0000'))
      : typeof value === 'string' && value.includes('\u0000');
    if (!hasNul) continue;
    issues ??= [];
    issues.push({
      instancePath: `/${name}`,
      schemaPath: '#/nul',
      keyword: 'nul',
      params: {},
      message: 'must not contain NUL characters',
    });
  }
  return issues ?? NO_ISSUES;
}

/** Decimal digits only: what "an integer" means in a query string or a path. */
const DECIMAL_INTEGER = /^-?[0-9]+$/;

/**
 * Ajv's coercion reads any numeric text as a number: `1e2` is 100, `0x10` is 16, ` 5` is 5.
 * A query-string or path integer must be written in decimal digits; anything else is a
 * violation of its own, reported alongside whatever else is wrong.
 */
function strictIntegers(validate: ValidateFunction, schema: TextSchema) {
  const integers = Object.entries(schema.properties ?? {})
    .filter(([, property]) => property.type === 'integer')
    .map(([name]) => name);
  if (integers.length === 0) return validate;
  const strict = (data: unknown): boolean => {
    const fields = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
    const malformed: Issue[] = integers
      .filter((name) => typeof fields[name] === 'string' && !DECIMAL_INTEGER.test(fields[name] as string))
      .map((name) => ({
        instancePath: `/${name}`,
        schemaPath: `#/properties/${name}/type`,
        keyword: 'type',
        params: { type: 'integer' },
        message: 'must be integer',
      }));
    const valid = validate(data);
    const others = (validate.errors ?? []).filter(
      (issue) => !malformed.some((m) => m.instancePath === issue.instancePath),
    );
    strict.errors = malformed.length > 0 || !valid ? [...malformed, ...others] : null;
    return strict.errors === null;
  };
  strict.errors = null as Issue[] | null;
  return strict;
}
