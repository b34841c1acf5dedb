import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Write = (...args: unknown[]) => void;

/** What the parent must offer: Fastify's logger with pino's level test. */
export type ParentLogger = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function hasAnyKey(object: object): boolean {
  for (const _ in object) return true;
  return false;
}

/**
 * The logger of one request (`request.log`), with the request id bound, that costs nothing until
 * a line is written. Fastify makes a pino child per request, and pino renders the child's bindings
 * through its redaction when it is made: about 3% of the CPU of a cached `GET`, for a logger
 * that, at `warn`, writes nothing on nearly every request.
 *
 * - A level that is off returns at once.
 * - A line whose first argument is a plain object goes to the parent with the bindings put first
 *   in it. pino writes a child's bindings right before the line's own fields, so the line is
 *   byte for byte the child's (a client error's line at `info`, for one; the request line has a
 *   logger of its own: see registerRequestLog).
 * - Anything else (a message alone, an error, a level change, a route with its own log level or
 *   serializers) makes the real child once and hands over to it.
 */
export class RequestLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;
  /** Options of the route's own (a level, serializers): the parent cannot stand in for its child. */
  private readonly ownOptions: boolean;

  constructor(
    private readonly parent: ParentLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {
    this.ownOptions = hasAnyKey(options);
  }

  private real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  private write(level: Level, args: unknown[]): void {
    if (this.made === undefined && !this.ownOptions) {
      if (!this.parent.isLevelEnabled(level)) return;
      const [first, ...rest] = args;
      if (isPlainObject(first)) {
        (this.parent[level] as Write)({ ...this.bindings, ...first }, ...rest);
        return;
      }
    }
    (this.real()[level] as Write)(...args);
  }

  get level(): LevelWithSilentOrString {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.real().level = level;
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`: a RequestLogger in place of a pino child per request. */
export function requestLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new RequestLogger(logger as ParentLogger, bindings, options);
}
