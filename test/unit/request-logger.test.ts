/**
 * The per-request logger: the lines it writes are the ones a pino child would write, byte for
 * byte, and it makes no child while nothing is written.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { type ParentLogger, RequestLogger } from '../../src/http/request-logger.js';
import { REDACTED_PATHS } from '../../src/log.js';

const BINDINGS = { requestId: 'req-0001' };

/** A real pino logger as the server configures it, with its lines and the children it made. */
function parentLogger(level = 'info') {
  const lines: string[] = [];
  const logger = pino(
    {
      level,
      timestamp: false,
      base: { pid: 1 },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { req: (req: { method: string }) => ({ method: req.method }) },
    },
    { write: (line: string) => lines.push(line) },
  );
  let children = 0;
  const parent = new Proxy(logger, {
    get(target, property, receiver) {
      if (property !== 'child') return Reflect.get(target, property, receiver);
      return (...args: Parameters<typeof logger.child>) => {
        children++;
        return target.child(...args);
      };
    },
  }) as unknown as ParentLogger;
  return { parent, lines, children: () => children };
}

/** Writes the same calls through a RequestLogger and through a real child; returns both outputs. */
function bothWays(write: (log: FastifyBaseLogger) => void, level = 'info') {
  const lazy = parentLogger(level);
  write(new RequestLogger(lazy.parent, BINDINGS, {}));
  const eager = parentLogger(level);
  write(eager.parent.child(BINDINGS, {}));
  return { lazy: lazy.lines, eager: eager.lines, childrenMade: lazy.children() };
}

test('an object line is the child line, byte for byte, and makes no child', () => {
  const { lazy, eager, childrenMade } = bothWays((log) => {
    log.info({ req: { method: 'GET', url: '/x' }, res: { statusCode: 200 }, responseTime: 1.5 }, 'done');
    log.warn({ code: 'X' }, 'client error %s', 'formatted');
  });
  assert.equal(lazy.length, 2);
  assert.deepEqual(lazy, eager);
  assert.match(lazy[0] ?? '', /^\{"level":30,"pid":1,"requestId":"req-0001","req":\{"method":"GET"\}/);
  assert.equal(childrenMade, 0);
});

test('messages alone, errors and child loggers go through one real child, with the same lines', () => {
  const { lazy, eager, childrenMade } = bothWays((log) => {
    log.error(new Error('boom'), 'failed');
    log.info('plain message');
    log.warn({ later: true }, 'after the child exists');
    log.child({ part: 'sub' }).info({ nested: 1 }, 'from a child');
  });
  assert.equal(lazy.length, 4);
  // The error's stack names the line that made it: compare everything else.
  const withoutStack = (line: string) => line.replace(/"stack":"[^"]*"/, '"stack":""');
  assert.deepEqual(lazy.map(withoutStack), eager.map(withoutStack));
  assert.ok(lazy.every((line) => line.includes('"requestId":"req-0001"')));
  assert.equal(childrenMade, 1);
});

test('a level that is off writes nothing and makes no child', () => {
  const { lazy, eager, childrenMade } = bothWays((log) => {
    log.info({ req: { method: 'GET' } }, 'request completed');
    log.debug('detail');
    log.warn({ code: 'SLOW' }, 'shown');
  }, 'warn');
  assert.deepEqual(lazy, eager);
  assert.equal(lazy.length, 1);
  assert.equal(childrenMade, 0);
});

test('redaction covers lines written through the parent', () => {
  const { lazy } = bothWays((log) => log.info({ token: 'tsk_abc', nested: { value: 'v' } }, 'oops'));
  assert.equal(lazy.length, 1);
  assert.ok(!lazy[0]?.includes('tsk_abc'), lazy[0]);
  assert.ok(!lazy[0]?.includes('"v"'), lazy[0]);
});

test("a route's own log level is honoured", () => {
  const { parent, lines } = parentLogger('info');
  const log = new RequestLogger(parent, BINDINGS, { level: 'debug' });
  assert.equal(log.level, 'debug');
  log.debug({ step: 1 }, 'route debug');
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /"requestId":"req-0001".*"step":1/);
});

test('the level reads as the parent until changed, then as set', () => {
  const { parent, lines } = parentLogger('info');
  const log = new RequestLogger(parent, BINDINGS, {});
  assert.equal(log.level, 'info');
  log.level = 'error';
  assert.equal(log.level, 'error');
  log.warn({ dropped: true }, 'not written');
  assert.equal(lines.length, 0);
  assert.equal(parent.level, 'info', 'the parent keeps its level');
});
