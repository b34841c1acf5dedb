import type { FastifyInstance } from 'fastify';

/** Every response outside /docs: nothing may be cached, sniffed, framed, or run as a page. */
export const API_HEADERS = {
  'x-content-type-options': 'nosniff',
  // Keys, secrets, who may do what, and errors about them: none of it may sit in a cache.
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const;
/** The /docs page and its assets: its own plugin sets the CSP its scripts need; assets may be cached. */
const DOCS_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** Sets the request id and the security headers on every response, errors included. */
export function registerResponseHeaders(server: FastifyInstance): void {
  server.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    // By the matched route, not the raw URL: `/docs…` that matches nothing is an ordinary 404.
    reply.headers(request.routeOptions.url?.startsWith('/docs') === true ? DOCS_HEADERS : API_HEADERS);
    done(null, payload);
  });
}
