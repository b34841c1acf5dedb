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
  403: problem(
    "The key lacks the permission this call needs, or the IP allowlist or the key's `allowedIps` refuses the caller's address.",
  ),
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
 * Characters no name or description may hold, as the body of a character class. Each one, printed
 * raw by a terminal or a log viewer, does something other than show itself: C0 controls (ESC
 * starts ANSI and OSC sequences that recolour, retitle or rewrite the screen; CR returns to the
 * start of the line to overwrite it), DEL, C1 controls (U+0080 to U+009F, among them CSI and OSC
 * in their 8-bit form), and the bidirectional controls that make text read otherwise than it is
 * stored (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069). NUL is a C0 control, which
 * PostgreSQL also refuses in text. Lone surrogates never get this far: the body parser refuses
 * them in every string.
 */
const BEYOND_C0 = '\\u007F-\\u009F\\u061C\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069';
const CONTROLS = `\\u0000-\\u001F${BEYOND_C0}`;
/** What trimming removes around a name that is also a control: tab, LF, VT, FF, CR (and space). */
const TRIMMED = '\\t-\\r ';

/**
 * A name: one line without controls. Tabs and line breaks around it are allowed because the name
 * is stored trimmed, so they never reach storage. Written so that no two parts can match the same
 * character where they meet (the core begins and ends with neither a space nor a control), so a
 * match or a failure takes one pass, whatever the input (no catastrophic backtracking).
 */
export const NAME_TEXT_PATTERN = `^[${TRIMMED}]*(?:[^${CONTROLS} ](?:[^${CONTROLS}]*[^${CONTROLS} ])?[${TRIMMED}]*)?$`;
/** A description (it may span lines): tab (U+0009) and newline (U+000A) are its only controls. */
export const DESCRIPTION_TEXT_PATTERN = `^[^\\u0000-\\u0008\\u000B-\\u001F${BEYOND_C0}]*$`;

/** What a violation of each text pattern says (error-handler.ts), by the pattern. */
export const TEXT_PATTERN_RULES: Readonly<Record<string, string>> = {
  [NAME_TEXT_PATTERN]:
    'must not contain control characters (tabs and line breaks only around it) or bidirectional controls',
  [DESCRIPTION_TEXT_PATTERN]:
    'must not contain control characters other than tab and newline, or bidirectional controls',
};
