/**
 * fast-check arbitraries from the JSON Schemas of the OpenAPI document: `conforming` values that
 * the schema accepts (so requests reach the handlers with hostile but legal content) and
 * `mutated` values that break it in one place, at any depth (a wrong type, a missing required
 * field, an extra or prototype-polluting key, a string or array beyond its bounds, deep nesting).
 *
 * Only the keywords the document uses are understood. Any other keyword that constrains values
 * (`oneOf`, `$ref`, `const`, ...) throws, so a new schema construct cannot go unfuzzed silently.
 */
import fc from 'fast-check';
import { hostileString, plausibleString } from './fuzz-strings.js';

export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  [keyword: string]: unknown;
}

/** Keywords that only annotate, and the constraints handled below. */
const UNDERSTOOD = new Set([
  'type',
  'enum',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'default',
  'description',
  'examples',
  'title',
  'format',
]);

export class UnsupportedSchema extends Error {}

function check(schema: JsonSchema, where: string): void {
  const unknown = Object.keys(schema).filter((k) => !UNDERSTOOD.has(k));
  if (unknown.length > 0)
    throw new UnsupportedSchema(`no fuzz generator for keyword(s) ${unknown.join(', ')} at ${where}`);
  if (schema.type === undefined && schema.enum === undefined)
    throw new UnsupportedSchema(`no fuzz generator for a schema without type at ${where}`);
}

function typesOf(schema: JsonSchema): string[] {
  if (schema.type === undefined) return [];
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

/** Small sizes keep conforming requests fast; limits are probed by `mutated`. */
const cap = (limit: number | undefined, at: number) => Math.min(limit ?? at, at);

/** A value the schema accepts. */
export function conforming(schema: JsonSchema, where = '#'): fc.Arbitrary<unknown> {
  check(schema, where);
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  const options = typesOf(schema).map((type) => conformingOfType(schema, type, where));
  if (options.length === 0) throw new UnsupportedSchema(`no types at ${where}`);
  return options.length === 1 ? (options[0] as fc.Arbitrary<unknown>) : fc.oneof(...options);
}

function conformingOfType(schema: JsonSchema, type: string, where: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number': {
      const min = Math.max(schema.minimum ?? -(2 ** 31), -(2 ** 31));
      const max = Math.min(schema.maximum ?? 2 ** 31 - 1, 2 ** 31 - 1);
      return fc.oneof(fc.integer({ min, max: Math.min(max, min + 20) }), fc.integer({ min, max }));
    }
    case 'string': {
      if (schema.pattern !== undefined) return fc.stringMatching(new RegExp(schema.pattern));
      const minLength = schema.minLength ?? 0;
      const maxLength = schema.maxLength ?? Number.POSITIVE_INFINITY;
      return fc
        .oneof(plausibleString(), fc.string({ minLength, maxLength: cap(maxLength, 40) }))
        .filter((s) => [...s].length >= minLength && [...s].length <= maxLength);
    }
    case 'array': {
      if (schema.items === undefined) throw new UnsupportedSchema(`array without items at ${where}`);
      return fc.array(conforming(schema.items, `${where}/items`), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, cap(schema.maxItems, 3)),
      });
    }
    case 'object': {
      const properties = schema.properties ?? {};
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries(properties))
        model[name] = conforming(property, `${where}/properties/${name}`);
      return fc.record(model, { requiredKeys: (schema.required ?? []).filter((k) => k in properties) });
    }
    default:
      throw new UnsupportedSchema(`no fuzz generator for type '${type}' at ${where}`);
  }
}

/** Keys that attack object handling rather than a schema. */
const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', '$where', ''];

/**
 * Sets an own, enumerable property even for `__proto__` (plain assignment would change the
 * prototype instead, and JSON.stringify would drop the key).
 */
function withKey(object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy = { ...object };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** JSON nested `depth` levels deep, as arrays or objects. */
function nested(depth: number, asObject: boolean): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = asObject ? { a: value } : [value];
  return value;
}

/** Any JSON value: what arrives where the schema wanted something else. */
export function anyJson(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(null, true, false, 0, -1, 1.5, -0, 1e308, 2 ** 53 + 1, -(2 ** 63), '', []),
    hostileString(),
    fc.constantFrom({}, { $ne: null }, { $gt: '' }, [null], [[]], { toString: 'x' }),
    // Deeper nesting is sent as text (see fuzz-requests.ts): building it as values overflows here.
    fc.constantFrom(20, 100).chain((depth) => fc.boolean().map((o) => nested(depth, o))),
    fc.jsonValue({ maxDepth: 3 }),
  );
}

/** A value of another type than the schema allows (a JSON-wise different kind). */
function wrongType(schema: JsonSchema): fc.Arbitrary<unknown> {
  const types = typesOf(schema);
  const kindOf = (v: unknown) =>
    v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
  return anyJson().filter((v) => {
    const kind = kindOf(v);
    if (schema.enum !== undefined) return !schema.enum.includes(v);
    if (kind === 'integer') return !types.includes('integer') && !types.includes('number');
    return !types.includes(kind === 'number' ? 'number' : kind);
  });
}

