/**
 * Node's HTTP server limits against slow and oversized clients (HttpLimits in src/http/limits.ts), over
 * raw TCP: headers dribbled in past the headers timeout, a body dribbled in past the request
 * timeout, a connection that says nothing, oversized headers. The timeouts are shortened here
 * (the production values are seconds); what is asserted is that the server cuts the client off,
 * with 408 or 431 where HTTP allows an answer, and that a cut-off request reached no handler.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { client } from '../helpers/http.js';
import { useTestServer } from '../helpers/server.js';

const HEADERS_TIMEOUT_MS = 300;
/** Well apart from the headers timeout, so each test can tell which of the two fired. */
const REQUEST_TIMEOUT_MS = 2_000;
/** Far longer than either timeout: a client still connected by then was not cut off. */
const GIVE_UP_MS = 5_000;

const suite = useTestServer({
  app: {
    httpLimits: {
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      timeoutCheckIntervalMs: 50,
    },
  },
});

interface RawConnection {
  socket: Socket;
  /** Everything the server sent, as text. */
  received(): string;
  /** Resolves once the server has closed the connection (or GIVE_UP_MS passed: `false`). */
  closed: Promise<boolean>;
}

async function open(): Promise<RawConnection> {
  const socket = connect({ host: '127.0.0.1', port: Number(new URL(suite.server.url).port) });
  await new Promise<void>((done, fail) => {
    socket.once('connect', done);
    socket.once('error', fail);
  });
  let text = '';
  socket.on('data', (chunk) => {
    text += chunk.toString('latin1');
  });
  const closed = new Promise<boolean>((done) => {
    const timer = setTimeout(() => done(false), GIVE_UP_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      done(true);
    });
  });
  // Writes after the server has hung up fail with EPIPE/ECONNRESET: that is the point.
  socket.on('error', () => {});
  return { socket, received: () => text, closed };
}

/** Writes `text` a few bytes at a time, `everyMs` apart, until done or the server hangs up. */
async function dribble(connection: RawConnection, text: string, everyMs: number, bytes = 1) {
  for (let at = 0; at < text.length && !connection.socket.destroyed; at += bytes) {
    connection.socket.write(text.slice(at, at + bytes));
    // A sleep: the client's slowness is the behaviour under test.
    await sleep(everyMs);
  }
}

function statusOf(response: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(response);
  return match === null ? undefined : Number(match[1]);
}

test('headers sent one byte every 200 ms are cut off at the headers timeout with 408', async () => {
  const connection = await open();
  const started = Date.now();
  const request = `GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${suite.server.adminToken}\r\n\r\n`;
  void dribble(connection, request, 200);
  assert.equal(await connection.closed, true, 'the slow client was never disconnected');
  const elapsed = Date.now() - started;
  // It was the headers timeout, not the request one, and the request never completed.
  assert.ok(elapsed < REQUEST_TIMEOUT_MS, `cut off after ${elapsed} ms`);
  assert.equal(statusOf(connection.received()), 408, connection.received());
  assert.ok(!connection.received().includes('"cid"'), 'the request was served');
});

test('a connection that sends nothing is closed at the headers timeout', async () => {
  const connection = await open();
  const started = Date.now();
  assert.equal(await connection.closed, true, 'the idle connection was never closed');
  assert.ok(Date.now() - started < REQUEST_TIMEOUT_MS, `closed after ${Date.now() - started} ms`);
});

test('a body sent slower than the request timeout is dropped, and nothing is created', async () => {
  const connection = await open();
  const body = JSON.stringify({ name: 'slow-body-key', roles: [{ type: 'DEFAULT', role: 'USER' }] });
  const head =
    'POST /api/v1/auth/key HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    `Authorization: Bearer ${suite.server.adminToken}\r\nContent-Length: ${body.length}\r\n\r\n`;
  connection.socket.write(head); // the headers arrive at once, the body does not
  const started = Date.now();
  void dribble(connection, body, 100);
  assert.equal(await connection.closed, true, 'the slow body was never cut off');
  const elapsed = Date.now() - started;
  // The request timeout, not the headers one: the headers were complete.
  assert.ok(elapsed >= REQUEST_TIMEOUT_MS - 100, `cut off after ${elapsed} ms`);
  assert.equal(statusOf(connection.received()), 408, connection.received());

  const keys = await client(suite.server.url)('GET', '/api/v1/auth/key', { token: suite.server.adminToken });
  assert.equal(keys.status, 200);
  assert.ok(!keys.text.includes('slow-body-key'), 'a cut-off request reached its handler');
});

test('oversized headers are refused with 431, without naming the server', async () => {
  const connection = await open();
  connection.socket.write(
    `GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(20 * 1024)}\r\n\r\n`,
  );
  assert.equal(await connection.closed, true);
  const response = connection.received();
  assert.equal(statusOf(response), 431, response);
  assert.doesNotMatch(response, /^(server|x-powered-by):/im);
});

test('headers past the hundredth are never read: a token sent after them is not honoured', async () => {
  const padding = Array.from({ length: 120 }, (_, i) => `X-Padding-${i}: x\r\n`).join('');
  const connection = await open();
  connection.socket.write(
    `GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${padding}` +
      `Authorization: Bearer ${suite.server.adminToken}\r\n\r\n`,
  );
  assert.equal(await connection.closed, true);
  // Node 20 drops the headers past the count (so the request has no token: 401); later lines
  // refuse the whole request (431). Either way the token is never used.
  assert.ok([401, 431].includes(statusOf(connection.received()) ?? 0), connection.received());
});

test('a prompt client on the same server is served', async () => {
  const reply = await client(suite.server.url)('GET', '/api/v1/me', { token: suite.server.adminToken });
  assert.equal(reply.status, 200);
});
