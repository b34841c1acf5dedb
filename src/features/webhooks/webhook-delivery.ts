import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Store } from '../../db/database.js';
import type { Keyring } from '../keyring/keyring.js';
import { guardedLookup, RefusedAddressError, refusedLiteral } from './webhook-address.js';
import { WEBHOOK_EVENTS } from './webhook-events.js';
import type { WebhookOutbox } from './webhook-outbox.js';
import { openWebhookSecret } from './webhook-secrets.js';
import { signatureHeader } from './webhook-signature.js';
import * as repo from './webhooks.repository.js';
import type { WebhookDeliveryRow } from './webhooks.table.js';

export interface DeliveryOptions {
  /** Loopback, private and link-local receivers allowed (TESSERA_WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
  /** How long one POST may take, connection included (default 10 s). */
  timeoutMs?: number;
  /** The first retry's delay; each next one doubles, up to `maxRetryDelayMs` (default 10 s). */
  retryBaseMs?: number;
  /** The longest delay between two attempts (default 1 h). */
  maxRetryDelayMs?: number;
  /** How long after its first attempt a delivery is given up (default a day). */
  giveUpAfterMs?: number;
  /** How often the loop looks for due deliveries when nothing woke it (default 1 s). */
  pollMs?: number;
  /** How long delivered and given-up deliveries stay listed (default 30 days). */
  keepMs?: number;
}

export interface DeliveryHooks {
  /** Told of each attempt's end, delivered or not (metrics). */
  onAttempt?: ((delivered: boolean) => void) | undefined;
  warn?: ((message: string) => void) | undefined;
}

/** Deliveries one node sends at once. */
const BATCH = 16;
/** What of a failure is kept: a few words, never the response body. */
const ERROR_MAX = 200;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Finished deliveries past `keepMs` are deleted this often (on every node: idempotent). */
const PRUNE_EVERY_MS = 60 * 60 * 1000;

/** The delay before the attempt after `attempts` failed ones. */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 30));
}

interface Outcome {
  ok: boolean;
  status: number | null;
  error: string | null;
}

/**
 * The delivery loop of one node: it leases due outbox rows (repository: leaseDueDeliveries), so
 * that in a fleet each is sent by one node at a time, POSTs each to its webhook signed, and
 * records the outcome. A failure is retried with exponential backoff for up to a day; a node that
 * dies mid-delivery leaves its lease to run out, and another node (or itself, restarted) sends the
 * delivery again: at least once, never lost.
 */
