import { type DomainError, InvalidInputError } from '../domain/errors.js';
import { AppError, type ErrorType } from './errors.js';

const ERROR_TYPE_OF: Record<DomainError['kind'], ErrorType> = {
  'not-found': 'NOT_FOUND',
  conflict: 'CONFLICT',
  forbidden: 'FORBIDDEN',
  'invalid-input': 'BAD_REQUEST',
  unavailable: 'SERVICE_UNAVAILABLE',
};

/**
 * The one place a domain error becomes an HTTP answer: its status and problem type. The message,
 * detail and violations are the domain error's own, so the caller reads what the rule said.
 */
export function appErrorOf(error: DomainError): AppError {
  const extra = error instanceof InvalidInputError ? { violations: error.violations } : {};
  return new AppError(ERROR_TYPE_OF[error.kind], error.message, error.detail, extra, error.cause);
}
