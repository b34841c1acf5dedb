/**
 * Helpers for the audit-log tests (issue 5): reading the log over HTTP and straight from the
 * store, and the audit route for the shared security suite (test/helpers/security.ts).
 */
import assert from 'node:assert/strict';
import type { Store } from '../../src/db/database.js';
import type { OpenDenialWindow } from '../../src/features/audit/audit.denial-window.js';
import { sealPending } from '../../src/features/audit/audit.sealer.js';
import type { AuditEventRow } from '../../src/features/audit/audit.table.js';
import { api } from './keys.js';
import type { ProtectedRoute } from './security.js';
import type { TestServer } from './server.js';

/** Cortex's `GET /api/v1/audit-logs`; VIEW_AUDIT_LOGS is held by ADMIN and MANAGER, not USER. */
export const AUDIT_ROUTES: readonly ProtectedRoute[] = [
  { method: 'GET', path: '/api/v1/audit-logs', permission: 'VIEW_AUDIT_LOGS' },
];

/** A log entry as `GET /api/v1/audit-logs` returns it. */
export interface AuditLogEntry {
  id: number;
  timestamp: string;
  action: string;
  actorIdentifier: string;
  actorType: string;
  ipAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
  objectIdentifier: string | null;
  objectType: string;
  outcome: string;
  detail: string | null;
}

export interface AuditPage {
  logs: AuditLogEntry[];
  page: number;
  total: number;
  totalPages: number;
}

/** GET /api/v1/audit-logs with `query` (as the admin unless `token`); asserts the 200. */
export async function auditLogs(
  server: TestServer,
  query: Record<string, string | number> = {},
  token = server.adminToken,
): Promise<AuditPage> {
  const search = new URLSearchParams(
    Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  const reply = await api(server)('GET', `/api/v1/audit-logs${search === '' ? '' : `?${search}`}`, { token });
  assert.equal(reply.status, 200, `reading the audit log failed: ${reply.text}`);
  return reply.body as AuditPage;
}

/**
 * The store, once every audit event committed so far is in the chain (on PostgreSQL a change's
 * event is chained just after its commit, by the sealer): what a test reads straight from
 * `audit_events` then includes what it just did, as the API's own readers do.
 */
export async function chained(store: Store): Promise<Store> {
  await sealPending(store);
  return store;
}

/** Every audit row in the server's store, in chain order. */
export async function auditRows(server: TestServer): Promise<AuditEventRow[]> {
  return auditRowsOf(server.store);
}

/** Every audit row in `store`, in chain order. */
export async function auditRowsOf(store: Store): Promise<AuditEventRow[]> {
  return (await chained(store)).db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
}

/** How many audit rows the store holds. */
export async function auditCount(server: TestServer): Promise<number> {
  const { n } = await (await chained(server.store)).db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** The highest seq in the store (0 when empty). */
export async function lastSeq(server: TestServer): Promise<number> {
  const row = await (await chained(server.store)).db
    .selectFrom('audit_events')
    .select('seq')
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/**
 * Runs `action` and returns the audit rows it added (seq above the last one before it), read
 * from the store, so a test can assert "exactly one event" and its contents.
 */
export async function eventsOf<T>(
  server: TestServer,
  action: () => Promise<T>,
): Promise<{ result: T; events: AuditEventRow[] }> {
  const before = await lastSeq(server);
  const result = await action();
  const events = await (await chained(server.store)).db
    .selectFrom('audit_events')
    .selectAll()
    .where('seq', '>', before)
    .orderBy('seq')
    .execute();
  return { result, events };
}

/**
 * A denial window the test closes itself (buildApp's `denialWindow`): anonymous denials are
 * counted until `close`, which writes the counts the way a minute's end would.
 */
export function manualDenialWindow() {
  let pending: (() => Promise<void>) | undefined;
  return {
    open: ((close) => {
      pending = close;
      return () => {
        if (pending === close) pending = undefined;
      };
    }) satisfies OpenDenialWindow,
    /** Ends the open window, if any, once its counts are written. */
    async close(): Promise<void> {
      await pending?.();
    },
  };
}

/** The actions recorded about one object, oldest first, read straight from the store. */
export async function auditActionsOn(store: Store, objectId: string): Promise<string[]> {
  const rows = await (await chained(store)).db
    .selectFrom('audit_events')
    .select('action')
    .where('object_id', '=', objectId)
    .orderBy('seq')
    .execute();
  return rows.map((row) => row.action);
}
