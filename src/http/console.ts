import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { AppError } from './errors.js';

/** Where `npm run build` puts the console: dist/console next to the package (from src/ or dist/). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../dist/console', import.meta.url));

/** The console's path. Not under /api/v1: it is pages, not API (the IP allowlist gates it all the same). */
export const CONSOLE_PREFIX = '/console/';

/**
 * Vite names every asset it builds under assets/ by its content hash: a changed file is a new
 * URL, so such an asset may be cached for a year and never revalidated. Anything else (the page,
 * which names the current assets) is revalidated every time.
 */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/**
 * The web console: the built files under `dir` at /console/, and `/` redirecting there. Its
 * routes are ordinary public routes: the IP allowlist and the per-client rate limit apply to them
 * as to /docs, so an address the allowlist refuses cannot even load the page. A `dir` without a
 * build (running from source before `npm run build`) answers 503 saying so, instead of failing to
 * start.
 */
export async function registerConsole(app: FastifyInstance, dir: string): Promise<void> {
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect(CONSOLE_PREFIX, 302));
  if (!existsSync(join(dir, 'index.html'))) {
    const notBuilt = () => {
      throw new AppError(
        'SERVICE_UNAVAILABLE',
        'Console not built',
        'The web console has not been built: run `npm run build`, then restart the server',
      );
    };
    app.get('/console', { schema: { hide: true } }, notBuilt);
    app.get('/console/*', { schema: { hide: true } }, notBuilt);
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: CONSOLE_PREFIX,
    index: false,
    schemaHide: true,
    // reply.sendFile, for the page itself below.
    decorateReply: true,
    dotfiles: 'deny',
    // Set here, per file, instead of the library's max-age for everything.
    cacheControl: false,
    setHeaders: (reply, path) => {
      const hashed = path.startsWith(join(dir, 'assets'));
      reply.header('cache-control', hashed ? IMMUTABLE : REVALIDATE);
    },
  });
  // The router ignores trailing slashes, so this route is both `/console` and `/console/` (which
  // the wildcard above does not match); the page's asset URLs are absolute, so either loads it.
  app.get('/console', { schema: { hide: true } }, (_request, reply) => reply.sendFile('index.html'));
}
