import { generateId } from '../../crypto/ids.js';
import type { Store } from '../../db/database.js';
import type { Caller } from '../../domain/caller.js';
import { NotFoundError, throwIfViolations, violation } from '../../domain/errors.js';
import type { Page, PageQuery } from '../../domain/page.js';
import { type AuditLog, keyActor } from '../audit/audit.log.js';
import type { Keyring } from '../keyring/keyring.js';
import { activeMasterKeyIdInWrite } from '../keyring/keyring.repository.js';
import { urlProblem } from './webhook-address.js';
import { WEBHOOK_EVENTS, type WebhookEventType } from './webhook-events.js';
import type { WebhookOutbox } from './webhook-outbox.js';
import { generateWebhookSecret, sealedColumns, sealWebhookSecret } from './webhook-secrets.js';
import { type Delivery, toWebhook, type Webhook } from './webhooks.mapping.js';
import * as repo from './webhooks.repository.js';
import type { WebhookInput } from './webhooks.schemas.js';
import type { WebhookRow } from './webhooks.table.js';

export interface WebhookServiceDeps {
  store: Store;
  keyring: Keyring;
  audit: AuditLog;
  outbox: WebhookOutbox;
  now: () => Date;
  /** TESSERA_WEBHOOK_ALLOW_PRIVATE: loopback, private and link-local URLs accepted. */
  allowPrivate: boolean;
  /** Wakes this node's delivery loop (a redelivery is due at once). */
  wake: () => void;
}

function webhookNotFound(id: string) {
  return new NotFoundError('Webhook not found', `No webhook with id '${id}'`);
}

/** A rotation changed the active master key between sealing and writing: seal again. */
class StaleMasterKey extends Error {}
const WRITE_ATTEMPTS = 3;

/** The input's fields as stored: events once each in the table's order; the URL checked (it resolves now). */
async function checkedFields(input: WebhookInput, allowPrivate: boolean) {
  const problem = await urlProblem(input.url, allowPrivate);
  throwIfViolations(problem === undefined ? [] : [violation('/body/url', `'url' ${problem}`)]);
  const wanted = new Set<WebhookEventType>(input.events);
  return {
    url: input.url,
    events: JSON.stringify(WEBHOOK_EVENTS.filter((event) => wanted.has(event))),
    description: input.description ?? null,
  };
}

/**
 * Webhooks' operations. Each change is audited (object type WEBHOOK) and then drops every node's
 * copy of the list the outbox routes events by. The signing secret is made here, sealed before
 * the transaction opens, and shown once.
 */
export function createWebhookService({
  store,
  keyring,
  audit,
  outbox,
  now,
  allowPrivate,
  wake,
}: WebhookServiceDeps) {
  const { db, dialect } = store;

  return {
    async list(query: PageQuery): Promise<Page<Webhook>> {
      return repo.listWebhooks(db, dialect, query);
    },

    async get(id: string): Promise<Webhook> {
      const row = await repo.findWebhook(db, id);
      if (row === undefined) throw webhookNotFound(id);
      return toWebhook(row);
    },

    async create(caller: Caller, input: WebhookInput): Promise<Webhook & { secret: string }> {
      const fields = await checkedFields(input, allowPrivate);
      const id = generateId('wh');
      const secret = generateWebhookSecret();
      const at = now().toISOString();
      for (let attempt = 1; ; attempt++) {
        const envelope = sealWebhookSecret(keyring.active(), secret, id);
        const row: WebhookRow = { id, ...fields, ...sealedColumns(envelope), created_at: at, updated_at: at };
        try {
          await audit.run(async (trx, record) => {
            // As a secret value's write: a rotation that switched keys since sealing is waited for.
            if ((await activeMasterKeyIdInWrite(trx, dialect)) !== envelope.masterKeyId)
              throw new StaleMasterKey();
            await repo.insertWebhook(trx, dialect, row);
            await record({ actor: keyActor(caller), action: 'CREATE', objectType: 'WEBHOOK', objectId: id });
          });
        } catch (error) {
          if (!(error instanceof StaleMasterKey) || attempt >= WRITE_ATTEMPTS) throw error;
          await keyring.refresh();
          continue;
        }
        await outbox.changed();
        return { ...toWebhook(row), secret };
      }
    },

    /** Replaces the URL, the events and the description; the secret stays. */
    async replace(caller: Caller, id: string, input: WebhookInput): Promise<Webhook> {
      const fields = await checkedFields(input, allowPrivate);
      const updated = await audit.run(async (trx, record) => {
        const current = await repo.findWebhook(trx, id);
        if (current === undefined) throw webhookNotFound(id);
        const changes = { ...fields, updated_at: now().toISOString() };
        if (!(await repo.updateWebhook(trx, id, changes))) throw webhookNotFound(id);
        await record({ actor: keyActor(caller), action: 'UPDATE', objectType: 'WEBHOOK', objectId: id });
        return { ...current, ...changes };
      });
      await outbox.changed();
      return toWebhook(updated);
    },

    async delete(caller: Caller, id: string): Promise<void> {
      await audit.run(async (trx, record) => {
        if (!(await repo.deleteWebhook(trx, dialect, id))) throw webhookNotFound(id);
        await record({ actor: keyActor(caller), action: 'DELETE', objectType: 'WEBHOOK', objectId: id });
      });
      await outbox.changed();
    },

    async deliveries(id: string, query: PageQuery): Promise<Page<Delivery>> {
      if ((await repo.findWebhook(db, id)) === undefined) throw webhookNotFound(id);
      return repo.listDeliveries(db, dialect, id, query);
    },

    /** Sends a delivery again, whatever became of it: pending at once, its attempts from zero. */
    async redeliver(caller: Caller, id: string, deliveryId: string): Promise<void> {
      await audit.run(async (trx, record) => {
        if ((await repo.findWebhook(trx, id)) === undefined) throw webhookNotFound(id);
        if (!(await repo.resetDelivery(trx, id, deliveryId, now().toISOString()))) {
          throw new NotFoundError('Delivery not found', `Webhook '${id}' has no delivery '${deliveryId}'`);
        }
        await record({
          actor: keyActor(caller),
          action: 'UPDATE',
          objectType: 'WEBHOOK',
          objectId: id,
          detail: `redelivery of ${deliveryId}`,
        });
      });
      wake();
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
