/**
 * SPEC §1: booleans in query strings arrive as `True`/`False` (Python's CLI). No route has a
 * boolean parameter yet, so this runs the HTTP layer's own pieces (validators, error handler,
 * query booleans) on a minimal app with one, over a real port.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerErrorHandler } from '../../src/http/error-handler.js';
import { registerQueryBooleans } from '../../src/http/query-booleans.js';
import { registerValidators } from '../../src/http/validation.js';
import { client } from '../helpers/http.js';
import { assertViolations } from '../helpers/problem.js';

let app: FastifyInstance;
const seenByRoute: string[] = [];
let call: ReturnType<typeof client>;
before(async () => {
  app = Fastify({ genReqId: () => 'req_01J00000000000000000000000' });
  registerValidators(app);
  registerErrorHandler(app);
  registerQueryBooleans(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.get(
    '/flags',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { enabled: { type: 'boolean' }, name: { type: 'string' }, count: { type: 'integer' } },
        },
      },
    },
    async (request) => request.query,
  );
  // A route with a preValidation hook of its own: both run, the casing fixed first.
  app.get(
    '/flags-seen',
    {
      schema: {
        querystring: { type: 'object', properties: { enabled: { type: 'boolean' } } },
      },
      preValidation: (request, _reply, done) => {
        seenByRoute.push(String((request.query as { enabled?: unknown }).enabled));
        done();
      },
    },
    async (request) => request.query,
  );
  call = client(await app.listen({ host: '127.0.0.1', port: 0 }));
});
after(async () => app.close());

test('True/False and any casing of true/false are booleans', async () => {
  for (const [text, value] of [
    ['True', true],
    ['False', false],
    ['true', true],
    ['false', false],
    ['TRUE', true],
    ['fAlSe', false],
  ] as const) {
    const reply = await call('GET', `/flags?enabled=${text}`);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body, { enabled: value });
  }
});

test('a string parameter keeps its casing', async () => {
  const reply = await call('GET', '/flags?name=True');
  assert.deepEqual(reply.body, { name: 'True' });
});

test('anything else is 400 at /query/enabled', async () => {
  for (const text of ['maybe', 'yes', 'Truee', '']) {
    assertViolations(await call('GET', `/flags?enabled=${text}`), ['/query/enabled']);
  }
});

test('integers must be written in decimal digits', async () => {
  assert.deepEqual((await call('GET', '/flags?count=12')).body, { count: 12 });
  assert.deepEqual((await call('GET', '/flags?count=-3')).body, { count: -3 });
  for (const text of ['1e2', '0x10', '1.0', '+5', '%205', 'abc', '']) {
    assertViolations(await call('GET', `/flags?count=${text}`), ['/query/count']);
  }
});

test('unknown parameters are dropped', async () => {
  assert.deepEqual((await call('GET', '/flags?enabled=True&other=1')).body, { enabled: true });
});

test("a route's own preValidation hook still runs, after the casing is fixed", async () => {
  const reply = await call('GET', '/flags-seen?enabled=False');
  assert.deepEqual(reply.body, { enabled: false });
  assert.deepEqual(seenByRoute, ['false']);
});
