import { pageOf } from '../../http/pagination.js';
import { NAME_TEXT_PATTERN } from '../../http/schemas.js';
import { FEED_PAGE_MAX, FEED_WAIT_MAX_SECONDS } from './secret-change-feed.js';
import { CURSOR_MAX } from './secret-changes.cursor.js';

export const TAG_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$';
/** The longest tag TAG_PATTERN allows, stated as a bound of its own (see test/openapi/limits.test.ts). */
export const TAG_MAX = 100;
export const SECRET_MAX_BYTES = 64 * 1024;
export const SECRET_NAME_MAX = 256;

export const secretSchema = {
  type: 'object',
  description: 'A secret. Its value is never part of this shape.',
  required: ['id', 'name', 'tag'],
  properties: {
    id: { type: 'string', description: '`se` and 16 hex digits.', examples: ['se2da8159dbeefb974'] },
    name: { type: 'string' },
    tag: { type: 'string' },
  },
} as const;

export const secretListSchema = pageOf('secrets', secretSchema);

const nameField = {
  type: 'string',
  minLength: 1,
  maxLength: SECRET_NAME_MAX * 4,
  pattern: NAME_TEXT_PATTERN,
  description:
    'Human-readable name, 1 to 256 characters (trimmed). No control or bidirectional-control characters.',
} as const;
// Characters bound the input here; the service checks the 64 KiB limit in UTF-8 bytes.
const secretField = {
  type: 'string',
  minLength: 1,
  maxLength: SECRET_MAX_BYTES,
  description: 'The value: 1 byte to 64 KiB of UTF-8, any characters (no unpaired surrogates). Write-only.',
} as const;

export const createSecretBody = {
  type: 'object',
  required: ['name', 'secret', 'tag'],
  additionalProperties: false,
  properties: {
    name: nameField,
    secret: secretField,
    tag: {
      type: 'string',
      maxLength: TAG_MAX,
      pattern: TAG_PATTERN,
      description: 'Unique, unchangeable, and not shaped like an id (`se` + 16 hex digits).',
    },
  },
} as const;

export const updateSecretBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: nameField,
    secret: secretField,
    tag: {
      type: 'string',
      maxLength: TAG_MAX,
      description: 'Tags cannot change: if sent, it must be the current tag.',
    },
  },
} as const;

export const tagOrIdParams = {
  type: 'object',
  required: ['tagOrId'],
  properties: {
    tagOrId: {
      type: 'string',
      maxLength: 128,
      description: 'The secret’s id (`se…`) or tag; an id is tried first.',
    },
  },
} as const;

export const versionsSchema = pageOf('versions', {
  type: 'object',
  required: ['version', 'createdDate', 'createdBy'],
  properties: {
    version: { type: 'integer' },
    createdDate: { type: 'string', format: 'date-time' },
    createdBy: { type: ['string', 'null'], description: 'The cid of the key that wrote it.' },
    current: { type: 'boolean' },
  },
});

export const revealQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    version: {
      type: 'integer',
      minimum: 1,
      maximum: 2_147_483_647,
      description: 'Default: the current one.',
    },
  },
} as const;

export const revealedSchema = {
  type: 'object',
  required: ['id', 'tag', 'version', 'value'],
  properties: {
    id: { type: 'string' },
    tag: { type: 'string' },
    version: { type: 'integer' },
    value: { type: 'string' },
  },
} as const;

/** The most values one bulk reveal returns: more is a 400 asking to narrow, never a silent cut. */
export const BULK_REVEAL_MAX = 500;

export const bulkRevealBody = {
  type: 'object',
  additionalProperties: false,
  description:
    'Exactly one of `tags` (the secrets named) or `tagPrefix` (every secret whose tag starts with ' +
    'it that the key may reveal; `""`: all of them).',
  properties: {
    tags: {
      type: 'array',
      minItems: 1,
      maxItems: BULK_REVEAL_MAX,
      description: `1 to ${BULK_REVEAL_MAX} tags; each must name a secret the key may reveal (otherwise 404 naming it).`,
      items: { type: 'string', maxLength: TAG_MAX, pattern: TAG_PATTERN },
    },
    tagPrefix: {
      type: 'string',
      maxLength: TAG_MAX,
      pattern: '^[A-Za-z0-9_-]*$',
      description: `Case-sensitive. More than ${BULK_REVEAL_MAX} matching secrets is a 400: narrow the prefix.`,
    },
  },
} as const;

export const bulkRevealedSchema = {
  type: 'object',
  required: ['values'],
  properties: {
    values: { type: 'array', description: 'Ordered by tag; each secret once.', items: revealedSchema },
  },
} as const;

export const changesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    since: {
      type: 'string',
      maxLength: CURSOR_MAX,
      description: 'A `cursor` from an earlier answer. Without it: no changes, and the cursor to start from.',
    },
    waitSeconds: {
      type: 'integer',
      minimum: 0,
      maximum: FEED_WAIT_MAX_SECONDS,
      default: 0,
      description:
        'With `since` and nothing new after it: how long to wait for a change before answering with none (long poll).',
    },
  },
} as const;

export const changesSchema = {
  type: 'object',
  required: ['changes', 'cursor'],
  properties: {
    changes: {
      type: 'array',
      description: `Oldest first, at most ${FEED_PAGE_MAX}; only secrets the key may see; never values.`,
      items: {
        type: 'object',
        required: ['id', 'tag', 'version', 'action', 'valueChanged', 'changedDate'],
        properties: {
          id: { type: 'string' },
          tag: { type: 'string' },
          version: {
            type: 'integer',
            description: 'The current value version once the change was made (a delete: the last one).',
          },
          action: { type: 'string', enum: ['CREATE', 'UPDATE', 'DELETE'] },
          valueChanged: {
            type: 'boolean',
            description:
              'True when the change set a value (a create, or an update with one); false for a rename or a delete.',
          },
          changedDate: { type: 'string', format: 'date-time' },
        },
      },
    },
    cursor: { type: 'string', description: 'Opaque: send it as `since` to get what comes next.' },
  },
} as const;

export interface BulkRevealInput {
  tags?: string[];
  tagPrefix?: string;
}

export interface CreateSecretInput {
  name: string;
  secret: string;
  tag: string;
}

export interface UpdateSecretInput {
  name?: string;
  secret?: string;
  tag?: string;
}
