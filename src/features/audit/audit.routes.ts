import type { FastifyInstance } from 'fastify';
import { sendPage } from '../../http/pagination.js';
import { commonErrors, origin } from '../../http/schemas.js';
import { type AuditQuery, auditLogListSchema, auditQuery } from './audit.schemas.js';
import type { AuditService } from './audit.service.js';

/** Cortex's `GET /api/v1/audit-logs`: newest first, Cortex's filter names. */
export async function auditRoutes(app: FastifyInstance, { service }: { service: AuditService }) {
  app.get<{ Querystring: AuditQuery }>(
    '/api/v1/audit-logs',
    {
      config: { permission: 'VIEW_AUDIT_LOGS', objectType: 'AUDIT_LOG' },
      schema: {
        ...origin('cortex'),
        tags: ['Audit logs'],
        security: [{ bearerAuth: [] }],
        summary: 'List audit log events',
        description:
          'Every change and every denied call, newest first; 401s are recorded in aggregate (a ' +
          "client's first in a minute, then one event with the count of the rest). Comma-joined values of one filter OR " +
          'together; different filters AND together. Unknown filter values are 400. Needs VIEW_AUDIT_LOGS.',
        querystring: auditQuery,
        response: { 200: auditLogListSchema, ...commonErrors },
      },
    },
    async (request, reply) => sendPage(reply, 'logs', await service.list(request.query)),
  );
}
