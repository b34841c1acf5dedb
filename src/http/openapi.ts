import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { MAX_JSON_DEPTH } from './json-depth.js';
import { origin } from './schemas.js';

export const API_VERSION = '0.1.0';

const DESCRIPTION = `Tessera serves the Cortex REST API for API keys and secrets, wire-compatible, and extends it.

Operations marked \`x-cortex-compatible\` behave as Cortex's documented calls do (Cortex's own
clients work unchanged); those marked \`x-tessera-extension\` are Tessera's own.

Every call under \`/api/v1\` needs \`Authorization: Bearer <token>\` (a \`tsk_\` token issued by
\`POST /api/v1/auth/key\`). Errors are \`application/problem+json\` (RFC 9457, with Cortex's field names
alongside). Lists take \`page\` (0-indexed) and \`pageSize\` (1 to 1000, default 250).

Request bodies are JSON of at most 2 MB (413 beyond). A body that is not valid UTF-8, that nests
arrays and objects more than ${MAX_JSON_DEPTH} levels deep, or in which any string holds an unpaired surrogate
(a \`\\ud800\` to \`\\udfff\` escape without its other half) is refused with 400 before it reaches
the operation.`;

/** The reference page's top-bar logo: the product's name, white on the bar's dark ground. */
const WORDMARK =
  '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">' +
  '<text x="0" y="29" font-family="sans-serif" font-size="26" font-weight="600" fill="#fff">Tessera</text></svg>';

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
          name: 'IP allowlist',
          description:
            'Cortex-compatible IP allowlist: while it is not empty, only the addresses and ranges on it may call.',
        },
        {
          name: 'Roles',
          description:
            'Tessera: custom roles, optionally limited to secrets by tag pattern, held by keys as `{"type":"CUSTOM","tag":"…"}`.',
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
    // The page's policy is Tessera's own (DOCS_CSP in response-headers.ts, with every other
    // security header), not the plugin's, which allows styles and fonts from anywhere.
    staticCSP: false,
    // The plugin's default logo is its framework's: the top bar names the product instead.
    logo: { type: 'image/svg+xml', content: Buffer.from(WORDMARK) },
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
