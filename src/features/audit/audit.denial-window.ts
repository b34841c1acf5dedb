import type { AuditInput, AuditLog } from './audit.log.js';

/** How long anonymous denials are counted before their counts are written. */
export const DENIAL_WINDOW_MS = 60_000;
/** Distinct clients whose denials are recorded in a window, per process; past it, one count for all. */
export const MAX_CLIENTS_PER_WINDOW = 100;
/** Distinct clients past the ceiling that are told apart in the overflow count (bounds memory). */
const MAX_OVERFLOW_CLIENTS = 10_000;

/**
 * Arranges for `close` to run when the window ends; returns what cancels that. The default is a
 * timer of DENIAL_WINDOW_MS; tests close windows themselves.
 */
export type OpenDenialWindow = (close: () => Promise<void>) => () => void;

export const timedDenialWindow: OpenDenialWindow = (close) => {
  const timer = setTimeout(close, DENIAL_WINDOW_MS);
  timer.unref();
  return () => clearTimeout(timer);
};

/** What a window knows of one client: its denials after the first, and the last of them. */
interface Tally {
  more: number;
  last: AuditInput;
}

export interface DenialWindowOptions {
  audit: AuditLog;
  open?: OpenDenialWindow;
  maxClients?: number;
  /** A window's counts that could not be written (the audit log is down). */
  onError: (error: unknown) => void;
}

/**
 * Anonymous denials (401s: no credential, or one that failed; 403s of an address the IP allowlist
 * refuses, judged before any credential is looked at) recorded in aggregate, so that no
 * client can fill the disk through the audit log. A window opens with the first such denial and
 * lasts a minute. In it, each client's first denial is recorded at once, as an event of its own;
 * its further ones are only counted, and written as one event carrying the count when the window
 * closes (or the process closes gracefully). At most `maxClients` distinct clients are recorded
 * so per window; the denials of any further clients are counted together, in one more event.
 *
 * So a window adds at most 2 rows per client and 2 × maxClients + 1 rows in all, per process,
 * whatever the number of requests. Denials by a valid key (403) are not anonymous: they are not
 * counted here, and stay one event each.
 */
export function createDenialWindow(options: DenialWindowOptions) {
  const { audit, onError } = options;
  const open = options.open ?? timedDenialWindow;
  const maxClients = options.maxClients ?? MAX_CLIENTS_PER_WINDOW;
  let clients = new Map<string, Tally>();
  let overflow = { clients: new Set<string>(), denials: 0, last: undefined as AuditInput | undefined };
  let cancel: (() => void) | undefined;

  /** Writes the window's counts and starts afresh; the next denial opens a new window. */
  async function close(): Promise<void> {
    cancel?.();
    cancel = undefined;
    const ended = clients;
    const spilled = overflow;
    clients = new Map();
    overflow = { clients: new Set(), denials: 0, last: undefined };
    const events: AuditInput[] = [];
    for (const tally of ended.values()) if (tally.more > 0) events.push(summaryOf(tally));
    if (spilled.last !== undefined)
      events.push(overflowOf(spilled.denials, spilled.clients.size, spilled.last));
    if (events.length === 0) return;
    await audit.recordAlone(events);
  }

  function overflowOf(denials: number, distinct: number, last: AuditInput): AuditInput {
    const who = distinct >= MAX_OVERFLOW_CLIENTS ? `at least ${distinct}` : String(distinct);
    return {
      actor: { type: 'ANONYMOUS', id: null },
      action: last.action,
      objectType: last.objectType,
      objectId: null,
      outcome: 'DENIED',
      detail: `${reasonOf(last).type}: ${denials} denials from ${who} more clients within a minute, past the ${maxClients} recorded one by one`,
    };
  }

  return {
    /**
     * Takes a client's anonymous denial: true when it is to be recorded now (its first in the
     * window), false when it was counted instead.
     */
    admit(client: string, event: AuditInput): boolean {
      if (cancel === undefined) {
        cancel = open(() => close().catch(onError));
      }
      const tally = clients.get(client);
      if (tally !== undefined) {
        tally.more += 1;
        tally.last = event;
        return false;
      }
      if (clients.size < maxClients) {
        clients.set(client, { more: 0, last: event });
        return true;
      }
      overflow.denials += 1;
      overflow.last = event;
      if (overflow.clients.size < MAX_OVERFLOW_CLIENTS) overflow.clients.add(client);
      return false;
    },
    /** Ends the window now, writing its counts (a graceful close loses none). */
    close,
  };
}

/**
 * One event for a client's counted denials: the last one's request (address, user agent,
 * request id, what it tried) with the count. No object identifier: the counted denials' path
 * identifiers were never looked up.
 */
function summaryOf({ more, last }: Tally): AuditInput {
  const { type, reason } = reasonOf(last);
  return {
    ...last,
    objectId: null,
    detail: `${type}: ${more} more ${more === 1 ? 'denial' : 'denials'} from this client within a minute of its first (the last: ${reason})`,
  };
}

/** A denial's error type and reason, from its detail (`UNAUTHORIZED: Invalid API key`). */
function reasonOf(event: AuditInput): { type: string; reason: string } {
  const match = /^([A-Z_]+): (.*)$/s.exec(event.detail ?? '');
  return match === null
    ? { type: 'UNAUTHORIZED', reason: event.detail ?? '' }
    : { type: match[1] as string, reason: match[2] as string };
}

export type DenialWindow = ReturnType<typeof createDenialWindow>;
