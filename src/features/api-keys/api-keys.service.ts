import type { Kysely } from 'kysely';
import { generateId } from '../../crypto/ids.js';
import { generateToken, hashToken } from '../../crypto/tokens.js';
import type { Database, Store } from '../../db/database.js';
import { isForeignKeyViolation } from '../../db/errors.js';
import { lockWithinTransaction } from '../../db/locks.js';
import { parseDateTime } from '../../domain/date-time.js';
import { trimmedName } from '../../domain/display-name.js';
import {
  InvalidInputError,
  NotFoundError,
  throwIfViolations,
  type Violation,
  violation,
} from '../../domain/errors.js';
import type { Page, PageQuery } from '../../domain/page.js';
import { type AuditLog, keyActor, type RecordEvent, systemActor } from '../audit/audit.log.js';
import { customTagsOf, holdsAdmin, type RoleRef } from '../roles/permissions.js';
import {
  grantsOfNewKey,
  loadGrants,
  requireCoverageOfKey,
  requireCoverageOfNewKey,
  resolveRoles,
  storedRoles,
} from '../roles/role-resolution.js';
import { insertKeyRoles } from '../roles/roles.repository.js';
import { type ApiKey, toApiKey } from './api-keys.mapping.js';
import * as repo from './api-keys.repository.js';
import { graceEndOf, refuseLockingOutCaller, storedAllowedIps } from './api-keys.rules.js';
import {
  type CreateApiKeyInput,
  NAME_MAX,
  type RollApiKeyInput,
  type UpdateApiKeyInput,
} from './api-keys.schemas.js';
import type { ApiKeyRow } from './api-keys.table.js';
import type { AuthenticatedKey, KeyCaller } from './authentication.js';
import { refuseDeletingLastAdmin } from './last-admin-guard.js';
import type { TokenCache } from './token-cache.js';

export interface ApiKeyServiceDeps {
  store: Store;
  now: () => Date;
  /** The token cache this node authenticates through (authentication.ts): a changed key is dropped from it. */
  cache?: TokenCache<AuthenticatedKey> | undefined;
  audit: AuditLog;
}

function keyNotFound(cid: string) {
  return new NotFoundError('API key not found', `No API key with cid '${cid}'`);
}

/** The expiration a new key asks for, checked: an instant in the future, or none. */
function expirationOf(input: CreateApiKeyInput, now: Date, violations: Violation[]): string | null {
  if (input.expirationDate === undefined || input.expirationDate === null) return null;
  const parsed = parseDateTime(input.expirationDate);
  if (parsed === undefined) {
    violations.push(violation('/body/expirationDate', "'expirationDate' must be an ISO 8601 date-time"));
  } else if (parsed.getTime() <= now.getTime()) {
    violations.push(violation('/body/expirationDate', "'expirationDate' must be in the future"));
  } else {
    return parsed.toISOString();
  }
  return null;
}

/**
 * API keys' operations: who may act on which key (roles/role-resolution.ts), the last-admin
 * guard (last-admin-guard.ts), the first key of an empty store and the break-glass one. Tokens are
 * checked by authentication.ts, not here.
 */
