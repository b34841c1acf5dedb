import type { Kysely } from 'kysely';
import { generateId } from '../../crypto/ids.js';
import { digestsEqual, generateToken, hashToken } from '../../crypto/tokens.js';
import type { Database, Store } from '../../db/database.js';
import { lockWithinTransaction } from '../../db/locks.js';
import type { Page, PageQuery } from '../../domain/page.js';
import type { Principal, RequestInfo } from '../../http/access.js';
import { parseDateTime } from '../../http/date-time.js';
import { trimmedName } from '../../http/display-name.js';
import {
  conflict,
  forbidden,
  notFound,
  throwIfViolations,
  type Violation,
  violation,
} from '../../http/errors.js';
import { andThen, type MaybePromise } from '../../runtime/maybe-promise.js';
import { type AuditLog, keyActor, type RecordEvent, systemActor } from '../audit/audit.log.js';
import {
  type DefaultRole,
  holdsAdmin,
  isSubset,
  type Permission,
  permissionsOf,
  type RoleRef,
  sortedPermissions,
} from '../roles/permissions.js';
import { toApiKey } from './api-keys.mapping.js';
import * as repo from './api-keys.repository.js';
import { type CreateApiKeyInput, NAME_MAX, type UpdateApiKeyInput } from './api-keys.schemas.js';
import type { ApiKeyRow } from './api-keys.table.js';
import type { TokenCache } from './token-cache.js';

/** An API key as the API shows it (SPEC §4). */
export interface ApiKey {
  cid: string;
  name: string;
  description: string | null;
  createdDate: string;
  expirationDate: string | null;
  last4: string;
  roles: readonly RoleRef[];
}

/** The caller, as resolved from its bearer token. */
export interface KeyPrincipal extends Principal {
  key: ApiKey;
}

/** A caller as services receive it: the key, and where the request came from when over HTTP. */
export type KeyCaller = KeyPrincipal & Partial<RequestInfo>;

export interface ApiKeyServiceDeps {
  store: Store;
  now: () => Date;
  /** Token look-ups kept in process; absent where no invalidation channel reaches every node. */
  cache?: TokenCache<AuthenticatedKey> | undefined;
  audit: AuditLog;
}

/**
 * What authenticating a token yields, worked out once per storage read: the token cache keeps
 * these, so a cached request parses no JSON and builds no permission set.
 */
export interface AuthenticatedKey {
  cid: string;
  tokenHash: string;
  /** Milliseconds since the epoch; null: never expires. */
  expiresAtMs: number | null;
  principal: KeyPrincipal;
}

function authenticatedKey(row: ApiKeyRow): AuthenticatedKey {
  const key = toApiKey(row);
  // Shared by every request the cache serves: frozen so none can alter another's view.
  const principal: KeyPrincipal = Object.freeze({
    cid: key.cid,
    key: Object.freeze(key),
    permissions: permissionsOf(key.roles),
  });
  return {
    cid: row.cid,
    tokenHash: row.token_hash,
    expiresAtMs: row.expires_at === null ? null : Date.parse(row.expires_at),
    principal,
  };
}

function isExpired(row: Pick<ApiKeyRow, 'expires_at'>, now: Date): boolean {
  return row.expires_at !== null && row.expires_at <= now.toISOString();
}

/** Turns the request's role list into stored role references; every problem is a violation. */
function resolveRoles(input: CreateApiKeyInput['roles'], violations: Violation[]): RoleRef[] {
  const resolved = new Map<string, RoleRef>();
  input.forEach((ref, index) => {
    const pointer = `/body/roles/${index}`;
    if (ref.type === 'DEFAULT') {
      if (ref.role === undefined) {
        violations.push(violation(`${pointer}/role`, "A DEFAULT role needs 'role'", 'Missing field'));
        return;
      }
      resolved.set(`DEFAULT:${ref.role}`, {
        type: 'DEFAULT',
        role: ref.role as DefaultRole,
      });
      return;
    }
    if (ref.tag === undefined) {
      violations.push(violation(`${pointer}/tag`, "A CUSTOM role needs 'tag'", 'Missing field'));
      return;
    }
    // Custom roles arrive with their own issue; until then every custom tag is unknown.
    violations.push(violation(`${pointer}/tag`, `No custom role with tag '${ref.tag}'`));
  });
  return [...resolved.values()];
}

/** Deleting an ADMIN key needs another ADMIN key that stays valid at least this long. */
const ADMIN_SUCCESSOR_VALID_FOR_MS = 3_600_000;

function keyNotFound(cid: string) {
  return notFound('API key not found', `No API key with cid '${cid}'`);
}

function missingFrom(wanted: ReadonlySet<Permission>, held: ReadonlySet<Permission>): string {
  return sortedPermissions(new Set([...wanted].filter((p) => !held.has(p)))).join(', ');
}