/** A value the schema rejects, broken in one place at some depth. */
export function mutated(schema: JsonSchema, where = '#'): fc.Arbitrary<unknown> {
  check(schema, where);
  const breaks: fc.Arbitrary<unknown>[] = [wrongType(schema)];
  const types = typesOf(schema);
  if (schema.enum !== undefined) breaks.push(hostileString().filter((s) => !schema.enum?.includes(s)));
  if (types.includes('string')) breaks.push(...stringBreaks(schema));
  if (types.includes('integer') || types.includes('number')) breaks.push(...numberBreaks(schema));
  if (types.includes('array') && schema.items !== undefined) breaks.push(...arrayBreaks(schema, where));
  if (types.includes('object')) breaks.push(...objectBreaks(schema, where));
  return fc.oneof(...breaks);
}

function stringBreaks(schema: JsonSchema): fc.Arbitrary<unknown>[] {
  const breaks: fc.Arbitrary<unknown>[] = [hostileString()];
  if (schema.maxLength !== undefined) {
    const over = schema.maxLength + 1;
    breaks.push(fc.constantFrom('x', '\u{1f600}', ' ').map((unit) => unit.repeat(over)));
  }
  if ((schema.minLength ?? 0) > 0) breaks.push(fc.constant(''));
  return breaks;
}

function numberBreaks(schema: JsonSchema): fc.Arbitrary<unknown>[] {
  const breaks: fc.Arbitrary<unknown>[] = [
    fc.constantFrom(0.5, -0.5, 1e21, -1e21, 2 ** 53, 2 ** 31, -(2 ** 31) - 1),
  ];
  if (schema.minimum !== undefined) breaks.push(fc.constant(schema.minimum - 1));
  if (schema.maximum !== undefined) breaks.push(fc.constant(schema.maximum + 1));
  return breaks;
}

function arrayBreaks(schema: JsonSchema, where: string): fc.Arbitrary<unknown>[] {
  const items = schema.items as JsonSchema;
  const item = conforming(items, `${where}/items`);
  const breaks: fc.Arbitrary<unknown>[] = [
    // One item broken among good ones.
    fc
      .tuple(fc.array(item, { maxLength: 2 }), mutated(items, `${where}/items`))
      .map(([good, bad]) => [...good, bad]),
  ];
  if ((schema.minItems ?? 0) > 0) breaks.push(fc.constant([]));
  if (schema.maxItems !== undefined)
    breaks.push(fc.array(item, { minLength: schema.maxItems + 1, maxLength: schema.maxItems + 1 }));
  breaks.push(fc.constantFrom(1_000, 10_000).map((n) => Array.from({ length: n }, () => null)));
  return breaks;
}

function objectBreaks(schema: JsonSchema, where: string): fc.Arbitrary<unknown>[] {
  const properties = Object.entries(schema.properties ?? {});
  const good = conforming(schema, where) as fc.Arbitrary<Record<string, unknown>>;
  const breaks: fc.Arbitrary<unknown>[] = [
    // An extra field, possibly one that targets the prototype chain.
    fc
      .tuple(good, fc.oneof(fc.constantFrom(...POLLUTING_KEYS), hostileString()), anyJson())
      .map(([object, key, value]) => withKey(object, key, value)),
    fc
      .tuple(good, fc.constantFrom('__proto__', 'constructor'))
      .map(([object, key]) =>
        withKey(object, key, key === '__proto__' ? { isAdmin: true } : { prototype: { isAdmin: true } }),
      ),
  ];
  const required = (schema.required ?? []).filter((name) => schema.properties?.[name] !== undefined);
  if (required.length > 0) {
    breaks.push(
      fc.tuple(good, fc.constantFrom(...required)).map(([object, name]) => {
        const copy = { ...object };
        delete copy[name];
        return copy;
      }),
    );
  }
  if (properties.length > 0) {
    // One property broken, the others conforming.
    breaks.push(
      fc
        .constantFrom(...properties)
        .chain(([name, property]) =>
          fc
            .tuple(good, mutated(property, `${where}/properties/${name}`))
            .map(([object, bad]) => withKey(object, name, bad)),
        ),
    );
  }
  return breaks;
}

/** Where the strings are in a JSON value, as property paths. */
function stringPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringPaths(item, [...path, i]));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([key, item]) => stringPaths(item, [...path, key]));
  return [];
}

function replaced(value: unknown, path: (string | number)[], text: string): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return text;
  if (Array.isArray(value)) return value.map((item, i) => (i === head ? replaced(item, rest, text) : item));
  const object = value as Record<string, unknown>;
  return withKey(object, String(head), replaced(object[String(head)], rest, text));
}

/**
 * A known-good example with one of its strings replaced by `text` (or left as it is): the shape
 * stays valid, so hostile content gets past validation into the handlers and the database.
 */
export function varied(example: unknown, text: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  const paths = stringPaths(example);
  if (paths.length === 0) return fc.constant(example);
  return fc.oneof(
    fc.constant(example),
    fc.tuple(fc.constantFrom(...paths), text).map(([path, t]) => replaced(example, path, t)),
  );
}
