import type { ProblemBody, Violation } from './api.js';

/**
 * An error reply of the API, with its problem+json fields: `status`, Cortex's `type` token, the
 * `detail` a person reads, the `requestId` to quote to an operator, and the `violations` of an
 * invalid request. The message is `detail` (never a token or a value: the server's problems carry
 * neither, and this class adds nothing of the request).
 */
export class TesseraProblem extends Error {
  override name = 'TesseraProblem';
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly requestId: string | undefined;
  readonly violations: readonly Violation[];
  /** Seconds to wait before trying again (429). */
  readonly retryAfter: number | undefined;

  constructor(status: number, body: Partial<ProblemBody> | undefined, requestId: string | undefined) {
    const detail = typeof body?.detail === 'string' ? body.detail : `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.type = typeof body?.type === 'string' ? body.type : 'UNKNOWN';
    this.title = typeof body?.title === 'string' ? body.title : '';
    this.detail = detail;
    this.requestId = typeof body?.requestId === 'string' ? body.requestId : requestId;
    this.violations = Array.isArray(body?.violations) ? body.violations : [];
    this.retryAfter = typeof body?.retryAfter === 'number' ? body.retryAfter : undefined;
  }
}

/**
 * The server could not be reached or did not answer in time: no reply to read. What `tessera run
 * --fallback` falls back on, and only this (a refusal from a reachable server is never bypassed).
 */
export class TesseraUnreachable extends Error {
  override name = 'TesseraUnreachable';
}
