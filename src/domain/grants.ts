import { PERMISSIONS, type Permission } from './permissions.js';

/**
 * The permissions a custom role may limit to secrets whose tags match its patterns: the secret
 * calls (CREATE_SECRETS covers all of them) and value reveal. The others act on no secret.
 */
export const SCOPED_PERMISSIONS = [
  'CREATE_SECRETS',
  'READ_SECRET_VALUES',
] as const satisfies readonly Permission[];
export type ScopedPermission = (typeof SCOPED_PERMISSIONS)[number];

export function isScoped(permission: Permission): permission is ScopedPermission {
  return (SCOPED_PERMISSIONS as readonly Permission[]).includes(permission);
}

/** A tag pattern: tag characters and `*`, which matches any run of characters (none included). */
export const TAG_PATTERN_SOURCE = '^[A-Za-z0-9_*-]{1,100}$';
const TAG_PATTERN = new RegExp(TAG_PATTERN_SOURCE);

export function isTagPattern(text: string): boolean {
  return TAG_PATTERN.test(text);
}

/**
 * Whether `text` matches `pattern` (`*` matches any run of characters, none included), case
 * sensitively. Iterative, backtracking only to the last star: never exponential, whatever the
 * pattern (a regular expression of `.*` runs can be). A `*` in `text` is an ordinary character
 * that only a star of the pattern can match, which is what makes `covers` below sound.
 */
function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === '*') {
      star = p++;
      resume = t;
    } else if (c !== undefined && c === text[t]) {
      p++;
      t++;
    } else if (star !== -1) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * The tags one scoped permission reaches: the union of some patterns. A permission held with no
 * scope at all reaches every tag and has no TagScope (see Grants).
 */
export class TagScope {
  readonly patterns: readonly string[];

  constructor(patterns: Iterable<string>) {
    this.patterns = Object.freeze([...new Set(patterns)].sort());
  }

  allows(tag: string): boolean {
    return this.patterns.some((pattern) => globMatches(pattern, tag));
  }

  /**
   * Whether every tag `pattern` matches is matched by one of these patterns. Decided by matching
   * `pattern` itself as a text in which a star stands only for a star: sound (never says yes
   * wrongly), and exact but for unions (a pattern covered only by two patterns together is
   * refused), which is the safe side for a check that stops escalation.
   */
  covers(pattern: string): boolean {
    return this.patterns.some((held) => globMatches(held, pattern));
  }
}

/**
 * What a key may do: its permissions, and for the scoped ones held only through scoped custom
 * roles, the tags they reach. A scoped permission without an entry in `scopes` reaches every tag.
 */
export interface Grants {
  permissions: ReadonlySet<Permission>;
  scopes: ReadonlyMap<ScopedPermission, TagScope>;
}

export const NO_SCOPES: ReadonlyMap<ScopedPermission, TagScope> = new Map();

/** One role's contribution: its permissions, limited to `secretTags` when it has them. */
export interface RoleGrant {
  permissions: readonly Permission[];
  /** null: every secret. */
  secretTags: readonly string[] | null;
}

/** The union of roles' grants: a scoped permission is unscoped if any role grants it unscoped. */
export function unionOfGrants(roles: readonly RoleGrant[]): Grants {
  const permissions = new Set<Permission>();
  const unscoped = new Set<Permission>();
  const patterns = new Map<ScopedPermission, Set<string>>();
  for (const role of roles) {
    for (const permission of role.permissions) {
      permissions.add(permission);
      if (!isScoped(permission) || role.secretTags === null) {
        unscoped.add(permission);
        continue;
      }
      const set = patterns.get(permission) ?? new Set<string>();
      patterns.set(permission, set);
      for (const pattern of role.secretTags) set.add(pattern);
    }
  }
  const scopes = new Map<ScopedPermission, TagScope>();
  for (const [permission, set] of patterns) {
    if (!unscoped.has(permission)) scopes.set(permission, new TagScope(set));
  }
  return { permissions, scopes: scopes.size === 0 ? NO_SCOPES : scopes };
}

/**
 * Whether a scope the grants may put on `permission` lets it reach this tag. Whether the
 * permission is held at all is the route's check, made before any body is read.
 */
export function scopeAllows(grants: Grants, permission: ScopedPermission, tag: string): boolean {
  const scope = grants.scopes.get(permission);
  return scope === undefined || scope.allows(tag);
}

/** Whether the grants hold `permission` and reach a secret with this tag through it. */
export function reachesTag(grants: Grants, permission: ScopedPermission, tag: string): boolean {
  return grants.permissions.has(permission) && scopeAllows(grants, permission, tag);
}

/**
 * What `wanted` holds that `held` does not, as sentences' fragments in table order ("EDIT_ROLES",
 * "READ_SECRET_VALUES beyond tags deploy-*"); empty when `held` covers `wanted`, scopes included.
 */
export function grantsLacking(wanted: Grants, held: Grants): string[] {
  const lacking: string[] = [];
  for (const permission of PERMISSIONS) {
    if (!wanted.permissions.has(permission)) continue;
    if (!held.permissions.has(permission)) {
      lacking.push(permission);
      continue;
    }
    if (!isScoped(permission)) continue;
    const heldScope = held.scopes.get(permission);
    if (heldScope === undefined) continue;
    const wantedScope = wanted.scopes.get(permission);
    if (wantedScope === undefined) {
      lacking.push(`${permission} on every secret`);
      continue;
    }
    const beyond = wantedScope.patterns.filter((pattern) => !heldScope.covers(pattern));
    if (beyond.length > 0) lacking.push(`${permission} on tags ${beyond.join(', ')}`);
  }
  return lacking;
}
