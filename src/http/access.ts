import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isWellFormedToken } from '../crypto/tokens.js';
import type { Principal, RequestInfo } from '../domain/caller.js';
import type { ObjectType } from '../domain/object-types.js';
import type { Permission } from '../domain/permissions.js';
import { andThen, type MaybePromise } from '../runtime/maybe-promise.js';
import type { AuthFailureBudget } from './auth-failures.js';
import { clientOf } from './client-address.js';
import { AppError } from './errors.js';
import type { RateDecision, RateLimiter } from './rate-limiter.js';

/**
 * Looks a well-formed token up: at once when the token cache holds it, later when storage must be
 * read. `expired` is kept apart so the 401 can say so.
 */
export type Authenticator<P extends Principal> = (
  token: string,
) => MaybePromise<P | 'expired' | 'replaced' | undefined>;

/**
 * Whether a client address may call at all: at once when the answer is in memory. Refusing is
 * answering false; throwing (or rejecting) means the answer cannot be known, and the request is
 * refused with that error.
 */
export type ClientGate = (ip: string) => MaybePromise<boolean>;

/**
 * How a route is reached, set in its `config`:
 * - `permission`: a bearer token is required and must grant this permission (a list: any one of them);
 * - `authenticated: true`: a bearer token is required, any permission;
 * - `unmetered: true`: no token, no rate limit and no IP allowlist (health probes);
 * - otherwise public, rate limited per client IP.
 */
