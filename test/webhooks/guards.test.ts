/**
 * The webhooks' guards: the SSRF check at delivery time (a host that resolves to a private
 * address now, whatever it resolved to when saved), the outbox rolled back with a change that
 * fails inside a shared (group-commit) transaction, and the webhook metrics.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLocalNoticeBus } from '../../src/cluster/change-notice-bus.js';
import { generateToken } from '../../src/crypto/tokens.js';
import { createAuditLog, systemActor } from '../../src/features/audit/audit.log.js';
import { createWebhookOutbox } from '../../src/features/webhooks/webhook-outbox.js';
import { countPending } from '../../src/features/webhooks/webhooks.repository.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { openMigratedStore } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { createKey } from '../helpers/keys.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { useTestServer } from '../helpers/server.js';
import { CLOSED_PORT_URL, createWebhook, type Receiver, startReceiver } from '../helpers/webhooks.js';

let receiver: Receiver;
before(async () => {
  receiver = await startReceiver();
});
after(async () => {
  await receiver.stop();
});

describe('webhooks: delivery refuses private addresses it connects to', () => {
  const suite = useTestServer({
    app: { webhooks: { allowPrivate: false, pollMs: 50, retryBaseMs: 60_000 } },
  });

  test('a host that now resolves to 127.0.0.1, or a stored private address, gets nothing', async () => {
    for (const host of ['localhost', '127.0.0.1']) {
      const webhook = await createWebhook(suite.server, 'https://203.0.113.10/hook', ['api_key.created']);
      // As if its name had been re-pointed at the receiver since it was saved (DNS rebinding).
      await suite.server.store.db
        .updateTable('webhooks')
        .set({ url: `http://${host}:${receiver.port}/hook` })
        .where('id', '=', webhook.id)
        .execute();
      await createKey(suite.server, { name: `rebound to ${host}` });
      const attempt = await eventually(`an attempt to ${host}`, async () => {
        const row = await suite.server.store.db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('webhook_id', '=', webhook.id)
          .executeTakeFirst();
        return row !== undefined && Number(row.attempts) >= 1 ? row : undefined;
      });
      assert.equal(attempt.last_error, 'refused: a private address');
      assert.equal(attempt.response_status, null);
      assert.equal(attempt.status, 'PENDING');
      await suite.call('DELETE', `/api/v1/webhooks/${webhook.id}`, { token: suite.server.adminToken });
    }
    assert.equal(receiver.received.length, 0);
  });
});

describe('webhooks: the outbox commits and rolls back with its change', () => {
  test('in one shared transaction, a unit that fails after recording leaves no outbox row', async () => {
    const { store, close } = await openMigratedStore('outbox-rollback');
    try {
      const at = new Date().toISOString();
      const sealed = randomBytes(16);
      await store.db
        .insertInto('webhooks')
        .values({
          id: 'wh00000000000000aa',
          url: CLOSED_PORT_URL,
          events: JSON.stringify(['secret.created']),
          description: null,
          secret_iv: sealed,
          secret_data: sealed,
          dek_iv: sealed,
          dek_data: sealed,
          master_key_id: 'mk-test',
          created_at: at,
          updated_at: at,
        })
        .execute();
      const outbox = createWebhookOutbox(createLocalNoticeBus(), () => new Date());
      const audit = createAuditLog({
        store,
        now: () => new Date(),
        afterRecord: (trx, row) => outbox.afterRecord(trx, row),
      });
      const change = (tag: string, fail: boolean) =>
        audit.run(async (_trx, record) => {
          await record({ actor: systemActor('test'), action: 'CREATE', objectType: 'SECRET', objectId: tag });
          if (fail) throw new Error(`${tag} fails after its event`);
        });
      // Started together: on SQLite they share one transaction (group commit), each in its savepoint.
      const outcomes = await Promise.allSettled([
        change('kept-1', false),
        change('dropped', true),
        change('kept-2', false),
      ]);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      const rows = await store.db.selectFrom('webhook_deliveries').select('payload').execute();
      assert.deepEqual(rows.map((r) => JSON.parse(r.payload).object.id).sort(), ['kept-1', 'kept-2']);
      // A change that is no webhook event (a read) writes none.
      await audit.run((_trx, record) =>
        record({ actor: systemActor('test'), action: 'READ', objectType: 'SECRET', objectId: 'kept-1' }),
      );
      assert.equal(await countPending(store.db), 2);
    } finally {
      await close();
    }
  });
});

describe('webhooks: finished deliveries are kept 30 days', () => {
  const suite = useTestServer({ app: { webhooks: { pollMs: 50 } } });

  test('a delivered delivery older than that is deleted; newer and pending ones stay', async () => {
    const webhook = await createWebhook(suite.server, receiver.url, ['api_key.created']);
    const deliveries = async () =>
      (
        await suite.call('GET', `/api/v1/webhooks/${webhook.id}/deliveries`, {
          token: suite.server.adminToken,
        })
      ).body.deliveries as { eventId: string; status: string }[];
    await createKey(suite.server, { name: 'old news' });
    const [old] = await eventually('delivered', async () => {
      const list = await deliveries();
      return list.length === 1 && list[0]?.status === 'DELIVERED' ? list : undefined;
    });
    suite.server.advance(31 * 24 * 60 * 60 * 1000);
    await createKey(suite.server, { name: 'fresh news' });
    await eventually('the old delivery pruned, the new one delivered', async () => {
      const list = await deliveries();
      return list.length === 1 && list[0]?.eventId !== old?.eventId && list[0]?.status === 'DELIVERED';
    });
  });
});

describe('webhooks: metrics', () => {
  const token = generateToken();
  const suite = useTestServer({
    app: {
      metrics: {
        metrics: createMetrics({ webhookQueueDepth: () => countPending(suite.server.store.db) }),
        token,
      },
      webhooks: { pollMs: 50, retryBaseMs: 60_000 },
    },
  });
  const scrape = async () => {
    const reply = await suite.call('GET', '/metrics', { token });
    assert.equal(reply.status, 200, reply.text);
    return parsePrometheusText(reply.text);
  };

  test('failed and delivered attempts are counted, and the queue depth is the pending deliveries', async () => {
    const ok = await createWebhook(suite.server, receiver.url, ['api_key.created']);
    const down = await createWebhook(suite.server, CLOSED_PORT_URL, ['api_key.created']);
    const before = await scrape();
    await createKey(suite.server, { name: 'measured' });
    await eventually('both attempts made', async () => {
      const samples = await scrape();
      const moved = (result: string) =>
        sampleValue(samples, 'tessera_webhook_deliveries_total', { result }) -
        sampleValue(before, 'tessera_webhook_deliveries_total', { result });
      return moved('delivered') === 1 && moved('failed') === 1;
    });
    // The failed one waits for its retry (a minute away): one pending delivery.
    assert.equal(sampleValue(await scrape(), 'tessera_webhook_queue_depth'), 1);
    for (const id of [ok.id, down.id])
      await suite.call('DELETE', `/api/v1/webhooks/${id}`, { token: suite.server.adminToken });
    assert.equal(sampleValue(await scrape(), 'tessera_webhook_queue_depth'), 0);
  });
});
