/**
 * Property-based fuzzing of every operation in the served OpenAPI document (fast-check): wrong
 * types, missing and extra fields, huge and empty strings, control characters, odd Unicode,
 * injection strings, malformed JSON, other content types, junk path and query parameters, junk
 * Authorization headers. For every request: never a 5xx, every error is SPEC §3's problem+json,
 * a rejected request leaves the store as it was (save the audit record of a denial), and
 * afterwards the server still answers.
 *
 * Inputs that meet a known open bug are left out (test/helpers/fuzz-open-bugs.ts); findings.test.ts
 * pins every finding. Reproduce or scale: FUZZ_SEED=<n> (printed) and FUZZ_RUNS=<requests per
 * operation>.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { postgresFlavour, testDialect } from '../helpers/database.js';
import { type RawClient, rawClient } from '../helpers/fuzz-http.js';
import { omittedKinds } from '../helpers/fuzz-open-bugs.js';
import { type FuzzOperation, operationsOf } from '../helpers/fuzz-openapi.js';
import { IdentifierPool } from '../helpers/fuzz-pools.js';
import { type FuzzRequest, requestsFor } from '../helpers/fuzz-requests.js';
import { Fuzzer } from '../helpers/fuzz-runner.js';
import { StoreState } from '../helpers/fuzz-state.js';
import type { Reply } from '../helpers/http.js';
import { api, createKey, deleteKey, role } from '../helpers/keys.js';
import { createRole } from '../helpers/roles.js';
import { createSecret } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';
import { DEFAULT_ROLES } from '../helpers/spec.js';
import { ALL_EVENTS, CLOSED_PORT_URL, createWebhook } from '../helpers/webhooks.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_101);
// PGlite runs in this process and is several times slower than SQLite: fewer runs by default.
const PGLITE = testDialect() === 'postgres' && postgresFlavour() === 'pglite';
const RUNS = Number(process.env.FUZZ_RUNS ?? (PGLITE ? 90 : 120));

/**
 * Known-good bodies, varied by the fuzzer (RequestOptions.examples): the schemas alone rarely
 * produce a body that succeeds (a DEFAULT role needs `role`, a tag must be new).
 */
const BODY_EXAMPLES: Record<string, fc.Arbitrary<unknown>> = {
  'POST /api/v1/auth/key': fc.record({
    name: fc.constant('fuzz key'),
    description: fc.constantFrom('made by the fuzzer', null),
    roles: fc.subarray([...DEFAULT_ROLES], { minLength: 1 }).map((roles) => roles.map(role)),
    expirationDate: fc.constantFrom(null, '2199-01-01T00:00:00Z'),
    allowedIps: fc.constantFrom(null, ['127.0.0.1', '::1'], ['10.0.0.0/8', '2001:db8::/32']),
    rateLimitPerMinute: fc.constantFrom(null, 1, 1_000_000),
  }),
  'PUT /api/v1/auth/key/{cid}': fc.oneof(
    fc.constant({ name: 'fuzz renamed', description: 'renamed by the fuzzer' }),
    fc.constant({ name: 'fuzz restricted', allowedIps: ['192.0.2.0/24'], rateLimitPerMinute: 1 }),
    fc.constant({ name: 'fuzz opened', allowedIps: null, rateLimitPerMinute: null }),
  ),
  // Keys of the `cid` pool only: the fuzz caller's own key is never a target (below), so a roll
  // with no grace, or an update that gives a key a budget of 1 a minute, never ends the run's
  // own access. A rolled key keeps its cid, so the pool still names it.
  'POST /api/v1/auth/key/{cid}/roll': fc.record({
    expireOldAfterSeconds: fc.constantFrom(0, 1, 3_600, 2_592_000),
  }),
  'POST /api/v1/secrets': fc
    .nat()
    .map((n) => ({ name: 'fuzz secret', tag: `fuzz-${n}`, secret: 'fuzz value' })),
  // Prefixes that match the fuzzer's secrets (and none), tags that exist at times.
  'POST /api/v1/secrets/values': fc.oneof(
    fc.constantFrom({ tagPrefix: '' }, { tagPrefix: 'fuzz-' }, { tagPrefix: 'nothing-' }),
    fc.nat({ max: 20 }).map((n) => ({ tags: [`fuzz-${n}`] })),
  ),
  'PUT /api/v1/secrets/{tagOrId}': fc.constantFrom(
    { name: 'fuzz renamed' },
    { secret: 'a new fuzz value' },
    { name: 'fuzz renamed', secret: 'another fuzz value' },
  ),
  // Lists that let the fuzzer in, and one that shuts it out (saved only with force=true).
  'PUT /api/v1/ip-allowlist': fc.constantFrom(
    { entries: [] },
    { entries: [{ address: '127.0.0.1', description: 'the fuzzer' }, { address: '::1' }] },
    { entries: [{ address: '10.0.0.0/8', description: 'elsewhere' }, { address: '2001:db8::/32' }] },
  ),
  // Receivers on a closed local port: the fuzzer's webhooks send no traffic anywhere.
  'POST /api/v1/webhooks': fc.record({
    url: fc.constantFrom(CLOSED_PORT_URL, 'http://127.0.0.1:9/other'),
    events: fc.subarray([...ALL_EVENTS], { minLength: 1 }),
    description: fc.constantFrom('made by the fuzzer', null),
  }),
  'PUT /api/v1/webhooks/{id}': fc.record({
    url: fc.constant(CLOSED_PORT_URL),
    events: fc.subarray([...ALL_EVENTS], { minLength: 1 }),
  }),
  'POST /api/v1/ip-allowlist/validate': fc.constant({
    entries: [{ address: '10.0.0.0/8', description: 'fuzz' }, { address: 'not an address' }],
  }),
};

