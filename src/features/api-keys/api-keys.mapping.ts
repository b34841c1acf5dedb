import type { RoleRef } from '../roles/permissions.js';
import type { ApiKey } from './api-keys.service.js';
import type { ListedApiKeyRow } from './api-keys.table.js';

/**
 * Stored role lists, parsed. Keys share a handful of distinct lists, and a page of 250 keys would
 * otherwise parse the same JSON 250 times; the parsed lists are frozen, since answers share them.
 */
const parsedRoles = new Map<string, readonly RoleRef[]>();
const PARSED_ROLES_KEPT = 256;

function rolesOf(json: string): readonly RoleRef[] {
  let roles = parsedRoles.get(json);
  if (roles === undefined) {
    roles = Object.freeze((JSON.parse(json) as RoleRef[]).map((role) => Object.freeze(role)));
    if (parsedRoles.size >= PARSED_ROLES_KEPT) parsedRoles.clear();
    parsedRoles.set(json, roles);
  }
  return roles;
}

export function toApiKey(row: ListedApiKeyRow): ApiKey {
  return {
    cid: row.cid,
    name: row.name,
    description: row.description,
    createdDate: row.created_at,
    expirationDate: row.expires_at,
    last4: row.last4,
    roles: rolesOf(row.roles),
  };
}
