import type { Store } from '../../db/database.js';
import * as repo from './api-keys.repository.js';

/** How often a process writes the uses it has seen, unless told otherwise (AppOptions). */
export const LAST_USED_FLUSH_MS = 20_000;

export interface LastUsedDeps {
  store: Store;
  /** Milliseconds between flushes. */
  flushEveryMs?: number;
  /** A flush that failed (storage down): its uses are kept and written by the next one. */
  onError: (error: unknown) => void;
}

/**
 * When each key was last used, without a write per request: a use is one `Map.set` in memory
 * (the latest time per cid), and the uses are written in batches every `flushEveryMs` and on
 * close. Each node and worker flushes its own, and the write keeps the latest time whoever wrote
 * it (repository's recordLastUses), so `lastUsedDate` is right across the fleet to within a flush
 * interval. It is no change to the key: nothing is audited and no cache is invalidated.
 */
export function createLastUsed({ store, flushEveryMs = LAST_USED_FLUSH_MS, onError }: LastUsedDeps) {
  let pending = new Map<string, number>();
  /** The uses being written, until they are: `latest` still sees them. */
  let writing = new Map<string, number>();
  /** One flush at a time, in order. */
  let flushing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  /**
   * The last time `latest` wrote out: a busy key's requests mostly fall in the same millisecond
   * as another's, and turning a time into ISO text costs about as much as the rest of /me.
   */
  let written = { at: Number.NaN, text: '' };

  async function write(): Promise<void> {
    if (pending.size === 0) return;
    writing = pending;
    pending = new Map();
    const uses = [...writing].map(([cid, at]) => [cid, new Date(at).toISOString()] as const);
    try {
      await repo.recordLastUses(store.db, uses);
    } catch (error) {
      // Kept for the next flush, unless a later use of the same key came in meanwhile.
      for (const [cid, at] of writing) if ((pending.get(cid) ?? -1) < at) pending.set(cid, at);
      onError(error);
    } finally {
      writing = new Map();
    }
  }

  const lastUsed = {
    /** A request authenticated with `cid` at `atMs`: the hot path, so nothing but a Map.set. */
    record(cid: string, atMs: number): void {
      pending.set(cid, atMs);
    },

    /** This process's latest unwritten use of `cid`, as an ISO date-time, if any. */
    latest(cid: string): string | undefined {
      const at = pending.get(cid) ?? writing.get(cid);
      if (at === undefined) return undefined;
      if (written.at !== at) written = { at, text: new Date(at).toISOString() };
      return written.text;
    },

    /** Writes the uses seen so far (after any flush already running); never rejects. */
    flush(): Promise<void> {
      flushing = flushing.then(write);
      return flushing;
    },

    start(): void {
      timer ??= setInterval(() => void lastUsed.flush(), flushEveryMs);
      timer.unref();
    },

    /** Stops the timer and writes what is left: a graceful close loses no use. */
    async close(): Promise<void> {
      clearInterval(timer);
      timer = undefined;
      await lastUsed.flush();
    },
  };
  return lastUsed;
}

export type LastUsed = ReturnType<typeof createLastUsed>;
