import type { FastifyInstance } from 'fastify';

/** Every response outside /docs and /console: nothing may be cached, sniffed, framed, or run as a page. */
export const API_HEADERS = {
  'x-content-type-options': 'nosniff',
  // Keys, secrets, who may do what, and errors about them: none of it may sit in a cache.
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const;
/**
 * The policy of the reference page `/docs` and its assets (Swagger UI, served by Tessera itself):
 * its scripts, styles and the document it fetches come from this origin, its icons are `data:`
 * images; no inline script, nothing from elsewhere (the UI's validator badge is off), no plugin,
 * no framing. No `upgrade-insecure-requests`: over plain HTTP (a private network, a first look)
 * it would make the browser fetch the page's own scripts over HTTPS, and the page would load blank.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self'",
].join('; ');

/** The /docs page and its assets: the policy above, no framing; assets may be cached. */
const DOCS_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': DOCS_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const;

/**
 * The policy of the web console at /console/ (built by Vite, served by Tessera): its script and
 * style files and the API it calls are this origin's, nothing inline, nothing framed, no plugin,
 * forms post nowhere else, and no `<base>` may redirect its relative URLs.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * The console's files: its policy, no framing. Their cache lifetime is set per file where they
 * are served (src/http/console.ts); anything else the console's routes answer (errors, redirects)
 * is not cached at all.
 */
const CONSOLE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': CONSOLE_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const;

/** Sets the request id and the security headers on every response, errors included. */
export function registerResponseHeaders(server: FastifyInstance): void {
  server.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    // By the matched route, not the raw URL: `/docs…` that matches nothing is an ordinary 404.
    const route = request.routeOptions.url;
    if (route?.startsWith('/docs') === true) reply.headers(DOCS_HEADERS);
    else if (route?.startsWith('/console') === true) {
      reply.headers(CONSOLE_HEADERS);
      const served = reply.statusCode === 200 || reply.statusCode === 304;
      if (!served || !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    } else reply.headers(API_HEADERS);
    done(null, payload);
  });
}
