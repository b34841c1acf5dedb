/**
 * Every input is bounded, read from the served OpenAPI document (GET /api/v1/openapi.json, made
 * from the same schemas that validate requests): each path, query and header parameter and each
 * request-body property, at any depth.
 *
 * The rule:
 * - a string has `maxLength`, or is one of an `enum`/`const`. A `pattern` or `format` does not
 *   count: a pattern's bound is hard to check mechanically (and the regex still runs over the
 *   whole input), and formats such as `date-time` accept any length;
 * - an array has `maxItems`;
 * - a number or integer has `minimum` and `maximum` (or an `enum`);
 * - an object admits no undeclared properties: `additionalProperties: false` (the validator drops
 *   them, so nothing unbounded reaches a handler) or `maxProperties`;
 * - every schema says what type it is.
 * The router and the HTTP server bound what the schemas cannot see (path-segment length, header
 * size): the last tests check those answers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { useTestServer } from '../helpers/server.js';

type Schema = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

let document: Schema;
const suite = useTestServer({}, async () => {
  const reply = await suite.call('GET', '/api/v1/openapi.json');
  assert.equal(reply.status, 200);
  document = reply.body;
});

/** `#/components/...` references, resolved within `root`. */
function resolve(schema: Schema, root: Schema): Schema {
  if (typeof schema.$ref !== 'string') return schema;
  const target = schema.$ref
    .replace(/^#\//, '')
    .split('/')
    .reduce(
      (node: Schema | undefined, part: string) => node?.[part.replaceAll('~1', '/').replaceAll('~0', '~')],
      root,
    );
  assert.ok(target !== undefined, `unresolved ${schema.$ref}`);
  return resolve(target, root);
}

/** Every way `schema` (at `where`) leaves an input unbounded, one sentence each. */
export function unbounded(schema: Schema, where: string, root: Schema = {}): string[] {
  const node = resolve(schema, root);
  const findings: string[] = [];
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    for (const [i, branch] of (node[key] ?? []).entries()) {
      findings.push(...unbounded(branch, `${where}(${key}[${i}])`, root));
    }
  }
  if (node.anyOf !== undefined || node.oneOf !== undefined || node.allOf !== undefined) return findings;
  const types: unknown[] = Array.isArray(node.type) ? node.type : [node.type];
  const chosen = node.enum !== undefined || node.const !== undefined;
  if (node.type === undefined && !chosen) findings.push(`${where}: no type`);
  if (types.includes('string') && !chosen && node.maxLength === undefined) {
    findings.push(`${where}: string without maxLength`);
  }
  if ((types.includes('integer') || types.includes('number')) && !chosen) {
    if (node.minimum === undefined && node.exclusiveMinimum === undefined) {
      findings.push(`${where}: number without minimum`);
    }
    if (node.maximum === undefined && node.exclusiveMaximum === undefined) {
      findings.push(`${where}: number without maximum`);
    }
  }
  if (types.includes('array')) {
    if (node.maxItems === undefined) findings.push(`${where}: array without maxItems`);
    if (node.items === undefined) findings.push(`${where}: array without items`);
    else findings.push(...unbounded(node.items, `${where}/items`, root));
  }
  if (types.includes('object')) {
    const extra = node.additionalProperties;
    if (extra !== false && node.maxProperties === undefined) {
      findings.push(`${where}: object admits undeclared properties`);
    }
    if (typeof extra === 'object' && extra !== null) {
      findings.push(...unbounded(extra, `${where}/*`, root));
    }
    for (const [name, property] of Object.entries<Schema>(node.properties ?? {})) {
      findings.push(...unbounded(property, `${where}/${name}`, root));
    }
  }
  return findings;
}

/** Every request-side schema of the document: [where, schema]. */
function requestSchemas(): [string, Schema][] {
  return Object.entries<Schema>(document.paths).flatMap(([path, item]) =>
    Object.entries<Schema>(item)
      .filter(([method]) => METHODS.includes(method))
      .flatMap(([method, operation]) => {
        const name = `${method.toUpperCase()} ${path}`;
        const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map(
          (p: Schema): [string, Schema] => [`${name} ${p.in} '${p.name}'`, p.schema ?? {}],
        );
        const bodies = Object.entries<Schema>(operation.requestBody?.content ?? {}).map(
          ([type, content]): [string, Schema] => [`${name} body (${type})`, content.schema ?? {}],
        );
        return [...parameters, ...bodies];
      }),
  );
}

