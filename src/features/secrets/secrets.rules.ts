/**
 * What a secret's input must satisfy beyond its schema: a value's size in bytes (the schema counts
 * characters), a name's length after trimming, a tag that can never be taken for an id. Each check
 * reports every violation at once.
 */

import { looksLikeId } from '../../crypto/ids.js';
import { trimmedName } from '../../domain/display-name.js';
import { InvalidInputError, throwIfViolations, type Violation, violation } from '../../domain/errors.js';
import {
  type BulkRevealInput,
  type CreateSecretInput,
  SECRET_MAX_BYTES,
  SECRET_NAME_MAX,
  type UpdateSecretInput,
} from './secrets.schemas.js';

function checkValue(value: string, violations: Violation[]) {
  if (Buffer.byteLength(value, 'utf8') > SECRET_MAX_BYTES) {
    violations.push(violation('/body/secret', `'secret' must be at most ${SECRET_MAX_BYTES} bytes of UTF-8`));
  }
}

/**
 * Tags no secret may take: `GET /api/v1/secrets/changes` (the change feed) is a route of its own,
 * which wins over `GET /api/v1/secrets/{tagOrId}`, so a secret tagged `changes` could not be read
 * by its tag; `values` is kept beside it for the bulk reveal. Case-sensitive, as routes are. A
 * secret that took one of them before it was reserved stays reachable by its id.
 */
export const RESERVED_TAGS: readonly string[] = ['changes', 'values'];

/** A new secret's input, checked: its name as stored. */
export function checkCreate(input: CreateSecretInput): { name: string } {
  const violations: Violation[] = [];
  const name = trimmedName(input.name, SECRET_NAME_MAX, violations);
  checkValue(input.secret, violations);
  // A path names an id first, then a tag (see secret-lookup.ts): a tag shaped like an id could never be reached.
  if (looksLikeId('se', input.tag)) {
    violations.push(violation('/body/tag', "'tag' may not look like a secret id (se + 16 hex digits)"));
  }
  if (RESERVED_TAGS.includes(input.tag)) {
    violations.push(
      violation('/body/tag', `'tag' may not be '${input.tag}': the name is reserved for a route of the API`),
    );
  }
  throwIfViolations(violations);
  return { name };
}

/** A bulk reveal names its secrets one way: by their tags, or by a prefix of them. */
export function checkBulkReveal(
  input: BulkRevealInput,
): { tags: readonly string[]; tagPrefix?: undefined } | { tags?: undefined; tagPrefix: string } {
  const { tags, tagPrefix } = input;
  if (tags !== undefined && tagPrefix === undefined) return { tags: [...new Set(tags)] };
  if (tags === undefined && tagPrefix !== undefined) return { tagPrefix };
  throw new InvalidInputError("Send exactly one of 'tags' and 'tagPrefix'", [
    violation('/body', "Send exactly one of 'tags' and 'tagPrefix'", 'Missing field'),
  ]);
}

/** A change's input, checked: the new name as stored, if it brings one. */
export function checkUpdate(input: UpdateSecretInput): { name: string | undefined } {
  const violations: Violation[] = [];
  if (input.name === undefined && input.secret === undefined) {
    violations.push(violation('/body', "Send 'name', 'secret' or both", 'Missing field'));
  }
  const name = input.name === undefined ? undefined : trimmedName(input.name, SECRET_NAME_MAX, violations);
  if (input.secret !== undefined) checkValue(input.secret, violations);
  throwIfViolations(violations);
  return { name };
}

/** A change may repeat the tag, never alter it. */
export function requireSameTag(current: string, sent: string | undefined): void {
  if (sent !== undefined && sent !== current) {
    throw new InvalidInputError('Tags cannot change', [
      violation('/body/tag', `'tag' cannot change (it is '${current}')`),
    ]);
  }
}
