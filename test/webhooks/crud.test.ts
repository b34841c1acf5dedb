import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertProblem } from '../helpers/problem.js';
import { useTestServer } from '../helpers/server.js';
import { ALL_EVENTS, CLOSED_PORT_URL, createWebhook } from '../helpers/webhooks.js';

const WEBHOOK_ID = /^wh[0-9a-f]{16}$/;

describe('webhooks: create, read, replace, delete', () => {
  const suite = useTestServer();
  const admin = () => ({ token: suite.server.adminToken });

  test('the create answer carries the secret once; reads never do', async () => {
    const created = await createWebhook(
      suite.server,
      CLOSED_PORT_URL,
      ['secret.deleted', 'api_key.created'],
      'ops',
    );
    assert.match(created.id, WEBHOOK_ID);
    assert.deepEqual(Object.keys(created).sort(), [
      'createdDate',
      'description',
      'events',
      'id',
      'secret',
      'url',
    ]);
    assert.match(created.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    // Kept once each, in the events table's order.
    assert.deepEqual(created.events, ['api_key.created', 'secret.deleted']);
    const read = await suite.call('GET', `/api/v1/webhooks/${created.id}`, admin());
    assert.equal(read.status, 200, read.text);
    assert.deepEqual(read.body, {
      id: created.id,
      url: CLOSED_PORT_URL,
      events: ['api_key.created', 'secret.deleted'],
      description: 'ops',
      createdDate: created.createdDate,
    });
    const list = await suite.call('GET', '/api/v1/webhooks', admin());
    assert.equal(list.status, 200, list.text);
    const listed = list.body.webhooks.find((w: { id: string }) => w.id === created.id);
    assert.deepEqual(listed, read.body);
    assert.ok(!list.text.includes(created.secret));
  });

  test('PUT replaces url, events and description; DELETE answers 200 empty, then 404', async () => {
    const created = await createWebhook(suite.server, CLOSED_PORT_URL, ['secret.deleted'], 'before');
    const replaced = await suite.call('PUT', `/api/v1/webhooks/${created.id}`, {
      ...admin(),
      body: { url: 'http://127.0.0.1:9/other', events: [...ALL_EVENTS] },
    });
    assert.equal(replaced.status, 200, replaced.text);
    assert.equal(replaced.body.url, 'http://127.0.0.1:9/other');
    assert.deepEqual(replaced.body.events, [...ALL_EVENTS]);
    assert.equal(replaced.body.description, null);
    assert.equal(replaced.body.secret, undefined);
    const deleted = await suite.call('DELETE', `/api/v1/webhooks/${created.id}`, admin());
    assert.equal(deleted.status, 200);
    assert.equal(deleted.text, '');
    for (const [method, path] of [
      ['GET', `/api/v1/webhooks/${created.id}`],
      ['DELETE', `/api/v1/webhooks/${created.id}`],
      ['GET', `/api/v1/webhooks/${created.id}/deliveries`],
      ['POST', `/api/v1/webhooks/${created.id}/deliveries/wd0000000000000000/redeliver`],
    ] as const) {
      const reply = await suite.call(method, path, admin());
      assertProblem(reply, 404, 'NOT_FOUND');
    }
    const put = await suite.call('PUT', `/api/v1/webhooks/${created.id}`, {
      ...admin(),
      body: { url: CLOSED_PORT_URL, events: ['secret.deleted'] },
    });
    assertProblem(put, 404, 'NOT_FOUND');
  });

  test('validation: events from the table, at least one; http(s) URLs without credentials', async () => {
    const cases: [unknown, string][] = [
      [{ url: CLOSED_PORT_URL, events: [] }, 'no event'],
      [{ url: CLOSED_PORT_URL, events: ['api_key.exploded'] }, 'an unknown event'],
      [{ url: CLOSED_PORT_URL }, 'no events'],
      [{ events: ['secret.deleted'] }, 'no url'],
      [{ url: 'ftp://127.0.0.1/x', events: ['secret.deleted'] }, 'ftp'],
      [{ url: 'file:///etc/passwd', events: ['secret.deleted'] }, 'file'],
      [{ url: 'not a url', events: ['secret.deleted'] }, 'not a URL'],
      [{ url: 'http://user:pass@127.0.0.1:9/', events: ['secret.deleted'] }, 'credentials'],
      [{ url: `http://127.0.0.1/${'a'.repeat(2100)}`, events: ['secret.deleted'] }, 'too long'],
    ];
    for (const [body, what] of cases) {
      const reply = await suite.call('POST', '/api/v1/webhooks', { ...admin(), body });
      assert.equal(reply.status, 400, `${what}: ${reply.text}`);
      assertProblem(reply, 400, 'BAD_REQUEST');
    }
  });
});

describe('webhooks: private addresses refused without TESSERA_WEBHOOK_ALLOW_PRIVATE', () => {
  const suite = useTestServer({ app: { webhooks: { allowPrivate: false } } });

  test('loopback, private, link-local, CGNAT, ULA, mapped and unspecified addresses are 400', async () => {
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://10.1.2.3/hook',
      'http://172.16.0.1/hook',
      'http://192.168.1.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://100.64.0.1/hook',
      'http://0.0.0.0/hook',
      'http://[::1]/hook',
      'http://[::]/hook',
      'http://[fd00::1]/hook',
      'http://[fe80::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[::ffff:a00:1]/hook',
      'http://224.0.0.1/hook',
    ]) {
      const reply = await suite.call('POST', '/api/v1/webhooks', {
        token: suite.server.adminToken,
        body: { url, events: ['secret.deleted'] },
      });
      assert.equal(reply.status, 400, `${url}: ${reply.text}`);
      assertProblem(reply, 400, 'BAD_REQUEST');
      assert.match(reply.body.violations[0].description, /private|loopback|link-local/, url);
    }
  });

  test('a public address is accepted', async () => {
    const reply = await suite.call('POST', '/api/v1/webhooks', {
      token: suite.server.adminToken,
      body: { url: 'https://203.0.113.10/hook', events: ['secret.deleted'] },
    });
    assert.equal(reply.status, 200, reply.text);
  });
});
