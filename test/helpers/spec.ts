/**
 * SPEC tables, written out independently of src/ so tests check the code against the contract
 * rather than against itself.
 */
import { STATUS_CODES } from 'node:http';

export const DEFAULT_ROLES = ['ADMIN', 'MANAGER', 'USER', 'READ_ONLY', 'VIEWER'] as const;
export type DefaultRole = (typeof DEFAULT_ROLES)[number];

/** SPEC §6, in the table's order. */
export const PERMISSIONS = [
  'EDIT_API_KEYS',
  'CREATE_SECRETS',
  'READ_SECRET_VALUES',
  'VIEW_AUDIT_LOGS',
  'CONFIGURE_IP_ALLOWLIST',
  'EDIT_ROLES',
  'EDIT_WEBHOOKS',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Record<DefaultRole, readonly Permission[]> = {
  ADMIN: PERMISSIONS,
  MANAGER: ['CREATE_SECRETS', 'VIEW_AUDIT_LOGS'],
  USER: ['CREATE_SECRETS'],
  READ_ONLY: [],
  VIEWER: [],
};

/** Roles from least to most privileged (for picking the weakest role that holds a permission). */
export const ROLES_BY_PRIVILEGE: readonly DefaultRole[] = ['READ_ONLY', 'VIEWER', 'USER', 'MANAGER', 'ADMIN'];

export function roleHolds(role: DefaultRole, permission: Permission | null): boolean {
  return permission === null || ROLE_PERMISSIONS[role].includes(permission);
}

/**
 * SPEC §3: the error tokens and their statuses, plus the three Tessera adds for what SPEC leaves
 * open (a body of another content type, a request too slow, headers too large).
 */
export const ERROR_TYPES = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  REQUEST_TIMEOUT: 408,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  REQUEST_HEADER_FIELDS_TOO_LARGE: 431,
  UNHANDLED_EXCEPTION: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;
export type ErrorType = keyof typeof ERROR_TYPES;

/** The HTTP reason phrase, which `title` carries (SPEC §3's example: "Not Found"). */
export function reasonPhrase(status: number): string | undefined {
  return STATUS_CODES[status];
}

/** Every field of SPEC §3's problem body. */
export const PROBLEM_FIELDS = [
  'type',
  'title',
  'status',
  'detail',
  'instance',
  'message',
  'details',
  'httpStatus',
  'requestId',
] as const;

export const CID = /^ak[0-9a-f]{16}$/;
export const TOKEN = /^tsk_[0-9A-Za-z]{49}$/;
/** `req_` and a ULID (Crockford base32, 26 characters). */
export const REQUEST_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;
/** What `Date.prototype.toISOString()` produces. */
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** SPEC §6: a key's permissions are the union over its roles. */
export function permissionsOfRoles(roles: readonly DefaultRole[]): Set<Permission> {
  return new Set(roles.flatMap((r) => ROLE_PERMISSIONS[r]));
}

/**
 * What a route asks of its caller: nothing (`'public'`: SPEC §9's health probes and API
 * reference), any valid key (`null`, e.g. `GET /api/v1/me`), one permission of SPEC §6, or any
 * one of several (the secrets change feed: CREATE_SECRETS or READ_SECRET_VALUES).
 */
export type Requirement = 'public' | Permission | readonly Permission[] | null;

/**
 * A caller as SPEC §3 sees it: no valid key (missing, malformed, unknown, expired or deleted), or
 * a key's default roles and the permissions of its custom roles (unscoped).
 */
export type Identity =
  | { valid: false }
  | { valid: true; roles: readonly DefaultRole[]; custom?: readonly Permission[] };

/**
 * SPEC §3's status use for a request that is otherwise valid: a public route answers everyone;
 * no valid key is 401; a key without the permission (or any of them) is 403; otherwise 200.
 */
export function accessStatus(requirement: Requirement, identity: Identity): 200 | 401 | 403 {
  if (requirement === 'public') return 200;
  if (!identity.valid) return 401;
  if (requirement === null) return 200;
  const held = permissionsOfRoles(identity.roles);
  for (const permission of identity.custom ?? []) held.add(permission);
  const anyOf: readonly Permission[] = typeof requirement === 'string' ? [requirement] : requirement;
  return anyOf.some((permission) => held.has(permission)) ? 200 : 403;
}

/**
 * Text a terminal acts on instead of printing, each labelled: never allowed in a name or a
 * description (descriptions may hold tab and newline; see TEXT_ALLOWED).
 */
export const UNPRINTABLE_TEXT: readonly [string, string][] = [
  ['an ANSI colour escape (ESC [)', 'red \u001b[31malert\u001b[0m'],
  ['an OSC title escape ended by BEL', '\u001b]0;owned\u0007name'],
  ['NUL', 'a\u0000b'],
  ['a carriage return inside', 'safe\roverwritten'],
  ['a vertical tab inside', 'a\u000bb'],
  ['DEL', 'a\u007fb'],
  ['C1 NEL (U+0085)', 'a\u0085b'],
  ['C1 CSI (U+009B)', 'a\u009b31mb'],
  ['RIGHT-TO-LEFT OVERRIDE (U+202E)', 'invoice\u202Efdp.exe'],
  ['LEFT-TO-RIGHT EMBEDDING (U+202A)', 'a\u202Ab'],
  ['RIGHT-TO-LEFT ISOLATE (U+2067)', 'a\u2067b'],
  ['POP DIRECTIONAL ISOLATE (U+2069)', 'a\u2069b'],
  ['LEFT-TO-RIGHT MARK (U+200E)', 'a\u200Eb'],
  ['RIGHT-TO-LEFT MARK (U+200F)', 'a\u200Fb'],
  ['ARABIC LETTER MARK (U+061C)', 'a\u061Cb'],
];

/** Text a name or a description keeps as sent: printable, whatever the script. */
export const TEXT_ALLOWED: readonly string[] = [
  'plain name',
  'пароль 密码 🔑 👩\u200d💻 e\u0301',
  'no\u00a0break and soft\u00adhyphen',
  'quotes \' " and \\ backslash',
];
