import type { Store } from '../../db/database.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../db/errors.js';
import type { Caller } from '../../domain/caller.js';
import { trimmedName } from '../../domain/display-name.js';
import {
  ConflictError,
  NotFoundError,
  throwIfViolations,
  type Violation,
  violation,
} from '../../domain/errors.js';
import { unionOfGrants } from '../../domain/grants.js';
import type { Page, PageQuery } from '../../domain/page.js';
import { type AuditLog, keyActor } from '../audit/audit.log.js';
import { sortedPermissions } from './permissions.js';
import { requireCoverage, roleNotice } from './role-resolution.js';
import { grantOf, type Role, toRole } from './roles.mapping.js';
import * as repo from './roles.repository.js';
import { ROLE_NAME_MAX, type RoleInput } from './roles.schemas.js';
import type { RoleRow } from './roles.table.js';

export interface RoleServiceDeps {
  store: Store;
  now: () => Date;
  audit: AuditLog;
  /** Drops, on every node, the cached keys a changed role reaches (the token cache). */
  invalidate?: ((owner: string) => Promise<unknown>) | undefined;
}

function roleNotFound(tag: string) {
  return new NotFoundError('Role not found', `No custom role with tag '${tag}'`);
}

/** A role's input, checked: the fields as stored. */
function checkedFields(
  input: RoleInput,
): Pick<RoleRow, 'name' | 'description' | 'permissions' | 'secret_tags'> {
  const violations: Violation[] = [];
  const name = trimmedName(input.name, ROLE_NAME_MAX, violations);
  throwIfViolations(violations);
  const secretTags = input.secretTags ?? null;
  return {
    name,
    description: input.description ?? null,
    permissions: JSON.stringify(sortedPermissions(new Set(input.permissions))),
    secret_tags: secretTags === null ? null : JSON.stringify([...new Set(secretTags)]),
  };
}

/** What a role's stored fields grant, as a key holding only it would have. */
function grantsOfFields(fields: Pick<RoleRow, 'permissions' | 'secret_tags'>) {
  return unionOfGrants([
    grantOf({
      permissions: JSON.parse(fields.permissions),
      secretTags: fields.secret_tags === null ? null : JSON.parse(fields.secret_tags),
    }),
  ]);
}

/**
 * Custom roles' operations. No escalation: a caller creates, changes and deletes only roles
 * within its own grants, scopes included, so holding EDIT_ROLES never yields more than the caller
 * has. A role that keys hold cannot be deleted (the database's foreign key backs the check).
 */
export function createRoleService({ store, now, audit, invalidate }: RoleServiceDeps) {
  const { db } = store;

  return {
    async list(query: PageQuery): Promise<Page<Role>> {
      return repo.listRoles(db, store.dialect, query);
    },

    async get(tag: string): Promise<Role> {
      const row = await repo.findRole(db, tag);
      if (row === undefined) throw roleNotFound(tag);
      return toRole(row);
    },

    async create(caller: Caller, input: RoleInput & { tag: string }): Promise<Role> {
      const fields = checkedFields(input);
      requireCoverage(caller, grantsOfFields(fields), 'Cannot create a role with permissions this key lacks');
      const at = now().toISOString();
      const row: RoleRow = { tag: input.tag, ...fields, created_at: at, updated_at: at };
      try {
        await audit.run(async (trx, record) => {
          await repo.insertRole(trx, store.dialect, row);
          await record({ actor: keyActor(caller), action: 'CREATE', objectType: 'ROLE', objectId: row.tag });
        });
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new ConflictError(
            'Role already exists',
            `A custom role with tag '${input.tag}' already exists`,
          );
        }
        throw error;
      }
      return toRole(row);
    },

    /** Replaces everything but the tag; every key holding the role has its new grants at once. */
    async replace(caller: Caller, tag: string, input: RoleInput): Promise<Role> {
      if (input.tag !== undefined && input.tag !== tag) {
        throwIfViolations([violation('/body/tag', "A role's tag cannot change")]);
      }
      const fields = checkedFields(input);
      const updated = await audit.run(async (trx, record) => {
        const current = await repo.findRoleToChange(trx, store.dialect, tag);
        if (current === undefined) throw roleNotFound(tag);
        requireCoverageOfRole(caller, current, 'change');
        requireCoverage(
          caller,
          grantsOfFields(fields),
          `Cannot give role '${tag}' permissions this key lacks`,
        );
        const row: RoleRow = { ...current, ...fields, updated_at: now().toISOString() };
        if (!(await repo.updateRole(trx, tag, row))) throw roleNotFound(tag);
        await record({ actor: keyActor(caller), action: 'UPDATE', objectType: 'ROLE', objectId: tag });
        return row;
      });
      await invalidate?.(roleNotice(tag));
      return toRole(updated);
    },

    async delete(caller: Caller, tag: string): Promise<void> {
      try {
        await audit.run(async (trx, record) => {
          const current = await repo.findRoleToChange(trx, store.dialect, tag);
          if (current === undefined) throw roleNotFound(tag);
          requireCoverageOfRole(caller, current, 'delete');
          const holders = await repo.countHolders(trx, tag);
          if (holders > 0) throw heldRole(tag, holders);
          if (!(await repo.deleteRole(trx, store.dialect, tag))) throw roleNotFound(tag);
          await record({ actor: keyActor(caller), action: 'DELETE', objectType: 'ROLE', objectId: tag });
        });
      } catch (error) {
        // A key given the role after the count above: the foreign key refuses the delete.
        if (isForeignKeyViolation(error)) throw heldRole(tag, 1);
        throw error;
      }
      await invalidate?.(roleNotice(tag));
    },
  };
}

/** No escalation: a caller changes or deletes only roles within its own grants. */
function requireCoverageOfRole(caller: Caller, role: RoleRow, verb: 'change' | 'delete') {
  requireCoverage(
    caller,
    grantsOfFields(role),
    `Cannot ${verb} role '${role.tag}': it grants permissions this key lacks`,
  );
}

function heldRole(tag: string, holders: number) {
  return new ConflictError(
    'Role in use',
    `Custom role '${tag}' is held by ${holders === 1 ? 'an API key' : `${holders} API keys`}: delete those keys first (a key's roles never change)`,
  );
}

export type RoleService = ReturnType<typeof createRoleService>;
