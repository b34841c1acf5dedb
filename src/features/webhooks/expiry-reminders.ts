import type { Store } from '../../db/database.js';
import type { WebhookPayload } from './webhook-events.js';
import type { WebhookOutbox } from './webhook-outbox.js';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Keys looked at per scan at most: the next scan takes the rest. */
const SCAN_LIMIT = 500;

/** A key's reminder stages, earliest first: 7 days before its expiry, 1 day before, expired. */
const STAGES = ['7d', '1d', 'expired'] as const;
type Stage = (typeof STAGES)[number];

function stageOf(expiresAtMs: number, nowMs: number): Stage {
  if (expiresAtMs <= nowMs) return 'expired';
  return expiresAtMs - nowMs <= DAY_MS ? '1d' : '7d';
}

export interface ExpiryReminderOptions {
  /** How often a node scans (default a minute). */
  everyMs?: number;
}

/**
 * The expiry reminders: api_key.expiring 7 days and 1 day before a key expires, api_key.expired
 * when it has. Every node scans; each reminder is still sent once fleet-wide, because it is
 * written to `webhook_reminders` (unique per key and stage) in the same transaction as its outbox
 * rows: the node whose insert loses does nothing. A key first seen at a later stage gets only that
 * stage's reminder (the earlier ones are marked sent with it), and a key that expired more than a
 * day before the first scan that sees it gets none. No scan reads keys while no webhook takes
 * either event.
 */
export function createExpiryReminders(
  store: Store,
  outbox: WebhookOutbox,
  now: () => Date,
  hooks: { wake: () => void; warn?: (message: string) => void },
  options: ExpiryReminderOptions = {},
) {
  const { db } = store;
  const everyMs = options.everyMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  async function remind(cid: string, expiresAt: string, stage: Stage, at: Date): Promise<boolean> {
    return db.transaction().execute(async (trx) => {
      const { numInsertedOrUpdatedRows } = await trx
        .insertInto('webhook_reminders')
        .values({ cid, kind: stage, sent_at: at.toISOString() })
        .onConflict((oc) => oc.columns(['cid', 'kind']).doNothing())
        .executeTakeFirst();
      // Another node sent it first (or this key was reminded of it already).
      if (numInsertedOrUpdatedRows === 0n) return false;
      const earlier = STAGES.slice(0, STAGES.indexOf(stage));
      if (earlier.length > 0) {
        await trx
          .insertInto('webhook_reminders')
          .values(earlier.map((kind) => ({ cid, kind, sent_at: at.toISOString() })))
          .onConflict((oc) => oc.columns(['cid', 'kind']).doNothing())
          .execute();
      }
      const type = stage === 'expired' ? 'api_key.expired' : 'api_key.expiring';
      const payload = (id: string): WebhookPayload => ({
        id,
        type,
        occurredAt: at.toISOString(),
        object: { type: 'API_KEY', id: cid },
        actor: { type: 'SYSTEM', id: 'expiry-reminders' },
        detail:
          stage === 'expired' ? 'expired' : stage === '1d' ? 'expires within 1 day' : 'expires within 7 days',
        expiresAt,
      });
      return (await outbox.enqueue(trx, type, payload)) > 0;
    });
  }

  async function scan(): Promise<void> {
    if (!(await outbox.anyTakes(db, ['api_key.expiring', 'api_key.expired']))) return;
    const at = now();
    const nowMs = at.getTime();
    // `is_admin in (0, 1)` lets both databases use the (is_admin, expires_at) index.
    const keys = await db
      .selectFrom('api_keys')
      .select(['cid', 'expires_at'])
      .where('is_admin', 'in', [0, 1])
      .where('expires_at', '>', new Date(nowMs - DAY_MS).toISOString())
      .where('expires_at', '<=', new Date(nowMs + 7 * DAY_MS).toISOString())
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('webhook_reminders')
              .select('cid')
              .whereRef('webhook_reminders.cid', '=', 'api_keys.cid')
              .where('webhook_reminders.kind', '=', 'expired'),
          ),
        ),
      )
      .orderBy('expires_at')
      .limit(SCAN_LIMIT)
      .execute();
    if (keys.length === 0) return;
    const sent = await db
      .selectFrom('webhook_reminders')
      .select(['cid', 'kind'])
      .where(
        'cid',
        'in',
        keys.map((k) => k.cid),
      )
      .execute();
    const done = new Set(sent.map((r) => `${r.cid}/${r.kind}`));
    let queued = false;
    for (const key of keys) {
      if (key.expires_at === null) continue;
      const stage = stageOf(Date.parse(key.expires_at), nowMs);
      if (done.has(`${key.cid}/${stage}`)) continue;
      if (await remind(key.cid, key.expires_at, stage, at)) queued = true;
    }
    if (queued) hooks.wake();
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      running = scan()
        .catch((error: unknown) => hooks.warn?.(`expiry reminders: ${String(error)}; will retry`))
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, everyMs);
    timer.unref();
  }

  return {
    start: schedule,
    /** One scan now (the tests drive it with a moved clock). */
    scan,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
