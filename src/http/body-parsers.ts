import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, badRequest } from './errors.js';
import { MAX_JSON_DEPTH, nestedDeeperThan } from './json-depth.js';
import { unpairedSurrogates } from './well-formed-text.js';

export const BODY_LIMIT_BYTES = 2 * 1024 * 1024;

/**
 * JSON is the only body we read. Real Cortex clients add two quirks we must tolerate:
 * `Content-Type: application/yaml` on requests without a body, and `{}` (or nothing) as the body
 * of a DELETE. So: an empty body of any declared type is "no body"; a non-empty body that is not
 * JSON is 415; malformed JSON is 400 with a message that never echoes the input.
 *
 * Every route gets the same guarantees about a JSON body here, before its schema sees it: the
 * bytes are well-formed UTF-8 (decoding would otherwise turn bad bytes into U+FFFD, and a secret
 * would be stored other than sent), it nests at most MAX_JSON_DEPTH levels (json-depth.ts), and
 * no string in it holds a lone surrogate (well-formed-text.ts).
 *
 * A request that matched no route is not parsed at all: whatever its body, the answer is the 404
 * (Fastify parses before it runs the not-found handler, which would turn it into a 400 or 415).
 */
declare module 'fastify' {
  interface FastifyContextConfig {
    /** Keep the JSON body's bytes as received in `request.rawBody` (a signature over them). */
    rawBody?: boolean;
  }
  interface FastifyRequest {
    /** The JSON body's bytes as received, for routes whose `config` asks with `rawBody: true`. */
    rawBody: Buffer | undefined;
  }
}

export function registerBodyParsers(app: FastifyInstance) {
  app.decorateRequest('rawBody', undefined);
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();

  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES },
    (request: FastifyRequest, bytes: Buffer, done: (err: Error | null, body?: unknown) => void) => {
      if (request.is404) return done(null, undefined);
      if (!isUtf8(bytes))
        return done(new AppError('BAD_REQUEST', 'Malformed JSON', 'The request body is not valid UTF-8'));
      if (nestedDeeperThan(bytes, MAX_JSON_DEPTH)) {
        return done(
          new AppError(
            'BAD_REQUEST',
            'Request body nested too deeply',
            `The request body is nested deeper than ${MAX_JSON_DEPTH} levels`,
          ),
        );
      }
      // A route that verifies a signature over the bytes as sent keeps them (token scanning).
      if (request.routeOptions.config.rawBody === true) request.rawBody = bytes;
      const text = bytes.toString('utf8');
      if (text.trim() === '') return done(null, undefined);
      parseJson(request, text, (error, parsed) => {
        if (error)
          return done(new AppError('BAD_REQUEST', 'Malformed JSON', 'The request body is not valid JSON'));
        const broken = unpairedSurrogates(text, parsed);
        if (broken.length > 0) return done(badRequest(broken.map((v) => v.description).join('; '), broken));
        done(null, parsed);
      });
    },
  );

  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (request, body, done) => {
    if (request.is404 || (body as Buffer).length === 0) return done(null, undefined);
    done(
      new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        'Unsupported content type',
        'Send request bodies as application/json',
      ),
    );
  });
}
