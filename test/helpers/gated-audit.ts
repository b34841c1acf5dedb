/**
 * An audit log whose next write can be held before its transaction starts: a service has then
 * read what it will change, and a test can commit another change in between (a deterministic
 * interleaving of two writes to one row).
 */

import { DomainError } from '../../src/domain/errors.js';
import type { AuditLog } from '../../src/features/audit/audit.log.js';
import { appErrorOf } from '../../src/http/domain-errors.js';

export function gatedAudit(audit: AuditLog) {
  let next: { reached: () => void; released: Promise<void> } | undefined;
  const log: AuditLog = {
    ...audit,
    async run(work) {
      const gate = next;
      next = undefined;
      if (gate !== undefined) {
        gate.reached();
        await gate.released;
      }
      return audit.run(work);
    },
  };
  /** Holds the next write; `reached` settles once it waits, `release` lets it go on. */
  function holdNext() {
    let release!: () => void;
    let reached!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waiting = new Promise<void>((resolve) => {
      reached = resolve;
    });
    next = { reached, released };
    return { reached: waiting, release };
  }
  return { log, holdNext };
}

/** A service call's outcome as an HTTP status: 200, or the status the edge answers its refusal with. */
export async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof DomainError) return appErrorOf(error).status;
    throw error;
  }
}
