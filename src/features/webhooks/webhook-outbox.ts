import type { Kysely } from 'kysely';
import type { ChangeNoticeBus } from '../../cluster/change-notice-bus.js';
import { InvalidatedCache } from '../../cluster/invalidated-cache.js';
import { generateId } from '../../crypto/ids.js';
import type { Database } from '../../db/database.js';
import type { AuditEventFields } from '../audit/audit.table.js';
import { payloadOf, type WebhookEventType, type WebhookPayload, webhookEventsOf } from './webhook-events.js';
import { insertDeliveries, readSubscribers, type Subscriber } from './webhooks.repository.js';
import type { WebhookDeliveryTable } from './webhooks.table.js';

/** The id the webhook list's change notices travel under on the change-notice bus. */
export const WEBHOOKS_OWNER = 'webhooks';
/** A belt on top of the notices, as for the IP allowlist. */
const WEBHOOKS_TTL_MS = 10_000;

/** Which webhook takes which event, as the outbox looks it up on every audited change. */
interface Subscriptions {
  byEvent: ReadonlyMap<WebhookEventType, readonly string[]>;
}

function subscriptionsOf(rows: readonly Subscriber[]): Subscriptions {
  const byEvent = new Map<WebhookEventType, string[]>();
  for (const row of rows) {
    for (const event of JSON.parse(row.events) as WebhookEventType[]) {
      const ids = byEvent.get(event);
      if (ids === undefined) byEvent.set(event, [row.id]);
      else ids.push(row.id);
    }
  }
  return { byEvent };
}

export interface WebhookOutbox {
  /**
   * Inside an audited change's transaction, after its audit event is written: one outbox row per
   * webhook that takes the event's webhook events. Rolled back with the change (its savepoint in a
   * group commit). With no webhook at all, answered from memory: no query.
   */
  afterRecord(trx: Kysely<Database>, row: AuditEventFields): Promise<void> | undefined;
  /** Outbox rows for an event made outside the audit log (the expiry reminders), in `trx`. */
  enqueue(
    trx: Kysely<Database>,
    type: WebhookEventType,
    payload: (eventId: string) => WebhookPayload,
  ): Promise<number>;
  /** Whether any webhook takes one of these events (from memory when it can). */
  anyTakes(trx: Kysely<Database>, types: readonly WebhookEventType[]): Promise<boolean>;
  /** After a webhook was created, changed or deleted: every node reads the list again. */
  changed(): Promise<void>;
  /**
   * Whether this node has written outbox rows since it was last asked: asked after each commit,
   * to wake the delivery loop only when there is something to send.
   */
  takeWritten(): boolean;
}

/**
 * The outbox: webhook events written in the transaction of the change they describe, so there is
 * no event without its change and no change without its event. They are derived from the audit
 * events recorded in that transaction (one mechanism: every change is audited already).
 *
 * The list of webhooks is kept in memory on each node and dropped on every node by a change
 * notice (the IP allowlist's way: ip-allowlist.gate.ts), so an audited write on a node with no
 * webhooks costs nothing. Without a bus (`uncached`), it is read in each change's transaction.
 */
export function createWebhookOutbox(bus: ChangeNoticeBus | undefined, now: () => Date): WebhookOutbox {
  const cache =
    bus === undefined
      ? undefined
      : new InvalidatedCache<Subscriptions>(bus, {
          ownerOf: () => WEBHOOKS_OWNER,
          maxEntries: 1,
          ttlMs: WEBHOOKS_TTL_MS,
        });
  let written = false;

  async function read(trx: Kysely<Database>): Promise<Subscriptions> {
    const ticket = cache?.ticket() ?? 0;
    const subscriptions = subscriptionsOf(await readSubscribers(trx));
    cache?.set(WEBHOOKS_OWNER, subscriptions, ticket);
    return subscriptions;
  }

  function rowsFor(
    ids: readonly string[],
    type: WebhookEventType,
    payload: WebhookPayload,
  ): WebhookDeliveryTable[] {
    const at = now().toISOString();
    const body = JSON.stringify(payload);
    return ids.map((webhookId) => ({
      id: generateId('wd'),
      webhook_id: webhookId,
      event_id: payload.id,
      event_type: type,
      payload: body,
      status: 'PENDING',
      attempts: 0,
      next_attempt_at: at,
      lease_until: null,
      leased_by: null,
      response_status: null,
      last_error: null,
      created_at: at,
      attempted_at: null,
    }));
  }

  async function write(trx: Kysely<Database>, rows: WebhookDeliveryTable[]) {
    await insertDeliveries(trx, rows);
    if (rows.length > 0) written = true;
  }

  async function enqueueAudited(
    trx: Kysely<Database>,
    row: AuditEventFields,
    types: WebhookEventType[],
    subscriptions: Subscriptions,
  ) {
    const rows: WebhookDeliveryTable[] = [];
    for (const type of types) {
      const ids = subscriptions.byEvent.get(type);
      if (ids !== undefined && ids.length > 0)
        rows.push(...rowsFor(ids, type, payloadOf(generateId('ev'), type, row)));
    }
    await write(trx, rows);
  }

  return {
    afterRecord(trx, row) {
      const types = webhookEventsOf(row);
      if (types.length === 0) return undefined;
      const cached = cache?.get(WEBHOOKS_OWNER);
      if (cached !== undefined) {
        if (!types.some((type) => cached.byEvent.has(type))) return undefined;
        return enqueueAudited(trx, row, types, cached);
      }
      return read(trx).then((subscriptions) => enqueueAudited(trx, row, types, subscriptions));
    },

    async enqueue(trx, type, payload) {
      const subscriptions = cache?.get(WEBHOOKS_OWNER) ?? (await read(trx));
      const ids = subscriptions.byEvent.get(type) ?? [];
      await write(trx, rowsFor(ids, type, payload(generateId('ev'))));
      return ids.length;
    },

    async anyTakes(trx, types) {
      const subscriptions = cache?.get(WEBHOOKS_OWNER) ?? (await read(trx));
      return types.some((type) => subscriptions.byEvent.has(type));
    },

    async changed() {
      await cache?.invalidate(WEBHOOKS_OWNER);
    },

    takeWritten() {
      const was = written;
      written = false;
      return was;
    },
  };
}
