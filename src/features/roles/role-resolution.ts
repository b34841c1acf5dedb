import { ForbiddenError, type Violation, violation } from '../../domain/errors.js';
import type { Permission } from '../../domain/permissions.js';
import { type DefaultRole, isSubset, permissionsOf, type RoleRef, sortedPermissions } from './permissions.js';

/** A role as a request names it: a default role by name, a custom one by tag. */
export interface RequestedRole {
  type: 'DEFAULT' | 'CUSTOM';
  role?: string;
  tag?: string;
}

/** Turns the request's role list into stored role references; every problem is a violation. */
export function resolveRoles(input: readonly RequestedRole[], violations: Violation[]): RoleRef[] {
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

/** The permissions in `wanted` that `held` lacks, in table order, for a refusal to name. */
function lacking(wanted: ReadonlySet<Permission>, held: ReadonlySet<Permission>): string {
  return sortedPermissions(new Set([...wanted].filter((p) => !held.has(p)))).join(', ');
}

/**
 * No escalation: a caller only acts on keys whose permissions it holds itself, so it may create a
 * key only with roles whose permissions it holds. A refusal names what it lacks, never more.
 */
export function requireCoverageOfNewKey(held: ReadonlySet<Permission>, roles: readonly RoleRef[]): void {
  const wanted = permissionsOf(roles);
  if (!isSubset(wanted, held)) {
    throw new ForbiddenError(
      `Cannot create a key with permissions this key lacks (${lacking(wanted, held)})`,
    );
  }
}

/** No escalation (see requireCoverageOfNewKey): a caller changes or deletes only keys it covers. */
export function requireCoverageOfKey(
  held: ReadonlySet<Permission>,
  target: { cid: string; roles: readonly RoleRef[] },
  verb: 'update' | 'delete',
): void {
  const wanted = permissionsOf(target.roles);
  if (!isSubset(wanted, held)) {
    throw new ForbiddenError(
      `Cannot ${verb} API key '${target.cid}': it holds permissions this key lacks (${lacking(wanted, held)})`,
    );
  }
}