export function createApiKeyService({ store, now, cache, audit }: ApiKeyServiceDeps) {
  const { db } = store;

  /** A key by its token's hash, from storage, kept in the token cache unless a change raced it. */
  async function loadKey(tokenHash: string): Promise<AuthenticatedKey | undefined> {
    const ticket = cache?.ticket();
    const row = await repo.findApiKeyByTokenHash(db, tokenHash);
    if (row === undefined) return undefined;
    const found = authenticatedKey(row);
    if (ticket !== undefined) cache?.set(tokenHash, found, ticket);
    return found;
  }

  async function requireKey(cid: string): Promise<ApiKeyRow> {
    const row = await repo.findApiKeyByCid(db, cid);
    if (row === undefined) throw keyNotFound(cid);
    return row;
  }

  /** A caller may only act on keys whose permissions it holds itself. */
  function requireCoverage(caller: KeyCaller, target: ApiKeyRow, verb: string) {
    const targetPermissions = permissionsOf(JSON.parse(target.roles) as RoleRef[]);
    if (!isSubset(targetPermissions, caller.permissions)) {
      throw forbidden(
        `Cannot ${verb} API key '${target.cid}': it holds permissions this key lacks (${missingFrom(targetPermissions, caller.permissions)})`,
      );
    }
  }

  function newRow(fields: {
    name: string;
    description: string | null;
    roles: RoleRef[];
    expiresAt: string | null;
    token: string;
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
    };
  }

  return {
    /** At once from the token cache; from storage (a promise) on a miss. */
    authenticate(token: string): MaybePromise<KeyPrincipal | 'expired' | undefined> {
      const tokenHash = hashToken(token);
      return andThen(cache?.get(tokenHash) ?? loadKey(tokenHash), (found) => {
        if (found === undefined || !digestsEqual(found.tokenHash, tokenHash)) return undefined;
        if (found.expiresAtMs !== null && found.expiresAtMs <= now().getTime()) return 'expired';
        return found.principal;
      });
    },

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
      let expiresAt: string | null = null;
      if (input.expirationDate !== undefined && input.expirationDate !== null) {
        const parsed = parseDateTime(input.expirationDate);
        if (parsed === undefined) {
          violations.push(
            violation('/body/expirationDate', "'expirationDate' must be an ISO 8601 date-time"),
          );
        } else if (parsed.getTime() <= now().getTime()) {
          violations.push(violation('/body/expirationDate', "'expirationDate' must be in the future"));
        } else {
          expiresAt = parsed.toISOString();
        }
      }
      throwIfViolations(violations);
      const wanted = permissionsOf(roles);
      if (!isSubset(wanted, caller.permissions)) {
        throw forbidden(
          `Cannot create a key with permissions this key lacks (${missingFrom(wanted, caller.permissions)})`,
        );
      }
      const token = generateToken();
      const row = newRow({
        name,
        description: input.description ?? null,
        roles,
        expiresAt,
        token,
      });
      await audit.run(async (trx, record) => {
        await repo.insertApiKey(trx, store.dialect, row);
        await record({ actor: keyActor(caller), action: 'CREATE', objectType: 'API_KEY', objectId: row.cid });
      });
      return { apiKey: token, ...toApiKey(row) };
    },

    async update(caller: KeyCaller, cid: string, input: UpdateApiKeyInput): Promise<ApiKey> {
      const violations: Violation[] = [];
      const name = trimmedName(input.name, NAME_MAX, violations);
      throwIfViolations(violations);
      const changes = {
        name,
        ...(input.description === undefined ? {} : { description: input.description }),
      };
      // The key is read inside the transaction that changes it, and held there: a delete that
      // committed first makes this a 404 with no event, and the row is written as read here,
      // never as another update has changed it since (the repository renders its list item).
      const shown = await audit.run(async (trx, record) => {
        const target = await repo.findApiKeyToChange(trx, store.dialect, cid);
        if (target === undefined) throw keyNotFound(cid);
        requireCoverage(caller, target, 'update');
        const row = { ...target, ...changes };
        const written = await repo.updateApiKey(trx, target, changes);
        if (!written) throw keyNotFound(cid);
        await record({ actor: keyActor(caller), action: 'UPDATE', objectType: 'API_KEY', objectId: cid });
        return row;
      });
      await cache?.invalidate(cid);
      return toApiKey(shown);
    },

    async delete(caller: KeyCaller, cid: string): Promise<void> {
      await audit.run(async (trx, record) => {
        const target = await repo.findApiKeyByCid(trx, cid);
        if (target === undefined) throw keyNotFound(cid);
        requireCoverage(caller, target, 'delete');
        const at = now();
        if (target.is_admin === 1 && !isExpired(target, at)) {
          await lockWithinTransaction(trx, store.dialect, 'admin-keys');
          // Another ADMIN key that expires in a moment would leave nobody able to administer
          // the service soon after: only keys that stay valid long enough to act count.
          const validUntil = new Date(at.getTime() + ADMIN_SUCCESSOR_VALID_FOR_MS).toISOString();
          const others = await repo.countOtherActiveAdmins(trx, cid, validUntil);
          if (others === 0) {
            throw conflict(
              'Cannot delete the last admin key',
              `API key '${cid}' is the last key holding ADMIN that stays valid for at least an hour; create another admin key first`,
            );
          }
        }
        // Read without a lock: another delete may commit between that read and this one.
        if (!(await repo.deleteApiKey(trx, store.dialect, cid))) throw keyNotFound(cid);
        await record({ actor: keyActor(caller), action: 'DELETE', objectType: 'API_KEY', objectId: cid });
      });
      await cache?.invalidate(cid);
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
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
