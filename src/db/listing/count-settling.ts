import type { Kysely } from 'kysely';
import type { Database } from '../database.js';
import { listsWithStripes } from './block-stripes.js';

/** How often a node settles the lists that concurrent writers counted aside. */
export const SETTLE_EVERY_MS = 1_000;

/**
 * PostgreSQL: settles, every `everyMs`, each of `listings` that writers counted in stripes
 * (block-stripes.ts), so that blocks keep their size and a list's count stays a few rows to read.
 * Every node runs it; passes on two nodes take turns on each list's lock. A pass that fails (the
 * database away) is reported and the next one tries again: counts stay exact meanwhile, only
 * unsettled.
 */
export function startCountSettling({
  db,
  listings,
  onError,
  everyMs = SETTLE_EVERY_MS,
}: {
  db: Kysely<Database>;
  listings: readonly { table: string; settle(db: Kysely<Database>, dialect: 'postgres'): Promise<void> }[];
  onError: (error: unknown) => void;
  everyMs?: number;
}) {
  const byTable = new Map(listings.map((listing) => [listing.table, listing]));
  let running: Promise<void> | undefined;

  async function settleAll(): Promise<void> {
    for (const list of await listsWithStripes(db)) await byTable.get(list)?.settle(db, 'postgres');
  }
  const pass = () => {
    running ??= settleAll()
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(pass, everyMs).unref();
  return {
    /** Stops the timer and waits for a pass under way. */
    async close(): Promise<void> {
      clearInterval(timer);
      await running;
    },
  };
}
