import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { origin } from './schemas.js';

export const API_VERSION = '0.1.0';

const DESCRIPTION = `Tessera serves the Cortex REST API for API keys and secrets, wire-compatible, and extends it.

Operations marked \`x-cortex-compatible\` behave as Cortex's documented calls do (Cortex's own
clients work unchanged); those marked \`x-tessera-extension\` are Tessera's own.

Every call under \`/api/v1\` needs \`Authorization: Bearer <token>\` (a \`tsk_\` token issued by
\`POST /api/v1/auth/key\`). Errors are \`application/problem+json\` (RFC 9457, with Cortex's field names
alongside). Lists take \`page\` (0-indexed) and \`pageSize\` (1 to 1000, default 250).`;

/**
 * The OpenAPI 3.1 document is generated from the route schemas (the same schemas that validate
 * requests and serialise responses), so it cannot drift from the code.
 */
export async function registerOpenApi(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tessera API',
        version: API_VERSION,
        description: DESCRIPTION,
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'A `tsk_` API key.',
          },
        },
      },
      tags: [
        { name: 'API keys', description: 'Cortex-compatible API-key management, and `GET /api/v1/me`.' },
        {
          name: 'Secrets',
          description: 'Cortex-compatible write-only secrets, plus value versions and reveal (Tessera).',
        },
        {
          name: 'Audit logs',
          description: 'Cortex-compatible audit log: every change and denial, tamper-evident.',
        },
        {
          name: 'Operations',
          description: 'Tessera: health, readiness and this document.',
        },
      ],
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: {
      docExpansion: 'list',
      deepLinking: true,
      tryItOutEnabled: false,
    },
    staticCSP: true,
    // The plugin's policy ends with upgrade-insecure-requests, which makes browsers fetch the
    // page's own scripts over HTTPS: over plain HTTP (a private network, a first look) the page
    // would load blank. TLS is the deployer's choice (docs/deploy.md), not the page's.
    transformStaticCSP: (policy: string) => policy.replace(/\s*upgrade-insecure-requests;?/, ''),
    theme: { title: 'Tessera API reference' },
  });

  app.get(
    '/api/v1/openapi.json',
    {
      schema: {
        ...origin('tessera'),
        tags: ['Operations'],
        summary: 'This OpenAPI document',
        hide: false,
      },
    },
    async () => app.swagger(),
  );
}
