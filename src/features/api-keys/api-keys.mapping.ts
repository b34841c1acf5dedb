import type { RoleRef } from '../roles/permissions.js';
import { storedRoles } from '../roles/role-resolution.js';
import type { ListedApiKeyRow } from './api-keys.table.js';

/** An API key as the API shows it (SPEC §4). */
export interface ApiKey {
  cid: string;
  name: string;
  description: string | null;
  createdDate: string;
  expirationDate: string | null;
  last4: string;
  roles: readonly RoleRef[];
  /** Tessera's extensions (Cortex's clients ignore them); null when unset. */
  allowedIps: readonly string[] | null;
  rateLimitPerMinute: number | null;
  lastUsedDate: string | null;
}

export function toApiKey(row: ListedApiKeyRow): ApiKey {
  return {
    cid: row.cid,
    name: row.name,
    description: row.description,
    createdDate: row.created_at,
    expirationDate: row.expires_at,
    last4: row.last4,
    roles: storedRoles(row.roles),
    allowedIps: row.allowed_ips === null ? null : Object.freeze(JSON.parse(row.allowed_ips) as string[]),
    rateLimitPerMinute: row.rate_limit_per_minute,
    lastUsedDate: row.last_used_at,
  };
}
