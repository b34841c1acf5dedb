import type { FastifyRequest } from 'fastify';
import type { ObjectType } from '../../domain/object-types.js';
import { requestInfoOf } from '../../http/access.js';
import { clientOf } from '../../http/client-address.js';
import type { AppError } from '../../http/errors.js';
import type { DenialWindow } from './audit.denial-window.js';
import type { AuditInput, AuditLog } from './audit.log.js';
import type { AuditAction } from './audit.table.js';

const ACTION_OF_METHOD: Record<string, AuditAction> = {
  GET: 'READ',
  HEAD: 'READ',
  POST: 'CREATE',
  PUT: 'UPDATE',
  PATCH: 'UPDATE',
  DELETE: 'DELETE',
};

/**
 * What a path identifier is recorded as: the object it names by its canonical id (a secret by its
 * tag), or undefined when it cannot be trusted to be an identifier at all.
 */
export type ObjectResolver = (type: ObjectType, identifier: string) => Promise<string | undefined>;

export interface DenialLogOptions {
  audit: AuditLog;
  resolve: ObjectResolver;
  /** Where anonymous denials are counted (see audit.denial-window.ts). */
  window: DenialWindow;
}

/**
 * Records a 401 or 403: who (the key, or anonymous), what they tried (method → action, the
 * route's object type, the object named in the path) and why (the error's type and safe detail).
 * The request body is never read: a denied call may not even have been parsed. The path is the
 * caller's input and may hold anything (a token or a value pasted by mistake), so its identifier
 * is recorded only as `resolve` vouches for it.
 *
 * A denial by a valid key (403) is one event each. Anonymous ones (401) go through the denial
 * window: a client's first in a minute is one event, its further ones are written as a count.
 */
export function createDenialLog({ audit, resolve, window }: DenialLogOptions) {
  return async function recordDenial(request: FastifyRequest, error: AppError): Promise<void> {
    const info = requestInfoOf(request);
    const anonymous = request.principal === undefined;
    const event: AuditInput = {
      actor: { type: anonymous ? 'ANONYMOUS' : 'API_KEY', id: request.principal?.cid ?? null, ...info },
      action: ACTION_OF_METHOD[request.method] ?? 'READ',
      objectType: request.routeOptions.config.objectType ?? 'API_KEY',
      objectId: null,
      outcome: 'DENIED',
      detail: `${error.type}: ${error.detail}`,
    };
    if (anonymous && !window.admit(clientOf(request.ip), event)) return;
    const params = (request.params ?? {}) as Record<string, unknown>;
    const identifier = Object.values(params).find((v): v is string => typeof v === 'string');
    const objectId =
      identifier === undefined
        ? undefined
        : await resolve(event.objectType, identifier).catch(() => undefined);
    await audit.recordAlone([{ ...event, objectId: objectId ?? null }]);
  };
}
