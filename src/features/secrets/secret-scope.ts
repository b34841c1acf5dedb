import { ForbiddenError } from '../../domain/errors.js';
import {
  type Grants,
  reachesTag,
  SCOPED_PERMISSIONS,
  type ScopedPermission,
  scopeAllows,
} from '../../domain/grants.js';
import { secretNotFound } from './secret-lookup.js';

/**
 * Custom roles may limit a key's secret permissions to tags matching patterns (domain/grants.ts).
 * A secret none of the key's secret permissions reaches does not exist for it: 404, as for a
 * missing one, so a scoped key learns nothing of what lies outside its scope. A secret it reaches
 * through one permission but not the one asked for is a 403 naming that permission.
 */
export function requireReach(
  caller: Grants,
  permission: ScopedPermission,
  secret: { tag: string },
  tagOrId: string,
): void {
  if (scopeAllows(caller, permission, secret.tag)) return;
  if (!SCOPED_PERMISSIONS.some((other) => reachesTag(caller, other, secret.tag)))
    throw secretNotFound(tagOrId);
  throw new ForbiddenError(`This API key's ${permission} does not reach secret '${secret.tag}'`);
}

/** A new secret's tag must be within the creating key's scope: it could not reach it otherwise. */
export function requireCreatableTag(caller: Grants, tag: string): void {
  if (scopeAllows(caller, 'CREATE_SECRETS', tag)) return;
  const scope = caller.scopes.get('CREATE_SECRETS');
  throw new ForbiddenError(
    `This API key may create secrets only with tags matching ${scope?.patterns.join(', ') ?? 'none'}`,
  );
}

/** The tag patterns a list must be narrowed to for this caller; undefined: every secret. */
export function listScopeOf(caller: Grants): readonly string[] | undefined {
  return scopeOf(caller, 'CREATE_SECRETS');
}

/** The tag patterns `permission` reaches for this caller; undefined: every secret. */
export function scopeOf(caller: Grants, permission: ScopedPermission): readonly string[] | undefined {
  return caller.scopes.get(permission)?.patterns;
}

/**
 * The tag patterns the change feed is narrowed to: what any secret permission the caller holds
 * reaches (CREATE_SECRETS, which lists and reads secrets, or READ_SECRET_VALUES, which reveals
 * them); undefined: every secret.
 */
export function feedScopeOf(caller: Grants): readonly string[] | undefined {
  const patterns: string[] = [];
  for (const permission of SCOPED_PERMISSIONS) {
    if (!caller.permissions.has(permission)) continue;
    const scope = scopeOf(caller, permission);
    if (scope === undefined) return undefined;
    patterns.push(...scope);
  }
  return patterns;
}
