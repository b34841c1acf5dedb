import type { FastifyRequest } from 'fastify';
import { requestInfoOf } from '../../http/access.js';
import type { AppError } from '../../http/errors.js';
import type { AuditLog } from './audit.log.js';
import type { AuditAction, ObjectType } from './audit.table.js';

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

/**
 * Records a 401 or 403: who (the key, or anonymous), what they tried (method → action, the
 * route's object type, the object named in the path) and why (the error's type and safe detail).
 * The request body is never read: a denied call may not even have been parsed. The path is the
 * caller's input and may hold anything (a token or a value pasted by mistake), so its identifier
 * is recorded only as `resolve` vouches for it.
 */
export async function recordDenial(
  audit: AuditLog,
  request: FastifyRequest,
  error: AppError,
  resolve: ObjectResolver,
) {
  const info = requestInfoOf(request);
  const params = (request.params ?? {}) as Record<string, unknown>;
  const identifier = Object.values(params).find((v): v is string => typeof v === 'string');
  const objectType: ObjectType = request.routeOptions.config.objectType ?? 'API_KEY';
  const objectId =
    identifier === undefined ? undefined : await resolve(objectType, identifier).catch(() => undefined);
  await audit.run((_trx, record) =>
    record({
      actor: {
        type: request.principal === undefined ? 'ANONYMOUS' : 'API_KEY',
        id: request.principal?.cid ?? null,
        ...info,
      },
      action: ACTION_OF_METHOD[request.method] ?? 'READ',
      objectType,
      objectId: objectId ?? null,
      outcome: 'DENIED',
      detail: `${error.type}: ${error.detail}`,
    }),
  );
}
