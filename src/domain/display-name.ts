import { type Violation, violation } from './errors.js';

/**
 * A display name (an API key's, a secret's) as stored: trimmed, then 1 to `max` characters. The
 * schema bounds the text as sent; only after trimming is its real length known. Characters are
 * code points, as the schema's maxLength counts them, not UTF-16 units: an emoji is one. A name out
 * of bounds adds its violation to `violations` (the caller reports them all at once).
 */
export function trimmedName(name: string, max: number, violations: Violation[]): string {
  const trimmed = name.trim();
  const length = [...trimmed].length;
  if (length === 0 || length > max) {
    violations.push(violation('/body/name', `'name' must be 1 to ${max} characters after trimming`));
  }
  return trimmed;
}
