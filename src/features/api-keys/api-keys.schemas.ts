import { SCOPED_PERMISSIONS, type ScopedPermission } from '../../domain/grants.js';
import { ADDRESS_RANGE_MAX_LENGTH } from '../../domain/ip-ranges.js';
import { PERMISSIONS } from '../../domain/permissions.js';
import { pageOf } from '../../http/pagination.js';
import { DESCRIPTION_TEXT_PATTERN, NAME_TEXT_PATTERN } from '../../http/schemas.js';
import { DEFAULT_ROLES } from '../roles/permissions.js';

export const NAME_MAX = 256;
export const DESCRIPTION_MAX = 4096;
const MAX_ROLES = 32;
/** At most this many addresses and ranges per key. */
export const MAX_ALLOWED_IPS = 100;
/** A key's own limit lies in the range TESSERA_RATE_LIMIT_PER_MINUTE takes. */
export const KEY_RATE_LIMIT_MAX = 1_000_000;
/** The longest grace a roll gives the replaced token: 30 days. */
export const ROLL_GRACE_MAX_SECONDS = 2_592_000;

export const roleSchema = {
  type: 'object',
  description:
    'A role reference: `{"type":"DEFAULT","role":"ADMIN"}` or `{"type":"CUSTOM","tag":"my-role"}`.',
  required: ['type'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: ['DEFAULT', 'CUSTOM'] },
    role: { type: 'string', enum: DEFAULT_ROLES },
    tag: { type: 'string', minLength: 1, maxLength: 100 },
  },
} as const;

export const apiKeySchema = {
  type: 'object',
  required: [
    'cid',
    'name',
    'description',
    'createdDate',
    'expirationDate',
    'last4',
    'roles',
    'allowedIps',
    'rateLimitPerMinute',
    'lastUsedDate',
  ],
  properties: {
    cid: {
      type: 'string',
      description: '`ak` and 16 hex digits.',
      examples: ['ak1234567890abcdef'],
    },
    name: { type: 'string' },
    description: { type: ['string', 'null'] },
    createdDate: { type: 'string', format: 'date-time' },
    expirationDate: { type: ['string', 'null'], format: 'date-time' },
    last4: { type: 'string', description: "The token's last four characters." },
    roles: { type: 'array', items: roleSchema },
    allowedIps: {
      type: ['array', 'null'],
      items: { type: 'string' },
      description: 'Tessera extension. The addresses and CIDR ranges this key may call from; null: anywhere.',
    },
    rateLimitPerMinute: {
      type: ['integer', 'null'],
      description: "Tessera extension. This key's own requests per minute; null: the server's default.",
    },
    lastUsedDate: {
      type: ['string', 'null'],
      format: 'date-time',
      description:
        'Tessera extension. When a request last authenticated with this key, to within about a minute ' +
        '(uses are recorded in batches); null: never used.',
    },
  },
} as const;

export const createdApiKeySchema = {
  ...apiKeySchema,
  description: 'The new key. `apiKey` is the token: shown here once, never again.',
  required: [...apiKeySchema.required, 'apiKey'],
  properties: { apiKey: { type: 'string' }, ...apiKeySchema.properties },
} as const;

export const apiKeyListSchema = pageOf('apiKeys', apiKeySchema);

export const meSchema = {
  type: 'object',
  required: [...apiKeySchema.required, 'permissions', 'secretScopes'],
  properties: {
    ...apiKeySchema.properties,
    permissions: {
      type: 'array',
      items: { type: 'string', enum: PERMISSIONS },
      description: 'Effective permissions: the union over the roles.',
    },
    secretScopes: {
      type: 'object',
      description:
        'The secret permissions this key holds on some secrets only (through custom roles with `secretTags`), each with the tag patterns it reaches. A permission held but absent here reaches every secret.',
      additionalProperties: false,
      properties: Object.fromEntries(
        SCOPED_PERMISSIONS.map((permission) => [permission, { type: 'array', items: { type: 'string' } }]),
      ) as Record<ScopedPermission, { type: 'array'; items: { type: 'string' } }>,
    },
  },
} as const;

