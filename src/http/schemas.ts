import { ERROR_STATUS } from './errors.js';

/** SPEC §3's problem+json body, used for every error response in the OpenAPI document. */
export const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details, with Cortex’s own field names alongside.',
  required: [
    'type',
    'title',
    'status',
    'detail',
    'instance',
    'message',
    'details',
    'httpStatus',
    'requestId',
  ],
  properties: {
    type: { type: 'string', enum: Object.keys(ERROR_STATUS) },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    message: { type: 'string' },
    details: { type: 'string' },
    httpStatus: { type: 'integer' },
    requestId: { type: 'string' },
    retryAfter: { type: 'integer', description: 'Seconds to wait (429 only).' },
    violations: {
      type: 'array',
      description: 'One entry per invalid field (400 only).',
      items: {
        type: 'object',
        required: ['title', 'description', 'pointer', 'paths', 'violationType'],
        properties: {
          title: { type: 'string' },
          description: { type: 'string' },
          pointer: { type: 'string', examples: ['/body/name'] },
          paths: { type: 'array', items: { type: 'string' } },
          violationType: { type: 'string', enum: ['MUST'] },
        },
      },
    },
  },
} as const;

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problemSchema } },
});

/** Error responses every API route can give; routes add their own (404, 409, ...). */
export const commonErrors = {
  400: problem('Invalid input: see `violations`.'),
  401: problem('Missing, malformed, unknown, expired or deleted token.'),
  403: problem('The key lacks the permission this call needs.'),
  429: problem('Rate limited: retry after `Retry-After` seconds.'),
  500: problem('Unexpected error; the body never carries internals.'),
  503: problem('Storage unavailable.'),
} as const;

export const notFoundError = { 404: problem('No such resource.') } as const;
export const conflictError = {
  409: problem('Conflicts with stored state.'),
} as const;

/** Marks an operation in the OpenAPI document as Cortex-compatible or as Tessera's own. */
export function origin(kind: 'cortex' | 'tessera') {
  return kind === 'cortex' ? { 'x-cortex-compatible': true } : { 'x-tessera-extension': true };
}

/**
 * Text stored as text (names, descriptions): no NUL, which PostgreSQL refuses in text, and no
 * lone surrogate half, which the databases store as U+FFFD (so the stored name would differ from
 * the one acknowledged). Ajv matches patterns per code point, so a proper pair (an emoji) passes.
 */
export const STORABLE_TEXT_PATTERN = '^[^\\u0000\\uD800-\\uDFFF]*$';
