/**
 * Cortex's three IP-allowlist calls over real HTTP: the shapes (`{entries, page, total,
 * totalPages}`, description null when unset), a replace answering the new state, one violation
 * per bad entry with nothing saved, the bounds, pagination in the order saved, the lockout
 * refusal and `force` (Cortex's `True`/`False` too), per-entry validation that saves nothing, and
 * an audit event for every change. Calls come from chosen addresses through `X-Forwarded-For`
 * (the server trusts one proxy hop).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventsOf } from '../helpers/audit.js';
import { from, putList, setList } from '../helpers/ip-allowlist.js';
import { createKey } from '../helpers/keys.js';
import { assertProblem, assertViolations } from '../helpers/problem.js';
import { useTestServer } from '../helpers/server.js';

const ADMIN_IP = '198.51.100.7';
const suite = useTestServer({ eachTest: true, app: { trustProxy: 1 } });
const token = () => suite.server.adminToken;
const get = (query = '', ip = ADMIN_IP) =>
  suite.call('GET', `/api/v1/ip-allowlist${query}`, { token: token(), headers: from(ip) });

describe('GET and PUT', () => {
  test('an empty list at first: an empty page, as every list answers', async () => {
    const reply = await get();
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body, { entries: [], page: 0, total: 0, totalPages: 0 });
  });

  test('a replace answers the new state, entries kept as sent and in order, description null when unset', async () => {
    const entries = [
      { address: '198.51.100.0/24', description: 'office' },
      { address: '2001:db8::/32' },
      { address: '192.0.2.7', description: null },
      { address: '10.1.2.3/8', description: 'host bits set: the range is 10.0.0.0/8' },
    ];
    const reply = await putList(suite.call, token(), entries, { ip: ADMIN_IP });
    assert.equal(reply.status, 200, reply.text);
    const expected = {
      entries: entries.map((e) => ({ address: e.address, description: e.description ?? null })),
      page: 0,
      total: 4,
      totalPages: 1,
    };
    assert.deepEqual(reply.body, expected);
    assert.deepEqual((await get()).body, expected);
    // Exactly Cortex's fields, in every entry.
    for (const entry of reply.body.entries) assert.deepEqual(Object.keys(entry), ['address', 'description']);
  });

  test('a replace replaces: nothing of the previous list stays; duplicates are kept as sent', async () => {
    await setList(suite.call, token(), [{ address: '203.0.113.0/24' }, { address: '0.0.0.0/0' }]);
    const reply = await putList(
      suite.call,
      token(),
      [{ address: ADMIN_IP }, { address: ADMIN_IP, description: 'twice' }],
      { ip: ADMIN_IP },
    );
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(
      reply.body.entries.map((e: { address: string }) => e.address),
      [ADMIN_IP, ADMIN_IP],
    );
  });

  test('pages in the order saved, with true totals; a page past the end is empty', async () => {
    const entries = Array.from({ length: 7 }, (_, i) => ({
      address: i === 0 ? ADMIN_IP : `10.0.${i}.0/24`,
      description: `#${i}`,
    }));
    await setList(suite.call, token(), entries);
    const pages = await Promise.all([0, 1, 2, 3].map((page) => get(`?page=${page}&pageSize=3`)));
    assert.deepEqual(
      pages.map((p) => p.body.entries.map((e: { description: string }) => e.description)),
      [['#0', '#1', '#2'], ['#3', '#4', '#5'], ['#6'], []],
    );
    for (const [i, p] of pages.entries()) {
      assert.deepEqual(
        { page: p.body.page, total: p.body.total, totalPages: p.body.totalPages },
        {
          page: i,
          total: 7,
          totalPages: 3,
        },
      );
    }
    assertViolations(await get('?pageSize=0'), ['/query/pageSize']);
    assertViolations(await get('?page=-1'), ['/query/page']);
  });

  test('a replace of many entries answers the first page of 250 and keeps them all', async () => {
    const entries = Array.from({ length: 1000 }, (_, i) => ({ address: `10.${i >> 8}.${i & 255}.0/24` }));
    const reply = await putList(suite.call, token(), [{ address: ADMIN_IP }, ...entries.slice(1)], {
      ip: ADMIN_IP,
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.entries.length, 250);
    assert.deepEqual([reply.body.total, reply.body.totalPages], [1000, 4]);
    const last = await get('?page=999&pageSize=1');
    assert.deepEqual(last.body.entries, [{ address: entries[999]?.address, description: null }]);
  });
});

describe('refusals', () => {
  test('each entry whose address is not one is a violation of its own, and nothing is saved', async () => {
    await setList(suite.call, token(), [{ address: '0.0.0.0/0', description: 'before' }]);
    const bad = ['10.0.0.0/33', 'example.com', '', '::1/129', 'fe80::1%eth0', '10.0.0.1/08', ' 10.0.0.1'];
    const entries = [{ address: '10.0.0.0/8' }, ...bad.map((address) => ({ address }))];
    const reply = await putList(suite.call, token(), entries, { ip: ADMIN_IP });
    const violations = assertViolations(
      reply,
      bad.map((_, i) => `/body/entries/${i + 1}/address`),
    );
    assert.equal(violations.length, bad.length, JSON.stringify(violations));
    assert.deepEqual((await get()).body.entries, [{ address: '0.0.0.0/0', description: 'before' }]);
  });

  test('bounds: at most 1000 entries, addresses and descriptions bounded, descriptions without controls', async () => {
    const many = Array.from({ length: 1001 }, () => ({ address: '0.0.0.0/0' }));
    assertViolations(await putList(suite.call, token(), many, { ip: ADMIN_IP }), ['/body/entries']);
    const cases: [unknown, string][] = [
      [{ address: '1'.repeat(257) }, '/body/entries/0/address'],
      [{ address: '0.0.0.0/0', description: 'x'.repeat(4097) }, '/body/entries/0/description'],
      [{ address: '0.0.0.0/0', description: 'red \u001b[31m' }, '/body/entries/0/description'],
      [{ address: 7 }, '/body/entries/0/address'],
      [{ description: 'no address' }, '/body/entries/0/address'],
    ];
    for (const [entry, pointer] of cases) {
      const reply = await suite.call('PUT', '/api/v1/ip-allowlist', {
        token: token(),
        headers: from(ADMIN_IP),
        body: { entries: [entry] },
      });
      assertViolations(reply, [pointer]);
    }
    assertViolations(
      await suite.call('PUT', '/api/v1/ip-allowlist', { token: token(), headers: from(ADMIN_IP), body: {} }),
      ['/body/entries'],
    );
    assertViolations(await putList(suite.call, token(), [], { force: 'maybe', ip: ADMIN_IP }), [
      '/query/force',
    ]);
  });

  test("a list without the caller's address is refused, naming the address and force=true; force saves it", async () => {
    const list = [{ address: '203.0.113.0/24', description: 'elsewhere' }];
    const refused = await putList(suite.call, token(), list, { ip: ADMIN_IP });
    const problem = assertViolations(refused, ['/body/entries']);
    assert.ok(problem.length > 0);
    const body = assertProblem(refused, 400, 'BAD_REQUEST');
    assert.match(body.detail, new RegExp(ADMIN_IP.replaceAll('.', '\\.')));
    assert.match(body.detail, /force=true/);
    assertProblem(
      await putList(suite.call, token(), list, { force: 'False', ip: ADMIN_IP }),
      400,
      'BAD_REQUEST',
    );
    assert.deepEqual((await get()).body.entries, []);

    // Cortex's CLI sends `True`.
    const forced = await putList(suite.call, token(), list, { force: 'True', ip: ADMIN_IP });
    assert.equal(forced.status, 200, forced.text);
    assert.deepEqual(forced.body.entries, list);
    // Saved: the caller's address is refused from now on, the list's own ones are not.
    assertProblem(await get('', ADMIN_IP), 403, 'FORBIDDEN');
    assert.equal((await get('', '203.0.113.9')).status, 200);
  });

  test("a list containing the caller's address needs no force; an empty list allows every address", async () => {
    const own = await putList(suite.call, token(), [{ address: '198.51.100.0/24' }], { ip: ADMIN_IP });
    assert.equal(own.status, 200, own.text);
    assertProblem(await get('', '192.0.2.1'), 403, 'FORBIDDEN');
    const emptied = await putList(suite.call, token(), [], { ip: ADMIN_IP });
    assert.equal(emptied.status, 200, emptied.text);
    assert.deepEqual(emptied.body, { entries: [], page: 0, total: 0, totalPages: 0 });
    for (const ip of ['192.0.2.1', '2001:db8::1', ADMIN_IP]) assert.equal((await get('', ip)).status, 200);
  });
});

describe('POST /api/v1/ip-allowlist/validate', () => {
  const validate = (body: unknown) =>
    suite.call('POST', '/api/v1/ip-allowlist/validate', { token: token(), headers: from(ADMIN_IP), body });

  test('answers each entry, valid or not, in order, with 200, and saves nothing', async () => {
    const reply = await validate({
      entries: [
        { address: '10.0.0.0/8', description: 'inside' },
        { address: 'not-an-ip', description: 'typo' },
        { address: '2001:db8::/129' },
        { address: '203.0.113.5' },
      ],
    });
    assert.equal(reply.status, 200, reply.text);
    const [inside, typo, tooLong, other] = reply.body.entries;
    assert.deepEqual(inside, { address: '10.0.0.0/8', description: 'inside', valid: true });
    assert.deepEqual(Object.keys(typo).sort(), ['address', 'description', 'message', 'valid']);
    assert.deepEqual([typo.address, typo.description, typo.valid], ['not-an-ip', 'typo', false]);
    assert.match(typo.message, /not-an-ip.*CIDR/);
    assert.deepEqual([tooLong.valid, tooLong.description], [false, null]);
    // An address the caller is not at is still valid: validation saves nothing, so locks out no one.
    assert.deepEqual(other, { address: '203.0.113.5', description: null, valid: true });
    assert.equal(reply.body.entries.length, 4);
    assert.deepEqual((await get()).body.entries, []);
  });

  test('a body that breaks the schema is 400', async () => {
    assertViolations(await validate({ entries: 'all' }), ['/body/entries']);
    assertViolations(await validate({ entries: [{ address: 5 }] }), ['/body/entries/0/address']);
    const malformed = await suite.call('POST', '/api/v1/ip-allowlist/validate', {
      token: token(),
      headers: { ...from(ADMIN_IP), 'content-type': 'application/json' },
      rawBody: '{"entries": [',
    });
    assertProblem(malformed, 400, 'BAD_REQUEST');
  });
});

describe('audit', () => {
  test('every change is one UPDATE of IP_ALLOWLIST by the calling key, from its address; validation none', async () => {
    const key = await createKey(suite.server, { roles: ['ADMIN'] });
    const { events: set } = await eventsOf(suite.server, () =>
      putList(suite.call, key.apiKey, [{ address: '198.51.100.0/24' }, { address: '::1' }], { ip: ADMIN_IP }),
    );
    const { events: forced } = await eventsOf(suite.server, () =>
      putList(suite.call, key.apiKey, [{ address: '203.0.113.0/24' }], { force: true, ip: ADMIN_IP }),
    );
    const { events: emptied } = await eventsOf(suite.server, () =>
      putList(suite.call, key.apiKey, [], { ip: '203.0.113.1' }),
    );
    const { events: validated } = await eventsOf(suite.server, () =>
      suite.call('POST', '/api/v1/ip-allowlist/validate', {
        token: key.apiKey,
        body: { entries: [{ address: '10.0.0.0/8' }] },
      }),
    );
    const shape = (events: typeof set) =>
      events.map((e) => [
        e.actor_type,
        e.actor_id,
        e.action,
        e.object_type,
        e.object_id,
        e.outcome,
        e.ip,
        e.detail,
      ]);
    assert.deepEqual(shape(set), [
      ['API_KEY', key.cid, 'UPDATE', 'IP_ALLOWLIST', null, 'SUCCESS', ADMIN_IP, '2 entries'],
    ]);
    assert.deepEqual(shape(forced), [
      [
        'API_KEY',
        key.cid,
        'UPDATE',
        'IP_ALLOWLIST',
        null,
        'SUCCESS',
        ADMIN_IP,
        "1 entry, forced: the caller's address is not in it",
      ],
    ]);
    assert.deepEqual(shape(emptied), [
      [
        'API_KEY',
        key.cid,
        'UPDATE',
        'IP_ALLOWLIST',
        null,
        'SUCCESS',
        '203.0.113.1',
        'emptied: every address allowed',
      ],
    ]);
    assert.deepEqual(validated, []);
    // Cortex's filter finds them.
    const logs = await suite.call('GET', '/api/v1/audit-logs?objectTypes=IP_ALLOWLIST&actions=UPDATE', {
      token: token(),
    });
    assert.equal(logs.status, 200, logs.text);
    assert.equal(logs.body.total, 3);
  });

  test('a refused replace records nothing and changes nothing', async () => {
    const { events } = await eventsOf(suite.server, () =>
      putList(suite.call, token(), [{ address: 'nope' }], { ip: ADMIN_IP }),
    );
    assert.deepEqual(events, []);
  });
});
