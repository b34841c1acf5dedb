import { type Violation, violation } from '../domain/errors.js';

/**
 * A body that is valid UTF-8 can still carry text that is not: JSON's `\ud800` escape writes half
 * of a surrogate pair, which no UTF-8 encodes. Stored, encrypted or rendered, such a string comes
 * back with U+FFFD in its place, so the value revealed would differ from the one acknowledged.
 * Every string of a parsed body (field names too) must therefore be well-formed, whatever route
 * it goes to; each that is not is a violation.
 *
 * Only an escape can write a lone surrogate into a UTF-8 body, so bodies without one escaping
 * U+D800 to U+DFFF (nearly all of them) are not walked at all.
 */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** At most this many violations in one answer: the body may hold a million such strings. */
const MAX_VIOLATIONS = 16;

/** A field name named in a pointer: short and plain, so the answer never echoes hostile text. */
const PLAIN_SEGMENT = /^[A-Za-z0-9_.-]{1,64}$/;

/** The violations for the lone surrogates in `value`, parsed from `text` (empty: none). */
export function unpairedSurrogates(text: string, value: unknown): Violation[] {
  if (!SURROGATE_ESCAPE.test(text)) return [];
  const found: Violation[] = [];
  visit(value, [], found);
  return found;
}

/** Depth-first; `path` is the current one, shared (pushed and popped) to allocate nothing per node. */
function visit(value: unknown, path: string[], found: Violation[]): void {
  if (found.length >= MAX_VIOLATIONS) return;
  if (typeof value === 'string') {
    if (!value.isWellFormed()) found.push(surrogateViolation(path, false));
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(String(i));
      visit(value[i], path, found);
      path.pop();
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) {
      if (!key.isWellFormed()) {
        if (found.length < MAX_VIOLATIONS) found.push(surrogateViolation(path, true));
        continue;
      }
      path.push(key);
      visit((value as Record<string, unknown>)[key], path, found);
      path.pop();
    }
  }
}

/**
 * Points at the string's field where its path can be named plainly (`/body/secret`,
 * `/body/roles/0/tag`), else at the nearest field that can (at worst `/body`).
 */
function surrogateViolation(path: readonly string[], inName: boolean): Violation {
  const plain: string[] = [];
  for (const segment of path) {
    if (!PLAIN_SEGMENT.test(segment)) break;
    plain.push(segment);
  }
  const field = plain.length === 0 ? 'body' : plain.join('.');
  const subject = inName
    ? `A field name in '${field}'`
    : plain.length === path.length
      ? `'${field}'`
      : `A string in '${field}'`;
  return violation(
    ['/body', ...plain].join('/'),
    `${subject} is not well-formed Unicode: it holds an unpaired surrogate (\\ud800 to \\udfff without its other half)`,
  );
}
