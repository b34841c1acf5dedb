/**
 * What services and features refuse, in their own terms: a thing that is not there, a change that
 * clashes with stored state, an act the caller may not do, input that breaks a rule, a dependency
 * that cannot be reached. The edge alone turns them into HTTP answers (src/http/domain-errors.ts).
 * Messages quote what the caller sent, never a token, secret value or internal detail.
 */
export abstract class DomainError extends Error {
  /** Which refusal this is: what the edge maps to a status. */
  abstract readonly kind: 'not-found' | 'conflict' | 'forbidden' | 'invalid-input' | 'unavailable';
  constructor(
    /** Short and generic: "Secret not found". */
    message: string,
    /** Specific: "No secret with tag or id 'db'". Defaults to the message. */
    readonly detail: string = message,
    /** The underlying failure, for the log only: never shown to the caller. */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** What was asked for does not exist (or no longer does). */
export class NotFoundError extends DomainError {
  override name = 'NotFoundError';
  readonly kind = 'not-found';
}

/** The change clashes with what is stored: a duplicate, or a rule over other rows. */
export class ConflictError extends DomainError {
  override name = 'ConflictError';
  readonly kind = 'conflict';
}

/** The caller is known but may not do this. */
export class ForbiddenError extends DomainError {
  override name = 'ForbiddenError';
  readonly kind = 'forbidden';
  constructor(detail: string) {
    super('Access denied', detail);
  }
}

/** One broken rule of the input: where (a JSON pointer into the request) and what. */
export interface Violation {
  title: string;
  description: string;
  pointer: string;
  paths: string[];
  violationType: 'MUST';
}

export function violation(pointer: string, description: string, title = 'Invalid value'): Violation {
  return {
    title,
    description,
    pointer,
    paths: [pointer],
    violationType: 'MUST',
  };
}

/** The input breaks rules: every violation found, at once. */
export class InvalidInputError extends DomainError {
  override name = 'InvalidInputError';
  readonly kind = 'invalid-input';
  constructor(
    detail: string,
    readonly violations: readonly Violation[] = [],
  ) {
    super('Invalid request', detail);
  }
}

/** Throws one InvalidInputError carrying every violation found, when there are any. */
export function throwIfViolations(violations: readonly Violation[]): void {
  if (violations.length > 0) {
    throw new InvalidInputError(violations.map((v) => v.description).join('; '), violations);
  }
}

/** Something the work depends on cannot be reached; nothing was changed, and a retry may succeed. */
export class UnavailableError extends DomainError {
  override name = 'UnavailableError';
  readonly kind = 'unavailable';
}
