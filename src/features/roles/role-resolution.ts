import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { ForbiddenError, type Violation, violation } from '../../domain/errors.js';
import { type Grants, grantsLacking, type RoleGrant, unionOfGrants } from '../../domain/grants.js';
import { customTagsOf, type DefaultRole, defaultRoleGrant, type RoleRef } from './permissions.js';
import { grantOf, toRole } from './roles.mapping.js';
import { findRoles } from './roles.repository.js';

/** A role as a request names it: a default role by name, a custom one by tag. */
export interface RequestedRole {
  type: 'DEFAULT' | 'CUSTOM';
  role?: string;
  tag?: string;
}

/** The change notice that drops every cached key holding a custom role, on every node. */
export function roleNotice(tag: string): string {
  return `role:${tag}`;
}

/** Turns the request's role list into role references; every problem is a violation. */
export function resolveRoles(input: readonly RequestedRole[], violations: Violation[]): RoleRef[] {
  const resolved = new Map<string, RoleRef>();
  input.forEach((ref, index) => {
    const pointer = `/body/roles/${index}`;
    if (ref.type === 'DEFAULT') {
      if (ref.role === undefined) {
        violations.push(violation(`${pointer}/role`, "A DEFAULT role needs 'role'", 'Missing field'));
        return;
      }
      resolved.set(`DEFAULT:${ref.role}`, { type: 'DEFAULT', role: ref.role as DefaultRole });
      return;
    }
    if (ref.tag === undefined) {
      violations.push(violation(`${pointer}/tag`, "A CUSTOM role needs 'tag'", 'Missing field'));
      return;
    }
    resolved.set(`CUSTOM:${ref.tag}`, { type: 'CUSTOM', tag: ref.tag });
  });
  return [...resolved.values()];
}

/** The grants of each custom role a key names, from storage (missing ones are left out). */
export async function customRoleGrants(
  db: Kysely<Database>,
  roles: readonly RoleRef[],
): Promise<Map<string, RoleGrant>> {
  const tags = customTagsOf(roles);
  if (tags.length === 0) return new Map();
  return new Map((await findRoles(db, tags)).map((row) => [row.tag, grantOf(toRole(row))]));
}

/**
 * A key's grants: the union over its roles. A custom role missing from `custom` grants nothing
 * (fail closed; the database keeps a held role from being deleted, so it does not happen).
 */
export function grantsOf(roles: readonly RoleRef[], custom: ReadonlyMap<string, RoleGrant>): Grants {
  return unionOfGrants(
    roles.flatMap((ref) => {
      if (ref.type === 'DEFAULT') return [defaultRoleGrant(ref.role)];
      const grant = custom.get(ref.tag);
      return grant === undefined ? [] : [grant];
    }),
  );
}

/** The grants of a key's roles, read from storage. */
export async function loadGrants(db: Kysely<Database>, roles: readonly RoleRef[]): Promise<Grants> {
  return grantsOf(roles, await customRoleGrants(db, roles));
}

/**
 * A new key's roles, checked against storage: each custom tag must name a role (400 otherwise,
 * pointing at the request's entry). Answers the key's grants, for the escalation check.
 */
export async function grantsOfNewKey(
  db: Kysely<Database>,
  input: readonly RequestedRole[],
  roles: readonly RoleRef[],
  violations: Violation[],
): Promise<Grants> {
  const custom = await customRoleGrants(db, roles);
  input.forEach((ref, index) => {
    if (ref.type === 'CUSTOM' && ref.tag !== undefined && !custom.has(ref.tag)) {
      violations.push(violation(`/body/roles/${index}/tag`, `No custom role with tag '${ref.tag}'`));
    }
  });
  return grantsOf(roles, custom);
}

/**
 * Stored role lists, parsed. Keys share a handful of distinct lists, and a page of 250 keys would
 * otherwise parse the same JSON 250 times; the parsed lists are frozen, since answers share them.
 */
const parsedRoles = new Map<string, readonly RoleRef[]>();
const PARSED_ROLES_KEPT = 256;

/** A stored role list (the JSON of a key's `roles` column), parsed once per distinct list. */
export function storedRoles(json: string): readonly RoleRef[] {
  let roles = parsedRoles.get(json);
  if (roles === undefined) {
    roles = Object.freeze((JSON.parse(json) as RoleRef[]).map((role) => Object.freeze(role)));
    if (parsedRoles.size >= PARSED_ROLES_KEPT) parsedRoles.clear();
    parsedRoles.set(json, roles);
  }
  return roles;
}

/**
 * No escalation: a caller creates keys and roles only within its own grants, scopes included, and
 * changes or deletes only those within them. A refusal names what the caller lacks, never more.
 */
export function requireCoverage(held: Grants, wanted: Grants, refusal: string): void {
  const lacking = grantsLacking(wanted, held);
  if (lacking.length > 0) throw new ForbiddenError(`${refusal} (${lacking.join('; ')})`);
}

export function requireCoverageOfNewKey(held: Grants, wanted: Grants): void {
  requireCoverage(held, wanted, 'Cannot create a key with permissions this key lacks');
}

export function requireCoverageOfKey(
  held: Grants,
  target: { cid: string; grants: Grants },
  verb: 'update' | 'delete' | 'roll',
): void {
  requireCoverage(
    held,
    target.grants,
    `Cannot ${verb} API key '${target.cid}': it holds permissions this key lacks`,
  );
}
