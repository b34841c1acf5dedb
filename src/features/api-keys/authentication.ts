import { digestsEqual, hashToken } from '../../crypto/tokens.js';
import type { Store } from '../../db/database.js';
import type { Caller, Principal } from '../../domain/caller.js';
import type { RoleGrant } from '../../domain/grants.js';
import { AddressMatcher } from '../../domain/ip-ranges.js';
import { andThen, type MaybePromise } from '../../runtime/maybe-promise.js';
import { customTagsOf } from '../roles/permissions.js';
import { customRoleGrants, grantsOf, storedRoles } from '../roles/role-resolution.js';
import { type ApiKey, toApiKey } from './api-keys.mapping.js';
import * as repo from './api-keys.repository.js';
import type { ApiKeyRow } from './api-keys.table.js';
import type { LastUsed } from './last-used.js';
import type { TokenCache } from './token-cache.js';

/** The caller, as resolved from its bearer token. */
export interface KeyPrincipal extends Principal {
  key: ApiKey;
}

/** A key's caller as the API-key service receives it. */
export type KeyCaller = Caller<KeyPrincipal>;

/**
 * What authenticating a token yields, worked out once per storage read: the token cache keeps
 * these, so a cached request parses no JSON and builds no permission set.
 */
export interface AuthenticatedKey {
  cid: string;
  /** The hash of the token this entry is for: the key's current token, or the one a roll replaced. */
  tokenHash: string;
  /** When this token stops working (ms since the epoch); null: never. */
  expiresAtMs: number | null;
  principal: KeyPrincipal;
  /** The token is the one a roll replaced: past its grace, the refusal says so. */
  replaced: boolean;
  /** The custom roles the grants came from: a change to one drops this entry (token-cache.ts). */
  customRoleTags: readonly string[];
}

/**
 * When the token with `tokenHash` stops working: it is the row's current token, or, after a roll,
 * its previous one, which works until its grace ends (never past the key's own expiry, which the
 * roll made sure of). `false` when the hash is neither (a race with another roll).
 */
function tokenExpiry(row: ApiKeyRow, tokenHash: string): string | null | false {
  if (digestsEqual(row.token_hash, tokenHash)) return row.expires_at;
  if (row.previous_token_hash !== null && digestsEqual(row.previous_token_hash, tokenHash))
    return row.previous_token_expires_at;
  return false;
}

function authenticatedKey(
  row: ApiKeyRow,
  tokenHash: string,
  expiresAt: string | null,
  custom: ReadonlyMap<string, RoleGrant>,
): AuthenticatedKey {
  const key = toApiKey(row);
  const { permissions, scopes } = grantsOf(key.roles, custom);
  // Shared by every request the cache serves: frozen so none can alter another's view. The
  // address matcher is built here, once per storage read, not per request.
  const principal: KeyPrincipal = Object.freeze({
    cid: key.cid,
    key: Object.freeze(key),
    permissions,
    scopes,
    allowedFrom: key.allowedIps === null ? undefined : AddressMatcher.of(key.allowedIps),
    rateLimitPerMinute: key.rateLimitPerMinute ?? undefined,
  });
  return {
    cid: row.cid,
    tokenHash,
    expiresAtMs: expiresAt === null ? null : Date.parse(expiresAt),
    principal,
    replaced: !digestsEqual(row.token_hash, tokenHash),
    customRoleTags: Object.freeze(customTagsOf(key.roles)),
  };
}

export interface AuthenticationDeps {
  store: Store;
  now: () => Date;
  /** Token look-ups kept in process; absent where no invalidation channel reaches every node. */
  cache?: TokenCache<AuthenticatedKey> | undefined;
  /** Where uses are recorded (last-used.ts). */
  lastUsed?: LastUsed | undefined;
}

/**
 * Bearer token → principal, for the access hook on every request. Not a service: it answers at
 * once on a token-cache hit (no promise, see maybe-promise.ts) and reads storage only on a miss.
 * The API-key service drops a key's entry on every node when it changes the key.
 */
export function createAuthentication({ store, now, cache, lastUsed }: AuthenticationDeps) {
  /** A key by its token's hash, from storage, kept in the token cache unless a change raced it. */
  async function loadKey(tokenHash: string): Promise<AuthenticatedKey | undefined> {
    const ticket = cache?.ticket();
    const row = await repo.findApiKeyByTokenHash(store.db, tokenHash);
    if (row === undefined) return undefined;
    const expiresAt = tokenExpiry(row, tokenHash);
    if (expiresAt === false) return undefined;
    // Read after the ticket too: a role edited meanwhile bumps it, and this look-up is not kept.
    const custom = await customRoleGrants(store.db, storedRoles(row.roles));
    const found = authenticatedKey(row, tokenHash, expiresAt, custom);
    if (ticket !== undefined) cache?.set(tokenHash, found, ticket);
    return found;
  }

  return function authenticate(
    token: string,
  ): MaybePromise<KeyPrincipal | 'expired' | 'replaced' | undefined> {
    const tokenHash = hashToken(token);
    return andThen(cache?.get(tokenHash) ?? loadKey(tokenHash), (found) => {
      if (found === undefined || !digestsEqual(found.tokenHash, tokenHash)) return undefined;
      const at = now().getTime();
      if (found.expiresAtMs !== null && found.expiresAtMs <= at)
        return found.replaced ? 'replaced' : 'expired';
      lastUsed?.record(found.cid, at);
      return found.principal;
    });
  };
}
