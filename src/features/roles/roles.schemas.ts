import { TAG_PATTERN_SOURCE } from '../../domain/grants.js';
import { PERMISSIONS, type Permission } from '../../domain/permissions.js';
import { pageOf } from '../../http/pagination.js';
import { DESCRIPTION_TEXT_PATTERN, NAME_TEXT_PATTERN } from '../../http/schemas.js';
import { TAG_MAX, TAG_PATTERN } from '../secrets/secrets.schemas.js';

export const ROLE_NAME_MAX = 256;
const DESCRIPTION_MAX = 4096;
/** Patterns per role: enough for any real scope, small enough that a check over them stays cheap. */
export const SECRET_TAG_PATTERNS_MAX = 50;

const permissionsField = {
  type: 'array',
  description: 'What the role grants; kept once each, in the order of the permissions table.',
  maxItems: PERMISSIONS.length * 2,
  items: { type: 'string', enum: PERMISSIONS },
} as const;

const secretTagsField = {
  type: ['array', 'null'],
  description:
    "Limits the role's CREATE_SECRETS and READ_SECRET_VALUES to secrets whose tag matches one of these patterns; `*` matches any run of characters (`deploy-*`). null: every secret.",
  minItems: 1,
  maxItems: SECRET_TAG_PATTERNS_MAX,
  items: { type: 'string', minLength: 1, maxLength: TAG_MAX, pattern: TAG_PATTERN_SOURCE },
} as const;

export const roleSchema = {
  type: 'object',
  description: 'A custom role (Tessera extension): keys refer to it as `{"type":"CUSTOM","tag":"…"}`.',
  required: ['tag', 'name', 'description', 'permissions', 'secretTags', 'createdDate', 'updatedDate'],
  properties: {
    tag: { type: 'string', description: 'Unique; never changes.' },
    name: { type: 'string' },
    description: { type: ['string', 'null'] },
    permissions: { type: 'array', items: { type: 'string', enum: PERMISSIONS } },
    secretTags: { type: ['array', 'null'], items: { type: 'string' } },
    createdDate: { type: 'string', format: 'date-time' },
    updatedDate: { type: 'string', format: 'date-time' },
  },
} as const;

export const roleListSchema = pageOf('roles', roleSchema);

const nameField = {
  type: 'string',
  description:
    'Name of the role (1 to 256 characters, trimmed). No control or bidirectional-control characters.',
  minLength: 1,
  maxLength: ROLE_NAME_MAX * 4,
  pattern: NAME_TEXT_PATTERN,
} as const;
const descriptionField = {
  type: ['string', 'null'],
  description: 'Up to 4096 characters. Tab and newline are its only control characters.',
  maxLength: DESCRIPTION_MAX,
  pattern: DESCRIPTION_TEXT_PATTERN,
} as const;

/** What a PUT replaces: everything but the tag. */
const roleFields = {
  name: nameField,
  description: descriptionField,
  permissions: permissionsField,
  secretTags: secretTagsField,
} as const;

export const createRoleBody = {
  type: 'object',
  required: ['tag', 'name', 'permissions'],
  additionalProperties: false,
  properties: {
    tag: {
      type: 'string',
      description: 'Letters, digits, `-` and `_`, starting with a letter or digit; at most 100 characters.',
      minLength: 1,
      maxLength: TAG_MAX,
      pattern: TAG_PATTERN,
    },
    ...roleFields,
  },
} as const;

export const replaceRoleBody = {
  type: 'object',
  description: 'Replaces the role: an omitted `description` or `secretTags` becomes null.',
  required: ['name', 'permissions'],
  additionalProperties: false,
  properties: {
    // A client may send the role back as it read it: the tag may repeat, never change.
    tag: { type: 'string', minLength: 1, maxLength: TAG_MAX },
    ...roleFields,
  },
} as const;

export const roleTagParams = {
  type: 'object',
  required: ['tag'],
  properties: { tag: { type: 'string', maxLength: TAG_MAX, description: "The role's tag." } },
} as const;

export interface RoleInput {
  tag?: string;
  name: string;
  description?: string | null;
  permissions: Permission[];
  secretTags?: string[] | null;
}
