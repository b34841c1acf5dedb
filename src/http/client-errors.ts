import type { Socket } from 'node:net';
import type { ConnectionError } from 'fastify';
import { redactTokens } from '../crypto/tokens.js';
import { ERROR_STATUS, ERROR_TITLES, type ErrorType } from './errors.js';
import { MAX_HEADER_BYTES, MAX_HEADERS_COUNT } from './limits.js';
import type { Problem } from './problem.js';
import { generateRequestId } from './request-id.js';
import { API_HEADERS } from './response-headers.js';

/** What each refusal of Node's HTTP parser is answered with. */
function refusalOf(code: string | undefined): { type: ErrorType; message: string; detail: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      type: 'REQUEST_TIMEOUT',
      message: 'Request timeout',
      detail: 'The request did not arrive in time; send it again, without pauses',
    };
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return {
      type: 'REQUEST_HEADER_FIELDS_TOO_LARGE',
      message: 'Request headers too large',
      // Node 22 and later also refuse headers past the count this way; Node 20 ignores them.
      detail: `The request line and headers are limited to ${MAX_HEADER_BYTES / 1024} KiB and ${MAX_HEADERS_COUNT} header fields`,
    };
  }
  return { type: 'BAD_REQUEST', message: 'Malformed request', detail: 'The request is not valid HTTP' };
}

/**
 * The path of the refused request when its request line can be read (without its query string,
 * token-like text redacted, as for every problem); `/` when it cannot (a timeout, say).
 */
function instanceOf(rawPacket: unknown): string {
  const line = Buffer.isBuffer(rawPacket) ? rawPacket.subarray(0, 1024).toString('latin1') : '';
  const path = /^[A-Z]+ (\/[^ ?\r\n]*)/.exec(line)?.[1];
  return path === undefined ? '/' : redactTokens(path.slice(0, 512));
}

/**
 * Requests Node's HTTP parser refuses (a malformed request line, headers past the limit, a client
 * too slow) never reach Fastify's routes, hooks or error handler. They are answered here, on the
 * raw socket, with the same problem+json and security headers as every other error, and the
 * connection is closed: after a parse error, nothing more on it can be trusted.
 */
export function answerClientError(error: ConnectionError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return;
  const { type, message, detail } = refusalOf(error.code);
  const status = ERROR_STATUS[type];
  const requestId = generateRequestId();
  const problem: Problem = {
    type,
    title: ERROR_TITLES[type],
    status,
    detail,
    instance: instanceOf(error.rawPacket),
    message,
    details: detail,
    httpStatus: status,
    requestId,
  };
  const body = JSON.stringify(problem);
  const headers = {
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    'x-request-id': requestId,
    ...API_HEADERS,
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n');
  socket.end(`HTTP/1.1 ${status} ${ERROR_TITLES[type]}\r\n${head}\r\n\r\n${body}`);
}