describe('the rule itself', () => {
  test('flags what it should', () => {
    assert.deepEqual(unbounded({ type: 'string' }, 's'), ['s: string without maxLength']);
    assert.deepEqual(unbounded({ type: 'string', pattern: '^[a-z]{1,8}$' }, 's'), [
      's: string without maxLength',
    ]);
    assert.deepEqual(unbounded({ type: 'string', format: 'date-time' }, 's'), [
      's: string without maxLength',
    ]);
    assert.deepEqual(unbounded({ type: ['string', 'null'] }, 's'), ['s: string without maxLength']);
    assert.deepEqual(unbounded({ type: 'array', items: { type: 'string', maxLength: 1 } }, 'a'), [
      'a: array without maxItems',
    ]);
    assert.deepEqual(unbounded({ type: 'integer', minimum: 0 }, 'n'), ['n: number without maximum']);
    assert.deepEqual(unbounded({}, 'x'), ['x: no type']);
    assert.deepEqual(
      unbounded(
        {
          type: 'object',
          properties: {
            list: {
              type: 'array',
              maxItems: 2,
              items: { type: 'object', properties: { s: { type: 'string' } } },
            },
          },
        },
        'b',
      ),
      [
        'b: object admits undeclared properties',
        'b/list/items: object admits undeclared properties',
        'b/list/items/s: string without maxLength',
      ],
    );
    assert.deepEqual(unbounded({ anyOf: [{ type: 'string', maxLength: 3 }, { type: 'string' }] }, 'u'), [
      'u(anyOf[1]): string without maxLength',
    ]);
  });

  test('passes what is bounded', () => {
    for (const schema of [
      { type: 'string', maxLength: 10 },
      { type: 'string', enum: ['A', 'B'] },
      { type: ['string', 'null'], maxLength: 64 },
      { type: 'integer', minimum: 0, maximum: 9 },
      { type: 'array', maxItems: 3, items: { type: 'string', maxLength: 1 } },
      { type: 'object', additionalProperties: false, properties: { a: { type: 'boolean' } } },
    ]) {
      assert.deepEqual(unbounded(schema, 'x'), [], JSON.stringify(schema));
    }
  });
});

describe('the served document', () => {
  test('every request-side string, array, number and object is bounded', () => {
    const schemas = requestSchemas();
    assert.ok(schemas.length >= 15, `only ${schemas.length} request schemas found: is the walk broken?`);
    const findings = schemas.flatMap(([where, schema]) => unbounded(schema, where, document));
    assert.deepEqual(findings, [], `unbounded inputs:\n${findings.join('\n')}`);
  });

  test('every path parameter is declared (so the rule above saw it)', () => {
    for (const [path, item] of Object.entries<Schema>(document.paths)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, operation] of Object.entries<Schema>(item)) {
        if (!METHODS.includes(method)) continue;
        const declared = (operation.parameters ?? [])
          .filter((p: Schema) => p.in === 'path')
          .map((p: Schema) => p.name);
        assert.deepEqual(declared.sort(), [...names].sort(), `${method.toUpperCase()} ${path}`);
      }
    }
  });
});

describe('limits the schemas cannot state', () => {
  test('a path segment past the router limit: 400 problem+json that does not echo it whole', async () => {
    const reply = await suite.call('GET', `/api/v1/secrets/${'a'.repeat(1000)}`, {
      token: suite.server.adminToken,
    });
    const problem = assertProblem(reply, 400, 'BAD_REQUEST');
    assert.ok(reply.text.length < 1500, `${reply.text.length} bytes`);
    assert.match(problem.detail, /longer than/);
  });

  test('a parameter within the router limit but past its schema: 400 with a violation', async () => {
    const reply = await suite.call('GET', `/api/v1/secrets/${'a'.repeat(150)}`, {
      token: suite.server.adminToken,
    });
    assertViolations(reply, ['/path/tagOrId']);
  });

  test('a malformed URL escape: 400 problem+json', async () => {
    assertProblem(
      await suite.call('GET', '/api/v1/secrets/%zz', { token: suite.server.adminToken }),
      400,
      'BAD_REQUEST',
    );
  });

  test('a request body past 2 MB: 413', async () => {
    const reply = await suite.call('POST', '/api/v1/secrets', {
      token: suite.server.adminToken,
      body: { name: 'big', tag: 'big', secret: 'x'.repeat(2 * 1024 * 1024) },
    });
    assertProblem(reply, 413, 'PAYLOAD_TOO_LARGE');
  });
});
