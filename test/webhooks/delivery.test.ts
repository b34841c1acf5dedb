/**
 * Webhook deliveries to a real receiver on 127.0.0.1: every audited change to a key or a secret
 * reaches the webhooks that take its event, signed, once committed; a receiver that is down gets
 * every event when it returns; the deliveries list and redelivery; expiry reminders with a moved
 * clock; token.leaked from the token-scanning endpoint.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readScanningKeys } from '../../src/features/token-scanning/scanning-keys.js';
import { eventually } from '../helpers/eventually.js';
import { createKey, deleteKey, expiringKey } from '../helpers/keys.js';
import { changeValue, createSecret } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';
import { createWebhook, type Receiver, signatureVerifies, startReceiver } from '../helpers/webhooks.js';

const DAY = 24 * 60 * 60 * 1000;

let receiver: Receiver;
before(async () => {
  receiver = await startReceiver();
});
after(async () => {
  await receiver.stop();
});

describe('webhook deliveries', () => {
  const suite = useTestServer({
    app: { webhooks: { retryBaseMs: 50, maxRetryDelayMs: 200, pollMs: 50 } },
  });

  test('each change reaches the receiver once committed, signed, naming the object and actor only', async () => {
    const webhook = await createWebhook(suite.server, receiver.url);
    const call = suite.call;
    const token = suite.server.adminToken;
    const started = receiver.received.length;
    const key = await createKey(suite.server, { name: 'hooked' });
    await eventually('api_key.created delivered', () => receiver.received.length > started);
    const updated = await call('PUT', `/api/v1/auth/key/${key.cid}`, { token, body: { name: 'renamed' } });
    assert.equal(updated.status, 200, updated.text);
    const rolled = await call('POST', `/api/v1/auth/key/${key.cid}/roll`, {
      token,
      body: { expireOldAfterSeconds: 0 },
    });
    assert.equal(rolled.status, 200, rolled.text);
    await deleteKey(suite.server, key.cid);
    const secret = await createSecret(suite.server);
    await changeValue(suite.server, secret.tag, 'another value of the secret');
    const removed = await call('DELETE', `/api/v1/secrets/${secret.tag}`, { token });
    assert.equal(removed.status, 200, removed.text);

    const expected = [
      'api_key.created',
      'api_key.updated',
      'api_key.rolled',
      'api_key.deleted',
      'secret.created',
      'secret.updated',
      'secret.deleted',
    ];
    const events = await eventually('every event delivered', () => {
      const mine = receiver.received
        .slice(started)
        .filter((e) => e.json.object.id === key.cid || e.json.object.id === secret.tag);
      return mine.length >= expected.length ? mine : undefined;
    });
    assert.deepEqual(
      events.map((e) => e.json.type),
      expected,
      'in the order of the changes (one node, one webhook)',
    );
    for (const event of events) {
      assert.ok(signatureVerifies(webhook.secret, event), `signature of ${event.json.type}`);
      assert.equal(event.headers['content-type'], 'application/json');
      assert.equal(event.headers['tessera-event-id'], event.json.id);
      assert.match(String(event.json.id), /^ev[0-9a-f]{16}$/);
      assert.deepEqual(Object.keys(event.json).sort(), [
        'actor',
        'detail',
        'id',
        'object',
        'occurredAt',
        'type',
      ]);
      assert.equal(event.json.actor.type, 'API_KEY');
      // Never a token or a value.
      assert.ok(!event.body.includes(rolled.body.apiKey));
      assert.ok(!event.body.includes(key.apiKey));
      assert.ok(!event.body.includes(secret.value));
      assert.ok(!event.body.includes('another value of the secret'));
    }
    // A wrong secret does not verify.
    assert.ok(!signatureVerifies(`${webhook.secret}x`, events[0] as (typeof events)[0]));

    const list = await call('GET', `/api/v1/webhooks/${webhook.id}/deliveries?pageSize=100`, { token });
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.total, list.body.deliveries.length);
    const delivery = list.body.deliveries.find((d: { eventId: string }) => d.eventId === events[0]?.json.id);
    assert.deepEqual(Object.keys(delivery).sort(), [
      'attemptedDate',
      'attempts',
      'createdDate',
      'error',
      'eventId',
      'eventType',
      'id',
      'responseStatus',
      'status',
    ]);
    assert.equal(delivery.status, 'DELIVERED');
    assert.equal(delivery.responseStatus, 200);
    assert.equal(delivery.attempts, 1);
    assert.equal(delivery.eventType, 'api_key.created');
    // Newest first.
    assert.equal(list.body.deliveries[0].eventType, 'secret.deleted');

    // Redeliver: the same event id and body again.
    const before = receiver.received.length;
    const again = await call('POST', `/api/v1/webhooks/${webhook.id}/deliveries/${delivery.id}/redeliver`, {
      token,
    });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.text, '');
    const resent = await eventually('redelivered', () =>
      receiver.received.slice(before).find((e) => e.json.id === delivery.eventId),
    );
    assert.ok(signatureVerifies(webhook.secret, resent));
    assert.equal(resent.body, events[0]?.body);
    await call('DELETE', `/api/v1/webhooks/${webhook.id}`, { token });
  });

  test('delivery latency: from the change recorded to the receiver having the body (reported, not asserted)', async (t) => {
    const timed = await startReceiver();
    try {
      const webhook = await createWebhook(suite.server, timed.url, ['api_key.created']);
      for (let i = 0; i < 50; i++) {
        await createKey(suite.server, { name: `timed ${i}` });
        await eventually('delivered', () => timed.received.length > i);
      }
      // occurredAt is written in the change's transaction, just before its commit (same clock: same machine).
      const latencies = timed.received
        .map((e) => e.receivedAt - Date.parse(e.json.occurredAt))
        .sort((x, y) => x - y);
      const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
      t.diagnostic(
        `delivery latency over ${latencies.length} events: median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`,
      );
      await suite.call('DELETE', `/api/v1/webhooks/${webhook.id}`, { token: suite.server.adminToken });
    } finally {
      await timed.stop();
    }
  });

  test('only the events a webhook takes reach it; a change with no subscriber writes no outbox row', async () => {
    const other = await startReceiver();
    try {
      const webhook = await createWebhook(suite.server, other.url, ['secret.deleted']);
      const key = await createKey(suite.server, { name: 'unheard' });
      await deleteKey(suite.server, key.cid);
      const secret = await createSecret(suite.server);
      await suite.call('DELETE', `/api/v1/secrets/${secret.tag}`, { token: suite.server.adminToken });
      await eventually('secret.deleted delivered', () => other.received.length >= 1);
      assert.deepEqual(
        other.received.map((e) => e.json.type),
        ['secret.deleted'],
      );
      const rows = await suite.server.store.db
        .selectFrom('webhook_deliveries')
        .select('event_type')
        .where('webhook_id', '=', webhook.id)
        .execute();
      assert.deepEqual(
        rows.map((r) => r.event_type),
        ['secret.deleted'],
      );
      await suite.call('DELETE', `/api/v1/webhooks/${webhook.id}`, { token: suite.server.adminToken });
    } finally {
      await other.stop();
    }
  });

  test('a receiver that is down, then answers 503, gets every event once it returns', async () => {
    const flaky = await startReceiver();
    try {
      const webhook = await createWebhook(suite.server, flaky.url, ['api_key.created']);
      await flaky.stop();
      const cids: string[] = [];
      for (let i = 0; i < 5; i++) cids.push((await createKey(suite.server, { name: `while down ${i}` })).cid);
      // Attempts fail while the port is closed.
      await eventually('attempts failed', async () => {
        const rows = await suite.server.store.db
          .selectFrom('webhook_deliveries')
          .select(['attempts', 'last_error', 'status'])
          .where('webhook_id', '=', webhook.id)
          .execute();
        return rows.length === 5 && rows.every((r) => Number(r.attempts) >= 2 && r.status === 'PENDING');
      });
      await flaky.start();
      flaky.status = 503;
      await eventually('503 answers', () => flaky.received.length >= 5);
      const failed = await suite.call('GET', `/api/v1/webhooks/${webhook.id}/deliveries`, {
        token: suite.server.adminToken,
      });
      assert.ok(
        failed.body.deliveries.some(
          (d: { responseStatus: number | null; status: string }) =>
            d.responseStatus === 503 && d.status === 'PENDING',
        ),
      );
      flaky.status = 200;
      await eventually('every event delivered', async () => {
        const list = await suite.call('GET', `/api/v1/webhooks/${webhook.id}/deliveries`, {
          token: suite.server.adminToken,
        });
        return list.body.deliveries.every((d: { status: string }) => d.status === 'DELIVERED');
      });
      const delivered = new Set(
        flaky.received
          .filter((e) => e.headers['tessera-signature'] !== undefined)
          .map((e) => e.json.object.id),
      );
      for (const cid of cids) assert.ok(delivered.has(cid), `${cid} delivered`);
      for (const event of flaky.received) assert.ok(signatureVerifies(webhook.secret, event));
      await suite.call('DELETE', `/api/v1/webhooks/${webhook.id}`, { token: suite.server.adminToken });
    } finally {
      await flaky.stop();
    }
  });

  test('expiry reminders fire once each, 7 days and 1 day before, and when expired', async () => {
    const reminded = await startReceiver();
    try {
      await createWebhook(suite.server, reminded.url, ['api_key.expiring', 'api_key.expired']);
      const key = await expiringKey(suite.server, 10 * DAY);
      const ofKey = () =>
        reminded.received
          .filter((e) => e.json.object.id === key.cid)
          .map((e) => `${e.json.type}: ${e.json.detail}`);
      // The server's scan, driven here after each move of its clock.
      const scan = () => suite.server.scanReminders();
      await scan();
      assert.deepEqual(ofKey(), []);
      suite.server.advance(3.5 * DAY);
      await scan();
      await scan();
      await eventually('7-day reminder', () => ofKey().length === 1);
      suite.server.advance(6 * DAY);
      await scan();
      await scan();
      await eventually('1-day reminder', () => ofKey().length === 2);
      suite.server.advance(1 * DAY);
      await scan();
      await scan();
      await eventually('expired', () => ofKey().length === 3);
      await scan();
      assert.deepEqual(ofKey(), [
        'api_key.expiring: expires within 7 days',
        'api_key.expiring: expires within 1 day',
        'api_key.expired: expired',
      ]);
      const event = reminded.received.find((e) => e.json.object.id === key.cid);
      assert.equal(event?.json.expiresAt, key.expirationDate);
      assert.deepEqual(event?.json.actor, { type: 'SYSTEM', id: 'expiry-reminders' });
    } finally {
      await reminded.stop();
    }
  });
});

describe('token.leaked', () => {
  const signer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const folder = mkdtempSync(join(tmpdir(), 'tessera-scanning-'));
  const keysFile = join(folder, 'keys.json');
  writeFileSync(
    keysFile,
    JSON.stringify({
      public_keys: [
        {
          key_identifier: 'k1',
          key: signer.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          is_current: true,
        },
      ],
    }),
  );
  const suite = useTestServer({
    app: { scanningKeys: readScanningKeys(keysFile), webhooks: { pollMs: 50 } },
  });

  test('a key revoked by a leaked-token report is announced as token.leaked and api_key.deleted', async () => {
    const leaks = await startReceiver();
    try {
      const webhook = await createWebhook(suite.server, leaks.url, ['token.leaked', 'api_key.deleted']);
      const key = await createKey(suite.server, { name: 'leaky' });
      const body = JSON.stringify([
        { token: key.apiKey, type: 'tessera_api_token', url: 'https://example.com/leak', source: 'content' },
      ]);
      const signature = sign('sha256', Buffer.from(body), {
        key: signer.privateKey,
        dsaEncoding: 'der',
      }).toString('base64');
      const reply = await fetch(`${suite.server.url}/api/v1/token-scanning/github`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'github-public-key-identifier': 'k1',
          'github-public-key-signature': signature,
        },
        body,
      });
      assert.equal(reply.status, 200, await reply.text());
      await eventually('both events', () => leaks.received.length >= 2);
      const types = leaks.received.map((e) => e.json.type).sort();
      assert.deepEqual(types, ['api_key.deleted', 'token.leaked']);
      for (const event of leaks.received) {
        assert.ok(signatureVerifies(webhook.secret, event));
        assert.equal(event.json.object.id, key.cid);
        assert.deepEqual(event.json.actor, { type: 'SYSTEM', id: 'token-scanning' });
        assert.ok(!event.body.includes(key.apiKey));
      }
    } finally {
      await leaks.stop();
    }
  });
});