export function createDeliveryLoop(
  store: Store,
  keyring: Keyring,
  outbox: WebhookOutbox,
  now: () => Date,
  options: DeliveryOptions,
  hooks: DeliveryHooks = {},
) {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retryBaseMs = options.retryBaseMs ?? 10_000;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 60 * 60 * 1000;
  const giveUpAfterMs = options.giveUpAfterMs ?? DAY_MS;
  const pollMs = options.pollMs ?? 1_000;
  const keepMs = options.keepMs ?? 30 * DAY_MS;
  let prunedAt = 0;
  // The lease outlives a POST's timeout with room to record its outcome.
  const leaseMs = timeoutMs * 3;
  const node = `node-${process.pid}-${Math.random().toString(16).slice(2, 10)}`;

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const inFlight = new Set<ReturnType<typeof httpRequest>>();

  function post(url: URL, headers: Record<string, string>, body: string): Promise<Outcome> {
    return new Promise((resolve) => {
      if (!options.allowPrivate && refusedLiteral(url)) {
        resolve({ ok: false, status: null, error: 'refused: a private address' });
        return;
      }
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        timeout: timeoutMs,
        agent: false,
        ...(options.allowPrivate ? {} : { lookup: guardedLookup }),
      });
      inFlight.add(req);
      const done = (outcome: Outcome) => {
        inFlight.delete(req);
        clearTimeout(deadline);
        resolve(outcome);
      };
      // `timeout` above is per idle socket; this bounds the whole exchange.
      const deadline = setTimeout(() => req.destroy(new Error('timed out')), timeoutMs);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        // The body is not read: nothing of it is kept.
        res.resume();
        res.on('error', () => {});
        const ok = status >= 200 && status < 300;
        done({ ok, status, error: ok ? null : `answered ${status}` });
        req.destroy();
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error) => {
        const reason =
          error instanceof RefusedAddressError
            ? 'refused: a private address'
            : ((error as NodeJS.ErrnoException).code ?? error.message);
        done({ ok: false, status: null, error: reason.slice(0, ERROR_MAX) });
      });
      req.end(body);
    });
  }

  async function deliver(row: WebhookDeliveryRow): Promise<void> {
    const webhook = await repo.findWebhook(store.db, row.webhook_id);
    // Deleted since: its deliveries went with it.
    if (webhook === undefined) return;
    let outcome: Outcome;
    const master = await keyring.get(webhook.master_key_id);
    if (master === undefined) {
      outcome = { ok: false, status: null, error: 'the signing secret cannot be opened' };
    } else {
      const secret = openWebhookSecret(master, webhook);
      const t = Math.floor(now().getTime() / 1000);
      outcome = await post(
        new URL(webhook.url),
        {
          'content-type': 'application/json',
          'user-agent': 'Tessera-Webhooks',
          'tessera-event-id': row.event_id,
          'tessera-event-type': row.event_type,
          'tessera-signature': signatureHeader(secret, t, row.payload),
        },
        row.payload,
      );
    }
    const attempts = Number(row.attempts) + 1;
    const at = now();
    hooks.onAttempt?.(outcome.ok);
    const elapsed = at.getTime() - Date.parse(row.created_at);
    const status = outcome.ok ? 'DELIVERED' : elapsed >= giveUpAfterMs ? 'FAILED' : 'PENDING';
    const next = new Date(
      at.getTime() + (outcome.ok ? 0 : retryDelayMs(attempts, retryBaseMs, maxRetryDelayMs)),
    );
    await repo.recordAttempt(store.db, row.id, node, {
      status,
      attempts,
      next_attempt_at: next.toISOString(),
      response_status: outcome.status,
      last_error: outcome.error,
      attempted_at: at.toISOString(),
    });
  }

  async function tick(): Promise<void> {
    // No webhook, nothing to send: answered from memory, so an idle node costs no query.
    if (!(await outbox.anyTakes(store.db, WEBHOOK_EVENTS))) return;
    const startedAt = now().getTime();
    if (startedAt - prunedAt >= PRUNE_EVERY_MS) {
      prunedAt = startedAt;
      await repo.pruneFinishedDeliveries(store.db, new Date(startedAt - keepMs).toISOString());
    }
    for (;;) {
      again = false;
      const at = now();
      const leased = await repo.leaseDueDeliveries(
        store.db,
        node,
        at.toISOString(),
        new Date(at.getTime() + leaseMs).toISOString(),
        BATCH,
      );
      await Promise.all(
        leased.map((row) =>
          deliver(row).catch((error: unknown) =>
            hooks.warn?.(`webhook delivery ${row.id} failed: ${String(error)}`),
          ),
        ),
      );
      if (stopped || (leased.length < BATCH && !again)) return;
    }
  }

  function schedule(ms: number) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, ms);
    timer.unref();
  }

  function run() {
    if (running !== undefined) {
      again = true;
      return;
    }
    running = tick()
      .catch((error: unknown) => hooks.warn?.(`webhook delivery loop: ${String(error)}; will retry`))
      .finally(() => {
        running = undefined;
        schedule(again ? 0 : pollMs);
      });
  }

  return {
    start() {
      schedule(0);
    },
    /** Something is due now (a change committed on this node, a redelivery). */
    wake() {
      if (running !== undefined) again = true;
      else schedule(0);
    },
    /** Stops the loop; sends in flight are cut off (their leases run out, another node resends). */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      for (const req of inFlight) req.destroy(new Error('shutting down'));
      await running;
    },
  };
}

export type DeliveryLoop = ReturnType<typeof createDeliveryLoop>;
