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
 * Records a 401 or 403: who (the key, or anonymous), what they tried (method → action, the
 * route's object type, the path's identifier) and why (the error's type and safe detail). The
 * request body is never read: a denied call may not even have been parsed.
 */
export async function recordDenial(audit: AuditLog, request: FastifyRequest, error: AppError) {
  const info = requestInfoOf(request);
  const params = (request.params ?? {}) as Record<string, unknown>;
  const identifier = Object.values(params).find((v): v is string => typeof v === 'string');
  const objectType: ObjectType = request.routeOptions.config.objectType ?? 'API_KEY';
  await audit.run((_trx, record) =>
    record({
      actor: {
        type: request.principal === undefined ? 'ANONYMOUS' : 'API_KEY',
        id: request.principal?.cid ?? null,
        ...info,
      },
      action: ACTION_OF_METHOD[request.method] ?? 'READ',
      objectType,
      objectId: identifier ?? null,
      outcome: 'DENIED',
      detail: `${error.type}: ${error.detail}`,
    }),
  );
}