export function createApiKeyService({ store, now, cache, audit }: ApiKeyServiceDeps) {
  const { db } = store;

  async function requireKey(cid: string): Promise<ApiKeyRow> {
    const row = await repo.findApiKeyByCid(db, cid);
    if (row === undefined) throw keyNotFound(cid);
    return row;
  }

  function newRow(fields: {
    name: string;
    description: string | null;
    roles: RoleRef[];
    expiresAt: string | null;
    token: string;
    allowedIps?: string | null;
    rateLimitPerMinute?: number | null;
  }): ApiKeyRow {
    return {
      cid: generateId('ak'),
      name: fields.name,
      description: fields.description,
      token_hash: hashToken(fields.token),
      last4: fields.token.slice(-4),
      roles: JSON.stringify(fields.roles),
      is_admin: holdsAdmin(fields.roles) ? 1 : 0,
      created_at: now().toISOString(),
      expires_at: fields.expiresAt,
      allowed_ips: fields.allowedIps ?? null,
      rate_limit_per_minute: fields.rateLimitPerMinute ?? null,
      last_used_at: null,
      previous_token_hash: null,
      previous_token_expires_at: null,
    };
  }

  /** An ADMIN key that no caller made: audited as a SYSTEM event named for what made it. */
  async function insertSystemAdmin(
    trx: Kysely<Database>,
    record: RecordEvent,
    madeBy: string,
    fields: { name: string; description: string; token: string },
  ): Promise<ApiKey> {
    const row = newRow({ ...fields, roles: [{ type: 'DEFAULT', role: 'ADMIN' }], expiresAt: null });
    await repo.insertApiKey(trx, store.dialect, row);
    await record({ actor: systemActor(madeBy), action: 'CREATE', objectType: 'API_KEY', objectId: row.cid });
    return toApiKey(row);
  }

  return {
    async list(query: PageQuery): Promise<Page<ApiKey>> {
      return repo.listApiKeys(db, store.dialect, query);
    },

    async get(cid: string): Promise<ApiKey> {
      return toApiKey(await requireKey(cid));
    },

    async create(caller: KeyCaller, input: CreateApiKeyInput): Promise<ApiKey & { apiKey: string }> {
      const violations: Violation[] = [];
      const name = trimmedName(input.name, NAME_MAX, violations);
      const roles = resolveRoles(input.roles, violations);
      const expiresAt = expirationOf(input, now(), violations);
      const grants = await grantsOfNewKey(db, input.roles, roles, violations);
      const allowedIps = storedAllowedIps(input.allowedIps, violations);
      throwIfViolations(violations);
      requireCoverageOfNewKey(caller, grants);
      const token = generateToken();
      const row = newRow({
        name,
        description: input.description ?? null,
        roles,
        expiresAt,
        token,
        allowedIps,
        rateLimitPerMinute: input.rateLimitPerMinute,
      });
      try {
        await audit.run(async (trx, record) => {
          await repo.insertApiKey(trx, store.dialect, row);
          // The database refuses a role deleted since it was checked above (a foreign key).
          await insertKeyRoles(trx, row.cid, customTagsOf(roles));
          await record({
            actor: keyActor(caller),
            action: 'CREATE',
            objectType: 'API_KEY',
            objectId: row.cid,
          });
        });
      } catch (error) {
        if (!isForeignKeyViolation(error)) throw error;
        const detail = 'A custom role of this key was deleted while it was being created';
        throw new InvalidInputError(detail, [violation('/body/roles', detail)]);
      }
      return { apiKey: token, ...toApiKey(row) };
    },

    async update(caller: KeyCaller, cid: string, input: UpdateApiKeyInput): Promise<ApiKey> {
      const violations: Violation[] = [];
      const name = trimmedName(input.name, NAME_MAX, violations);
      const allowedIps = storedAllowedIps(input.allowedIps, violations);
      refuseLockingOutCaller(caller, cid, input.allowedIps, violations);
      throwIfViolations(violations);
      // Cortex's fields, and Tessera's extras where given (omitted: unchanged; null: cleared).
      const changes: repo.ApiKeyChanges = {
        name,
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(allowedIps === undefined ? {} : { allowed_ips: allowedIps }),
        ...(input.rateLimitPerMinute === undefined
          ? {}
          : { rate_limit_per_minute: input.rateLimitPerMinute }),
      };
      // The key is read inside the transaction that changes it, and held there: a delete that
      // committed first makes this a 404 with no event, and the row is written as read here,
      // never as another update has changed it since (the repository renders its list item).
      const shown = await audit.run(async (trx, record) => {
        const target = await repo.findApiKeyToChange(trx, store.dialect, cid);
        if (target === undefined) throw keyNotFound(cid);
        const grants = await loadGrants(trx, storedRoles(target.roles));
        requireCoverageOfKey(caller, { cid, grants }, 'update');
        const row = { ...target, ...changes };
        const written = await repo.updateApiKey(trx, target, changes);
        if (!written) throw keyNotFound(cid);
        await record({ actor: keyActor(caller), action: 'UPDATE', objectType: 'API_KEY', objectId: cid });
        return row;
      });
      await cache?.invalidate(cid);
      return toApiKey(shown);
    },

    /**
     * A new token for the key (same cid, roles and extras), shown once. The replaced token keeps
     * working for `expireOldAfterSeconds` (never past the key's expiry); 0: refused at once. A
     * roll while an earlier roll's grace runs ends that grace: only the token replaced now is kept.
     */
    async roll(caller: KeyCaller, cid: string, input: RollApiKeyInput): Promise<ApiKey & { apiKey: string }> {
      const token = generateToken();
      const tokenHash = hashToken(token);
      const shown = await audit.run(async (trx, record) => {
        const target = await repo.findApiKeyToChange(trx, store.dialect, cid);
        if (target === undefined) throw keyNotFound(cid);
        requireCoverageOfKey(
          caller,
          { cid, grants: await loadGrants(trx, storedRoles(target.roles)) },
          'roll',
        );
        const graceEnd = graceEndOf(input.expireOldAfterSeconds, now(), target.expires_at);
        const changes = {
          token_hash: tokenHash,
          last4: token.slice(-4),
          previous_token_hash: graceEnd === undefined ? null : target.token_hash,
          previous_token_expires_at: graceEnd ?? null,
        };
        if (!(await repo.updateApiKey(trx, target, changes))) throw keyNotFound(cid);
        await record({
          actor: keyActor(caller),
          action: 'UPDATE',
          objectType: 'API_KEY',
          objectId: cid,
          detail:
            graceEnd === undefined
              ? 'token rolled; the previous token is refused at once'
              : `token rolled; the previous token works until ${graceEnd}`,
        });
        return { ...target, ...changes };
      });
      // Drops every node's entries of the key, the replaced token's among them: read again, it
      // carries its grace's end.
      await cache?.invalidate(cid);
      return { apiKey: token, ...toApiKey(shown) };
    },

    async delete(caller: KeyCaller, cid: string): Promise<void> {
      await audit.run(async (trx, record) => {
        const target = await repo.findApiKeyByCid(trx, cid);
        if (target === undefined) throw keyNotFound(cid);
        requireCoverageOfKey(
          caller,
          { cid, grants: await loadGrants(trx, storedRoles(target.roles)) },
          'delete',
        );
        await refuseDeletingLastAdmin(trx, store.dialect, target, now());
        // Read without a lock: another delete may commit between that read and this one.
        if (!(await repo.deleteApiKey(trx, store.dialect, cid))) throw keyNotFound(cid);
        await record({ actor: keyActor(caller), action: 'DELETE', objectType: 'API_KEY', objectId: cid });
      });
      await cache?.invalidate(cid);
    },

    /**
     * A token reported leaked (token-scanning): its key is deleted at once, on every node, the
     * last-admin guard notwithstanding (a leaked ADMIN token must stop working; `tessera
     * recover-admin` is the way back). Audited as a SYSTEM event saying where it was found.
     * Undefined when no key holds the token (any more).
     */
    async revokeLeaked(tokenHash: string, foundAt: string): Promise<string | undefined> {
      const cid = await audit.run(async (trx, record) => {
        const target = await repo.findApiKeyByTokenHash(trx, tokenHash);
        if (target === undefined || !(await repo.deleteApiKey(trx, store.dialect, target.cid)))
          return undefined;
        await record({
          actor: systemActor('token-scanning'),
          action: 'DELETE',
          objectType: 'API_KEY',
          objectId: target.cid,
          detail: `token reported leaked at ${foundAt}`,
        });
        return target.cid;
      });
      if (cid !== undefined) await cache?.invalidate(cid);
      return cid;
    },

    /** The first key of an empty store: an ADMIN key named `bootstrap`. */
    async bootstrap(token: string): Promise<ApiKey | undefined> {
      return audit.run(async (trx, record) => {
        await lockWithinTransaction(trx, store.dialect, 'bootstrap');
        if (await repo.hasAnyApiKey(trx)) return undefined;
        return insertSystemAdmin(trx, record, 'bootstrap', {
          name: 'bootstrap',
          description: 'Created at first start: replace it with named keys, then delete it',
          token,
        });
      });
    },

    /**
     * The break-glass way back (`tessera recover-admin`, run on the host with the master key): a
     * fresh ADMIN key beside whatever keys exist, for an operator who has lost every ADMIN token.
     */
    async recoverAdmin(token: string): Promise<ApiKey> {
      return audit.run((trx, record) =>
        insertSystemAdmin(trx, record, 'recover-admin', {
          name: 'recovered-admin',
          description: `Created by tessera recover-admin at ${now().toISOString()}: replace it with named keys, then delete it`,
          token,
        }),
      );
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
