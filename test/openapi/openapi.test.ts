/**
 * The OpenAPI document (GET /api/v1/openapi.json) and the reference page (/docs).
 *
 * Snapshot: the document, as JSON.stringify(document, null, 2), must equal
 * test/openapi/openapi.snapshot.json. After an intended API change, refresh it with
 *
 *   UPDATE_SNAPSHOTS=1 npm test -- test/openapi/openapi.test.ts
 *
 * and review the diff of the snapshot like any other change. The same run rewrites the clients'
 * types generated from the document (src/client/api-types.gen.ts, openapi-typescript), which must
 * match it too, so that the SDK and the console cannot drift from the API.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { apiTypesOf } from '../helpers/api-types.js';
import { useTestServer } from '../helpers/server.js';

const SNAPSHOT = fileURLToPath(new URL('./openapi.snapshot.json', import.meta.url));
/** The API's types for the clients (the SDK, the console), generated from the document. */
const API_TYPES = fileURLToPath(new URL('../../src/client/api-types.gen.ts', import.meta.url));
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

let document: Record<string, any>;
const suite = useTestServer({}, async () => {
  const reply = await suite.call('GET', '/api/v1/openapi.json');
  assert.equal(reply.status, 200);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  document = reply.body;
});

/** Every operation: [path, method, operation]. */
function operations(): [string, string, Record<string, any>][] {
  return Object.entries<Record<string, any>>(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]): [string, string, Record<string, any>] => [path, method, operation]),
  );
}

describe('the document', () => {
  test('is OpenAPI 3.1.0 with a title and version', () => {
    assert.equal(document.openapi, '3.1.0');
    assert.equal(typeof document.info.title, 'string');
    assert.equal(typeof document.info.version, 'string');
  });

  test('is public: no token needed', async () => {
    assert.equal((await suite.call('GET', '/api/v1/openapi.json')).status, 200);
  });

  test('documents the five API-key calls and /api/v1/me', () => {
    const listed = operations().map(([path, method]) => `${method.toUpperCase()} ${path}`);
    for (const expected of [
      'GET /api/v1/auth/key',
      'POST /api/v1/auth/key',
      'GET /api/v1/auth/key/{cid}',
      'PUT /api/v1/auth/key/{cid}',
      'DELETE /api/v1/auth/key/{cid}',
      'POST /api/v1/auth/key/{cid}/roll',
      'GET /api/v1/me',
    ]) {
      assert.ok(listed.includes(expected), `${expected} is not documented`);
    }
  });

  test("Cortex's five /api/v1/auth/key operations are x-cortex-compatible; rolling is Tessera's", () => {
    const keyOperations = operations().filter(([path]) => path.startsWith('/api/v1/auth/key'));
    assert.equal(keyOperations.length, 6);
    for (const [path, method, operation] of keyOperations) {
      const tessera = path.endsWith('/roll');
      assert.equal(operation['x-cortex-compatible'], tessera ? undefined : true, `${method} ${path}`);
      assert.equal(operation['x-tessera-extension'], tessera ? true : undefined, `${method} ${path}`);
    }
  });

  test('GET /api/v1/audit-logs is documented and x-cortex-compatible', () => {
    const operation = document.paths['/api/v1/audit-logs']?.get;
    assert.ok(operation !== undefined, 'GET /api/v1/audit-logs is not documented');
    assert.equal(operation['x-cortex-compatible'], true);
    assert.equal(operation['x-tessera-extension'], undefined);
  });

  test('/api/v1/me is x-tessera-extension', () => {
    assert.equal(document.paths['/api/v1/me'].get['x-tessera-extension'], true);
  });

  test('every operation is marked as exactly one of Cortex-compatible or Tessera extension', () => {
    for (const [path, method, operation] of operations()) {
      const marks = [operation['x-cortex-compatible'], operation['x-tessera-extension']].filter(
        (m) => m === true,
      );
      assert.equal(marks.length, 1, `${method} ${path}`);
    }
  });

  test('every /api/v1 operation but the document itself needs the bearer token', () => {
    assert.equal(document.components.securitySchemes.bearerAuth.type, 'http');
    assert.equal(document.components.securitySchemes.bearerAuth.scheme, 'bearer');
    for (const [path, method, operation] of operations()) {
      if (!path.startsWith('/api/v1/') || path === '/api/v1/openapi.json') continue;
      assert.deepEqual(operation.security, [{ bearerAuth: [] }], `${method} ${path}`);
    }
  });

  test('error responses are documented as application/problem+json', () => {
    for (const [path, method, operation] of operations()) {
      for (const [status, response] of Object.entries<Record<string, any>>(operation.responses ?? {})) {
        if (Number(status) < 400) continue;
        assert.deepEqual(
          Object.keys(response.content ?? {}),
          ['application/problem+json'],
          `${method} ${path} ${status}`,
        );
      }
    }
  });

  test("stands alone: no text cites the developers' contract by its sections", () => {
    const text = JSON.stringify(document);
    assert.doesNotMatch(text, /\bSPEC\b|§/);
  });

  test('matches the snapshot (UPDATE_SNAPSHOTS=1 rewrites it)', () => {
    const text = `${JSON.stringify(document, null, 2)}\n`;
    if (process.env.UPDATE_SNAPSHOTS === '1') {
      writeFileSync(SNAPSHOT, text);
      return;
    }
    assert.ok(existsSync(SNAPSHOT), `no snapshot: run with UPDATE_SNAPSHOTS=1 to write ${SNAPSHOT}`);
    // Re-serialised, so a formatter's layout of the file does not matter; key order does.
    const snapshot = `${JSON.stringify(JSON.parse(readFileSync(SNAPSHOT, 'utf8')), null, 2)}\n`;
    assert.equal(text, snapshot, 'the OpenAPI document changed: if intended, run with UPDATE_SNAPSHOTS=1');
  });

  test("the clients' generated types match it (UPDATE_SNAPSHOTS=1 rewrites them)", async () => {
    const types = await apiTypesOf(document);
    if (process.env.UPDATE_SNAPSHOTS === '1') {
      writeFileSync(API_TYPES, types);
      return;
    }
    assert.ok(existsSync(API_TYPES), `no generated types: run with UPDATE_SNAPSHOTS=1 to write ${API_TYPES}`);
    assert.equal(
      readFileSync(API_TYPES, 'utf8'),
      types,
      "src/client/api-types.gen.ts is not the document's types: run with UPDATE_SNAPSHOTS=1",
    );
  });
});

test('/docs serves the HTML reference page', async () => {
  const response = await fetch(`${suite.server.url}/docs`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await response.text(), /<html/i);
});
