/**
 * Helpers for the IP-allowlist tests: its routes for the shared security suite, and calls that
 * act as another client address through `X-Forwarded-For` (on a server with `trustProxy: 1`, the
 * right-most entry is the client).
 */
import assert from 'node:assert/strict';
import type { Reply } from './http.js';
import type { Call } from './keys.js';
import type { ProtectedRoute } from './security.js';

/**
 * Cortex's three calls. The matrix's PUT saves a list that keeps letting the test server's own
 * callers in (they call from loopback): every other cell of the matrix still gets through.
 */
export const IP_ALLOWLIST_ROUTES: readonly ProtectedRoute[] = [
  { method: 'GET', path: '/api/v1/ip-allowlist', permission: 'CONFIGURE_IP_ALLOWLIST' },
  {
    method: 'PUT',
    path: '/api/v1/ip-allowlist',
    permission: 'CONFIGURE_IP_ALLOWLIST',
    body: { entries: [{ address: '127.0.0.1', description: 'the matrix' }, { address: '::1' }] },
  },
  {
    method: 'POST',
    path: '/api/v1/ip-allowlist/validate',
    permission: 'CONFIGURE_IP_ALLOWLIST',
    body: { entries: [{ address: '10.0.0.0/8' }] },
  },
];

export interface Entry {
  address: string;
  description?: string | null;
}

/** The headers that make a call come from `ip` (behind `trustProxy: 1`). */
export const from = (ip: string) => ({ 'x-forwarded-for': ip });

/** PUT /api/v1/ip-allowlist (the raw reply), from `ip` when given. */
export function putList(
  call: Call,
  token: string,
  entries: readonly Entry[],
  options: { force?: boolean | string; ip?: string } = {},
): Promise<Reply> {
  const query = options.force === undefined ? '' : `?force=${options.force}`;
  return call('PUT', `/api/v1/ip-allowlist${query}`, {
    token,
    body: { entries },
    ...(options.ip === undefined ? {} : { headers: from(options.ip) }),
  });
}

/** Replaces the list (forced) and asserts the 200. */
export async function setList(call: Call, token: string, entries: readonly Entry[]): Promise<void> {
  const reply = await putList(call, token, entries, { force: true });
  assert.equal(reply.status, 200, `replacing the allowlist failed: ${reply.text}`);
}