// Names are checked for length after trimming in the service; the schema bound keeps input small.
const nameField = {
  type: 'string',
  minLength: 1,
  maxLength: NAME_MAX * 4,
  pattern: NAME_TEXT_PATTERN,
} as const;
const descriptionField = {
  type: ['string', 'null'],
  description:
    'Up to 4096 characters. Tab and newline are its only control characters; no bidirectional controls.',
  maxLength: DESCRIPTION_MAX,
  pattern: DESCRIPTION_TEXT_PATTERN,
} as const;

const allowedIpsField = {
  type: ['array', 'null'],
  minItems: 1,
  maxItems: MAX_ALLOWED_IPS,
  items: { type: 'string', minLength: 1, maxLength: ADDRESS_RANGE_MAX_LENGTH },
  description:
    'Tessera extension. IPv4 or IPv6 addresses and CIDR ranges (`192.0.2.7`, `10.0.0.0/8`, ' +
    '`2001:db8::/32`), at most 100: calls with this key from anywhere else are refused (403). ' +
    'null: from anywhere.',
} as const;
const rateLimitField = {
  type: ['integer', 'null'],
  minimum: 1,
  maximum: KEY_RATE_LIMIT_MAX,
  description:
    "Tessera extension. This key's own requests per minute, instead of the server's default; null: the default.",
} as const;

export const createApiKeyBody = {
  type: 'object',
  required: ['name', 'roles'],
  additionalProperties: false,
  properties: {
    name: {
      ...nameField,
      description:
        'Name of the API key (1 to 256 characters, trimmed). No control or bidirectional-control characters.',
    },
    description: descriptionField,
    expirationDate: {
      type: ['string', 'null'],
      maxLength: 64,
      description: 'ISO 8601; without a zone it is UTC. Must be in the future.',
    },
    roles: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_ROLES,
      items: roleSchema,
    },
    allowedIps: allowedIpsField,
    rateLimitPerMinute: rateLimitField,
  },
} as const;

export const updateApiKeyBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: nameField,
    description: {
      ...descriptionField,
      description: `${descriptionField.description} Omitted: unchanged. null: cleared.`,
    },
    allowedIps: {
      ...allowedIpsField,
      description: `${allowedIpsField.description} Omitted: unchanged.`,
    },
    rateLimitPerMinute: {
      ...rateLimitField,
      description: `${rateLimitField.description} Omitted: unchanged.`,
    },
  },
} as const;

export const rollApiKeyBody = {
  type: 'object',
  required: ['expireOldAfterSeconds'],
  additionalProperties: false,
  properties: {
    expireOldAfterSeconds: {
      type: 'integer',
      minimum: 0,
      maximum: ROLL_GRACE_MAX_SECONDS,
      description:
        'How long the replaced token keeps working, in seconds (at most 30 days, and never past the ' +
        "key's own expiry); 0: it is refused at once.",
    },
  },
} as const;

export const cidParams = {
  type: 'object',
  required: ['cid'],
  properties: {
    cid: {
      type: 'string',
      maxLength: 64,
      description: 'The key identifier (`ak` + 16 hex digits).',
    },
  },
} as const;

export interface CreateApiKeyInput {
  name: string;
  description?: string | null;
  expirationDate?: string | null;
  roles: { type: 'DEFAULT' | 'CUSTOM'; role?: string; tag?: string }[];
  allowedIps?: string[] | null;
  rateLimitPerMinute?: number | null;
}

export interface UpdateApiKeyInput {
  name: string;
  description?: string | null;
  allowedIps?: string[] | null;
  rateLimitPerMinute?: number | null;
}

export interface RollApiKeyInput {
  expireOldAfterSeconds: number;
}
