import { pageOf, pageQueryProperties } from '../../http/pagination.js';
import { DESCRIPTION_TEXT_PATTERN } from '../../http/schemas.js';
import { MAX_IP_ALLOWLIST_ENTRIES } from './ip-allowlist.rules.js';

const DESCRIPTION_MAX = 4096;
/**
 * What the schema lets through as an address: more than any address or range can be, so that the
 * service, not the schema, names each entry that is not one (one violation per bad entry).
 */
const ADDRESS_INPUT_MAX = 256;

const address = {
  type: 'string',
  description:
    'An IPv4 or IPv6 address (`192.0.2.7`, `2001:db8::1`) or a CIDR range (`10.0.0.0/8`, `fd00::/8`).',
  examples: ['10.0.0.0/8'],
} as const;
const description = { type: ['string', 'null'] } as const;

export const ipAllowlistEntrySchema = {
  type: 'object',
  required: ['address', 'description'],
  properties: { address, description },
} as const;

export const ipAllowlistListSchema = pageOf('entries', ipAllowlistEntrySchema);

const entryInput = {
  type: 'object',
  required: ['address'],
  additionalProperties: false,
  properties: {
    address: { ...address, maxLength: ADDRESS_INPUT_MAX },
    description: {
      type: ['string', 'null'],
      description:
        'Up to 4096 characters. Tab and newline are its only control characters; no bidirectional controls. Omitted or null: none.',
      maxLength: DESCRIPTION_MAX,
      pattern: DESCRIPTION_TEXT_PATTERN,
    },
  },
} as const;

export const ipAllowlistBody = {
  type: 'object',
  required: ['entries'],
  additionalProperties: false,
  properties: {
    entries: {
      type: 'array',
      maxItems: MAX_IP_ALLOWLIST_ENTRIES,
      description: `At most ${MAX_IP_ALLOWLIST_ENTRIES} entries, kept in this order. Empty: every address is allowed.`,
      items: entryInput,
    },
  },
} as const;

export const replaceQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    force: {
      type: 'boolean',
      default: false,
      description:
        "When true, the list is saved even if it does not contain the caller's own address (which it would then refuse).",
    },
  },
} as const;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: pageQueryProperties,
} as const;

/** Cortex's ValidIpAllowlistEntry. */
const validEntrySchema = {
  type: 'object',
  title: 'ValidIpAllowlistEntry',
  required: ['address', 'description', 'valid'],
  properties: { address, description, valid: { type: 'boolean', const: true } },
} as const;

/** Cortex's InvalidIpAllowlistEntry. */
const invalidEntrySchema = {
  type: 'object',
  title: 'InvalidIpAllowlistEntry',
  required: ['address', 'description', 'message', 'valid'],
  properties: {
    address: { type: 'string' },
    description,
    message: { type: 'string', description: 'Why the address is not one.' },
    valid: { type: 'boolean', const: false },
  },
} as const;

export const validationSchema = {
  type: 'object',
  required: ['entries'],
  properties: {
    entries: {
      type: 'array',
      description: 'One result per entry sent, in the same order.',
      items: { oneOf: [validEntrySchema, invalidEntrySchema] },
    },
  },
} as const;

export interface IpAllowlistBody {
  entries: { address: string; description?: string | null }[];
}