/**
 * After a saved IP allowlist: empty it again, from an address the list lets in (the server trusts
 * one proxy hop, so `X-Forwarded-For` names the caller), so that the list never shuts the fuzzer
 * out of the requests that follow. The first entry's own address is inside its range.
 */
async function emptyAllowlist(operationId: string, reply: Reply): Promise<void> {
  if (operationId !== 'PUT /api/v1/ip-allowlist' || reply.body.total === 0) return;
  const inside = String(reply.body.entries[0].address).split('/')[0] as string;
  const emptied = await suite.call('PUT', '/api/v1/ip-allowlist?force=true', {
    token: suite.server.adminToken,
    headers: { 'x-forwarded-for': inside },
    body: { entries: [] },
  });
  assert.equal(emptied.status, 200, `emptying the allowlist from ${inside}: ${emptied.text}`);
}

// Counted 401s are written when their denial window ends: here only when the server closes, so
// no count lands in the audit rows pinned to some later request. Last-used times likewise: a timed
// flush writes `last_used_at` between two snapshots, which would pin a change on whichever
// request ran then; they are written when the server closes.
let client: RawClient;
/**
 * Query values by operation, instead of those drawn from the schema (RequestOptions.queryValues).
 * The change feed waits up to `waitSeconds` when nothing is new after `since`: the fuzzer waits
 * 1 s at most, beside malformed values, and sends a real cursor at times so the poll is reached.
 */
function queryValuesOf(id: string): Record<string, fc.Arbitrary<string>> | undefined {
  if (id !== 'GET /api/v1/secrets/changes') return undefined;
  return {
    waitSeconds: fc.constantFrom('0', '1', '-1', '61', '1.5', '1e2', '0x1', 'soon', '', 'True'),
    since: fc.oneof(
      fc.constant(feedCursor),
      fc.string({ maxLength: 80 }),
      fc.constantFrom('', 'YzEuMA', 'YzEuLTE', 'YzEuMDE', `${feedCursor}=`, `${feedCursor}%00`),
    ),
  };
}

