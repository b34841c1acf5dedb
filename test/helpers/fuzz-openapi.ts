/**
 * The operations of the served OpenAPI 3.1 document, as the fuzzer needs them: method, path
 * template, parameters with their schemas, the JSON body schema and whether a token is needed.
 * Read from the running server, so a new route is fuzzed without touching the tests.
 */
import assert from 'node:assert/strict';
import type { JsonSchema } from './fuzz-schema.js';

export interface FuzzParameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: JsonSchema;
}

export interface FuzzOperation {
  /** `POST /api/v1/secrets`: the operation's name in reports. */
  id: string;
  method: string;
  /** The template, e.g. `/api/v1/secrets/{tagOrId}`. */
  path: string;
  parameters: FuzzParameter[];
  /** The `application/json` request body's schema, when the operation takes one. */
  body: { schema: JsonSchema; required: boolean } | undefined;
  /** Whether a bearer token is required. */
  secured: boolean;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

interface OpenApiOperation {
  parameters?: { name: string; in: string; required?: boolean; schema: JsonSchema }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  security?: Record<string, unknown>[];
}

interface OpenApiDocument {
  openapi: string;
  security?: Record<string, unknown>[];
  paths: Record<string, Record<string, OpenApiOperation>>;
}

/** Every operation of the document. Anything the fuzzer cannot send fails here, by name. */
export function operationsOf(document: unknown): FuzzOperation[] {
  const doc = document as OpenApiDocument;
  assert.match(doc.openapi, /^3\.1\./, 'the fuzzer reads OpenAPI 3.1');
  const operations: FuzzOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      const id = `${method.toUpperCase()} ${path}`;
      const parameters = (operation.parameters ?? []).map((p): FuzzParameter => {
        if (p.in !== 'path' && p.in !== 'query')
          throw new Error(`${id}: no fuzz generator for ${p.in} parameter '${p.name}'`);
        return { name: p.name, in: p.in, required: p.required === true, schema: p.schema };
      });
      let body: FuzzOperation['body'];
      if (operation.requestBody !== undefined) {
        const types = Object.keys(operation.requestBody.content);
        const schema = operation.requestBody.content['application/json']?.schema;
        if (schema === undefined || types.length !== 1)
          throw new Error(`${id}: no fuzz generator for request bodies of type ${types.join(', ')}`);
        body = { schema, required: operation.requestBody.required === true };
      }
      const security = operation.security ?? doc.security ?? [];
      operations.push({
        id,
        method: method.toUpperCase(),
        path,
        parameters,
        body,
        secured: security.some((s) => Object.keys(s).length > 0),
      });
    }
  }
  return operations;
}

/** The names of a path template's placeholders, in order. */
export function placeholdersOf(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
}
