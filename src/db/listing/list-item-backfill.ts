import { sql } from 'kysely';
import type { Store } from '../database.js';
import type { Listing } from './define-listing.js';

/**
 * Rows looked at per transaction: at most this many rendered, about 3 ms of holding SQLite's write
 * lock when every one needs it, under a millisecond when none does.
 */
export const BACKFILL_BATCH_ROWS = 500;
/** The pause after a batch that rendered rows, so requests keep the database most of the time. */
export const BACKFILL_PAUSE_MS = 10;
/** The pause after a window with nothing to render (two reads, about 0.1 ms at a million rows). */
const IDLE_PAUSE_MS = 1;
/** After a failed batch (storage busy or down), the pass starts again this much later. */
const RETRY_AFTER_MS = 60_000;
/** A progress line every this many rows. */
const PROGRESS_EVERY_ROWS = 100_000;

/**
 * Looks at the next `window` rows after key `after`, in key order, and renders and stores the
 * item text of those that have none. Bounded either way: a window of rows that all have their
 * text costs a short index walk, not a scan of the rest of the table. One transaction for the
 * rendering: on SQLite it holds the write lock, on PostgreSQL the rows are locked as read, so no
 * update can change a row between its reading and its text being written (an update that changes
 * a shown column writes the text itself, or its trigger clears it). Returns how many rows were
 * rendered and the key to continue after: none once the window reached the end of the table.
 */
export async function renderListItems<Row>(
  store: Store,
  listed: Listing<Row, unknown>,
  after: string,
  window: number,
): Promise<{ rendered: number; next: string | undefined }> {
  // The key is the table's primary key: unique and ordered, so a pass walks the table once.
  const { table, key } = listed;
  const keyRef = sql.ref(key);
  // The window's last key, from the primary key's index alone; none: the window runs to the end.
  const { rows: ends } = await sql<{ end: string }>`
    select ${keyRef} as ${sql.ref('end')} from ${sql.table(table)}
    where ${keyRef} > ${after} order by ${keyRef} limit 1 offset ${window - 1}`.execute(store.db);
  const next = ends[0]?.end;
  const inWindow = sql`${keyRef} > ${after} ${next === undefined ? sql`` : sql`and ${keyRef} <= ${next}`}`;
  // Most windows, once a pass has been made, have nothing to render: find that out by reading,
  // without taking the write lock.
  const { rows: missing } = await sql`
    select 1 from ${sql.table(table)} where ${inWindow} and list_item is null limit 1`.execute(store.db);
  if (missing.length === 0) return { rendered: 0, next };
  const columns = [...new Set([key, ...listed.shownColumns])];
  const rendered = await store.db.transaction().execute(async (trx) => {
    const { rows } = await sql<Row & Record<string, string>>`
      select ${sql.join(columns.map((column) => sql.ref(column)))}
      from ${sql.table(table)}
      where ${inWindow} and list_item is null
      order by ${keyRef}
      ${store.dialect === 'postgres' ? sql`for update` : sql``}`.execute(trx);
    if (rows.length === 0) return 0;
    const keys = rows.map((row) => (row as Record<string, string>)[key] as string);
    const texts = rows.map((row) => listed.itemText(row));
    if (store.dialect === 'postgres') {
      // One statement for the batch: a round trip per row would make the pass ten times longer.
      await sql`
        update ${sql.table(table)} as t set list_item = v.item
        from unnest(${keys}::text[], ${texts}::text[]) as v(key, item)
        where t.${keyRef} = v.key and t.list_item is null`.execute(trx);
    } else {
      // In process: a statement per row costs microseconds.
      for (const [i, text] of texts.entries()) {
        await sql`
          update ${sql.table(table)} set list_item = ${text}
          where ${keyRef} = ${keys[i]} and list_item is null`.execute(trx);
      }
    }
    return rows.length;
  });
  return { rendered, next };
}

export interface BackfillLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface Backfill {
  /** Settles when every table has been walked once (or the backfill was stopped). */
  finished: Promise<void>;
  /** Stops after the batch in progress, if any; resolves once it has ended. */
  stop(): Promise<void>;
}

/**
 * Renders, in the background, the item texts that rows written before migration 0005 lack (and
 * any a trigger cleared), in every listing that keeps them (the others are passed over), so that
 * an upgraded database's list pages are as fast as a new one's:
 * a page joins the stored texts instead of rendering each row as it reads it. One pass over each
 * table in key order, a bounded batch at a time with a pause between batches; a failed batch is
 * retried a minute later from where it stopped. Several nodes or workers may run it at once: a
 * row is only written while it has no text. Rows an older node writes after the pass (a rolling
 * upgrade) are rendered as they are read until the next start.
 */
export function startListItemBackfill(
  store: Store,
  // biome-ignore lint/suspicious/noExplicitAny: tables of different row types, each consistent with itself
  listings: readonly Listing<any, unknown>[],
  log: BackfillLog,
  options: { batchRows?: number; pauseMs?: number } = {},
): Backfill {
  const batchRows = options.batchRows ?? BACKFILL_BATCH_ROWS;
  const pauseMs = options.pauseMs ?? BACKFILL_PAUSE_MS;
  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;

  /** Waits `ms`, or less if stopped meanwhile; false once stopped. */
  const pause = (ms: number) =>
    new Promise<boolean>((resolve) => {
      if (stopped) return resolve(false);
      wake = () => resolve(false);
      timer = setTimeout(() => resolve(!stopped), ms);
      timer.unref();
    });

  const tables = listings.filter((listing) => listing.storesItems);

  async function walk(listed: Listing<unknown, unknown>): Promise<number> {
    let after = '';
    let rendered = 0;
    let reported = 0;
    while (!stopped) {
      let batch: Awaited<ReturnType<typeof renderListItems>>;
      try {
        batch = await renderListItems(store, listed, after, batchRows);
      } catch (error) {
        log.warn(
          { err: error, table: listed.table },
          'rendering stored list items failed; retrying in a minute',
        );
        if (!(await pause(RETRY_AFTER_MS))) break;
        continue;
      }
      rendered += batch.rendered;
      if (batch.next === undefined) break;
      after = batch.next;
      if (rendered - reported >= PROGRESS_EVERY_ROWS) {
        reported = rendered;
        log.info({ table: listed.table, rendered }, 'rendering stored list items');
      }
      if (!(await pause(batch.rendered > 0 ? pauseMs : Math.min(pauseMs, IDLE_PAUSE_MS)))) break;
    }
    return rendered;
  }

  const finished = (async () => {
    const since = performance.now();
    const rendered: Record<string, number> = {};
    for (const listed of tables) {
      if (stopped) return;
      rendered[listed.table] = await walk(listed);
    }
    if (!stopped && Object.values(rendered).some((count) => count > 0)) {
      const ms = Math.round(performance.now() - since);
      log.info({ rendered, ms }, 'stored list items rendered for rows that had none');
    }
  })();

  return {
    finished,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await finished;
    },
  };
}