export interface RouteAccess {
  permission?: Permission | readonly Permission[];
  /** What the route acts on, for audit records of denied calls. */
  objectType?: ObjectType;
  authenticated?: boolean;
  unmetered?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig extends RouteAccess {}
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

const BEARER = /^Bearer +(\S+) *$/i;

function unauthorized(detail: string) {
  return new AppError('UNAUTHORIZED', 'Unauthorized', detail);
}

function notAllowed(ip: string) {
  return new AppError(
    'FORBIDDEN',
    'Access denied',
    `Requests from ${ip} are not allowed by the IP allowlist`,
  );
}

function applyRateHeaders(reply: FastifyReply, decision: RateDecision) {
  reply.header('x-ratelimit-limit', decision.limit);
  reply.header('x-ratelimit-remaining', decision.remaining);
  reply.header('x-ratelimit-reset', decision.resetSeconds);
}

function meter(limiter: RateLimiter, key: string, reply: FastifyReply, limit?: number): MaybePromise<void> {
  return andThen(limiter.consume(key, limit), (decision) => {
    applyRateHeaders(reply, decision);
    if (!decision.allowed) {
      throw new AppError(
        'TOO_MANY_REQUESTS',
        'Rate limit exceeded',
        `Rate limit of ${decision.limit} requests per minute exceeded; retry in ${decision.resetSeconds} s`,
        { retryAfter: decision.resetSeconds },
      );
    }
  });
}

/**
 * The IP allowlist, authentication, rate limiting and the route's permission check, before the
 * body is read or validated: a caller without access learns nothing about the schema. The token
 * is looked up first: a valid one is metered on its own key's budget (its `rateLimitPerMinute`,
 * or the default) and nothing else, so no other client's failures can refuse it; a key
 * restricted to some addresses is refused (403) from any other, before its budget is touched.
 * Invalid tokens draw on the client IP's budget, and every presented credential that fails also
 * spends the client's much smaller failed-authentication budget; past it, failures are answered
 * 429 instead of 401 (see auth-failures.ts).
 *
 * Each step answers at once when it can (token cache, limits in memory) and only the steps that
 * wait (storage, Redis) cost a promise (see maybe-promise.ts); a refusal is a throw or a rejection,
 * and both end up in `done`.
 */
export function registerAccessControl<P extends Principal>(
  app: FastifyInstance,
  options: {
    limiter: RateLimiter;
    failures: AuthFailureBudget;
    authenticate: Authenticator<P>;
    /** Whether a client address may call at all (the IP allowlist); every address when unset. */
    admitsClient?: ClientGate;
  },
) {
  const { limiter, failures, authenticate, admitsClient } = options;
  app.decorateRequest('principal', undefined);

  /**
   * The client's address is judged first, before its token is looked at or its budget spent: a
   * refused address learns nothing else, whatever it holds, and costs no storage read.
   */
  function admit(request: FastifyRequest, reply: FastifyReply): MaybePromise<void> {
    const access = request.routeOptions.config as RouteAccess;
    if (access.unmetered === true) return;
    const admitted = admitsClient?.(request.ip) ?? true;
    // The common case, answered from memory, costs no closure.
    if (admitted === true) return authorize(request, reply, access);
    return andThen(admitted, (allowed) => {
      if (!allowed) throw notAllowed(request.ip);
      return authorize(request, reply, access);
    });
  }

  function authorize(request: FastifyRequest, reply: FastifyReply, access: RouteAccess): MaybePromise<void> {
    const protectedRoute = access.permission !== undefined || access.authenticated === true;
    if (!protectedRoute) return meter(limiter, `ip:${clientOf(request.ip)}`, reply);

    const header = request.headers.authorization;
    return andThen(identify(header, authenticate), (principal) => {
      if (typeof principal === 'string') {
        // No header is no attempt: it guesses nothing, so only the general IP budget applies.
        const attempt = header !== undefined && header !== '';
        // Checked and spent in one step, after the look-up: concurrent guesses cannot all pass
        // a check made before any of them was counted.
        const spent = attempt ? failures.spend(request.ip) : undefined;
        return andThen(spent, () =>
          andThen(meter(limiter, `ip:${clientOf(request.ip)}`, reply), () => {
            throw unauthorized(principal);
          }),
        );
      }
      if (principal.allowedFrom !== undefined && !principal.allowedFrom.matches(request.ip)) {
        // Refused before the key's budget is spent: a leaked token used elsewhere cannot exhaust
        // it. Such calls draw on the client's own budget instead, as invalid tokens do.
        return andThen(meter(limiter, `ip:${clientOf(request.ip)}`, reply), () => {
          request.principal = principal;
          throw new AppError('FORBIDDEN', 'Access denied', `This API key may not be used from ${request.ip}`);
        });
      }
      return andThen(meter(limiter, `key:${principal.cid}`, reply, principal.rateLimitPerMinute), () => {
        request.principal = principal;
        const needed = access.permission;
        if (needed !== undefined && !holdsAny(principal, needed)) {
          const named = typeof needed === 'string' ? needed : needed.join(' or ');
          throw new AppError('FORBIDDEN', 'Access denied', `This API key lacks the ${named} permission`);
        }
      });
    });
  }

  app.addHook('onRequest', (request, reply, done) => {
    let pending: MaybePromise<void>;
    try {
      pending = admit(request, reply);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (pending instanceof Promise) pending.then(() => done(), done);
    else done();
  });
}

function holdsAny(principal: Principal, needed: Permission | readonly Permission[]): boolean {
  if (typeof needed === 'string') return principal.permissions.has(needed);
  return needed.some((permission) => principal.permissions.has(permission));
}

/** The principal, or the reason (a sentence) it could not be found. */
function identify<P extends Principal>(
  header: string | undefined,
  authenticate: Authenticator<P>,
): MaybePromise<P | string> {
  if (header === undefined || header === '') return 'Missing bearer token in the Authorization header';
  const token = BEARER.exec(header)?.[1];
  if (token === undefined) return 'The Authorization header must be "Bearer <token>"';
  if (!isWellFormedToken(token)) return 'Malformed API key';
  return andThen(authenticate(token), (found) => {
    if (found === 'expired') return 'API key has expired';
    if (found === 'replaced')
      return 'This token was replaced when its key was rolled, and its grace period has ended';
    if (found === undefined) return 'Invalid API key';
    return found;
  });
}

/** The authenticated caller of a protected route (the access hook guarantees one). */
export function principalOf<P extends Principal = Principal>(request: FastifyRequest): P {
  if (request.principal === undefined) throw new Error('route is not protected');
  return request.principal as P;
}

/** The caller of a protected route with its request's origin: what services record as the actor. */
export function actorOf<P extends Principal = Principal>(request: FastifyRequest): P & RequestInfo {
  return { ...principalOf<P>(request), ...requestInfoOf(request) };
}

export function requestInfoOf(request: FastifyRequest): RequestInfo {
  const agent = request.headers['user-agent'];
  return { requestId: request.id, ip: request.ip, userAgent: typeof agent === 'string' ? agent : null };
}