let feedCursor: string;
let operations: FuzzOperation[];
let pools: Map<string, IdentifierPool>;
let fuzzer: Fuzzer;
const suite = useTestServer(
  { app: { denialWindow: () => () => {}, trustProxy: 1, lastUsedFlushMs: 86_400_000 } },
  async () => {
    client = rawClient(suite.server.url);
    const feed = await suite.call('GET', '/api/v1/secrets/changes', { token: suite.server.adminToken });
    assert.equal(feed.status, 200, feed.text);
    feedCursor = feed.body.cursor;
    const document = await suite.call('GET', '/api/v1/openapi.json');
    assert.equal(document.status, 200, document.text);
    operations = operationsOf(document.body);
    pools = new Map([
      [
        // Keys the fuzzer creates (through the pool or a fuzzed create), never the caller's own.
        'cid',
        new IdentifierPool(
          {
            create: async () => [(await createKey(suite.server, { name: 'fuzz target' })).cid],
            harvest: { operation: 'POST /api/v1/auth/key', identifiers: (body) => [body.cid] },
          },
          3,
        ),
      ],
      [
        'tagOrId',
        new IdentifierPool(
          {
            create: async () => {
              const secret = await createSecret(suite.server);
              return [secret.tag, secret.id];
            },
            harvest: { operation: 'POST /api/v1/secrets', identifiers: (body) => [body.tag, body.id] },
          },
          3,
        ),
      ],
      [
        'id',
        new IdentifierPool(
          {
            create: async () => [
              (await createWebhook(suite.server, CLOSED_PORT_URL, ['api_key.created'])).id,
            ],
            harvest: { operation: 'POST /api/v1/webhooks', identifiers: (body) => [body.id] },
          },
          3,
        ),
      ],
      [
        // Deliveries of the webhooks above (made by creating a key they hear of).
        'deliveryId',
        new IdentifierPool(
          {
            create: async () => {
              const webhook = await createWebhook(suite.server, CLOSED_PORT_URL, ['api_key.created']);
              await createKey(suite.server, { name: 'fuzz delivery' });
              const row = await suite.server.store.db
                .selectFrom('webhook_deliveries')
                .select('id')
                .where('webhook_id', '=', webhook.id)
                .executeTakeFirstOrThrow();
              return [row.id];
            },
          },
          3,
        ),
      ],
      [
        'tag',
        new IdentifierPool(
          {
            create: async () => [(await createRole(suite.server, { name: 'fuzz target' })).tag],
            harvest: { operation: 'POST /api/v1/roles', identifiers: (body) => [body.tag] },
          },
          3,
        ),
      ],
    ]);
    const state = await StoreState.open(suite.server.store.db, suite.server.store.dialect);
    fuzzer = new Fuzzer({
      client,
      state,
      pools,
      adminToken: suite.server.adminToken,
      // Failed authentications spend the client's brute-force budget, where one is set, and past
      // it further failures are 429, not 401. A minute of server time after each one restores it.
      afterUnauthenticated: () => suite.server.advance(61_000),
      afterSuccess: emptyAllowlist,
    });
  },
);

after(async () => {
  client?.close();
});

test('every operation of the OpenAPI document, fuzzed', async (t) => {
  t.diagnostic(`seed ${SEED} (FUZZ_SEED), ${RUNS} requests per operation (FUZZ_RUNS)`);
  assert.ok(operations.length > 0, 'the OpenAPI document lists no operations');
  // Built up front: an operation the fuzzer cannot generate requests for fails here, by name.
  const arbitraries = operations.map((operation) =>
    requestsFor(operation, pools, {
      omit: omittedKinds(),
      examples: BODY_EXAMPLES[operation.id],
      queryValues: queryValuesOf(operation.id),
    }),
  );
  for (const [index, operation] of operations.entries()) {
    await t.test(operation.id, async () => {
      await fc.assert(
        fc.asyncProperty(arbitraries[index] as fc.Arbitrary<FuzzRequest>, (request) => fuzzer.check(request)),
        { seed: SEED + index, numRuns: RUNS, includeErrorInReport: true },
      );
      const health = await suite.call('GET', '/healthz');
      assert.equal(health.status, 200, `/healthz after fuzzing ${operation.id}: ${health.text}`);
    });
  }
  let total = 0;
  const lines = [...fuzzer.tally].map(([id, counts]) => {
    const sum = counts['2xx'] + counts['4xx'] + counts.other;
    total += sum;
    return `${id}: ${sum} (2xx ${counts['2xx']}, 4xx ${counts['4xx']})`;
  });
  t.diagnostic(`requests fuzzed: ${total} over ${operations.length} operations; ${lines.join('; ')}`);
  assert.deepEqual(
    operations.filter((o) => !fuzzer.tally.has(o.id)).map((o) => o.id),
    [],
    'operations never fuzzed',
  );
});

test('afterwards the server is up and serves normal calls', async () => {
  const call = api(suite.server);
  assert.equal((await call('GET', '/healthz')).status, 200);
  const me = await call('GET', '/api/v1/me', { token: suite.server.adminToken });
  assert.equal(me.status, 200, me.text);
  const key = await createKey(suite.server, { name: 'after the fuzz' });
  const read = await call('GET', `/api/v1/auth/key/${key.cid}`, { token: suite.server.adminToken });
  assert.equal(read.status, 200, read.text);
  assert.equal(read.body.name, 'after the fuzz');
  await deleteKey(suite.server, key.cid);
});
