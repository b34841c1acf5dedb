import { sql } from 'kysely';
import type { Store } from './database.js';
import { type JsonItem, listItemText } from './json-page.js';

/** A listed table whose rows may lack their stored item text (`list_item`, src/db/json-page.ts). */
export interface ListedTable<Row> {
  table: 'api_keys' | 'secrets';
  /** Its primary key: unique and ordered, so a pass walks the table once. */
  key: 'cid' | 'id';
  item: JsonItem<Row>;
}

/** Rows rendered per transaction: about 2 ms of holding SQLite's write lock. */
export const BACKFILL_BATCH_ROWS = 250;
/** The pause between two batches, so requests keep the database most of the time. */
export const BACKFILL_PAUSE_MS = 10;
/** After a failed batch (storage busy or down), the pass starts again this much later. */
const RETRY_AFTER_MS = 60_000;
/** A progress line every this many rows. */
const PROGRESS_EVERY_ROWS = 100_000;

/**
 * Renders and stores the item text of up to `limit` rows that have none and whose key comes
 * after `after`, in key order. One transaction: on SQLite it holds the write lock, on PostgreSQL
 * the rows are locked as read, so no update can change a row between its reading and its text
 * being written (an update that changes a shown column writes the text itself, or its trigger
 * clears it). Returns how many rows were rendered and the last key read: none when no row is left.
 */
export async function renderListItems<Row>(
  store: Store,
  listed: ListedTable<Row>,
  after: string,
  limit: number,
): Promise<{ rendered: number; last: string | undefined }> {
  const { table, key, item } = listed;
  const columns = [...new Set([key, ...item.fields.map((field) => field.column)])];
  return store.db.transaction().execute(async (trx) => {
    const { rows } = await sql<Row & Record<string, string>>`
      select ${sql.join(columns.map((column) => sql.ref(column)))}
      from ${sql.table(table)}
      where ${sql.ref(key)} > ${after} and list_item is null
      order by ${sql.ref(key)}
      limit ${limit}
      ${store.dialect === 'postgres' ? sql`for update` : sql``}`.execute(trx);
    const keys = rows.map((row) => row[key] as string);
    const texts = rows.map((row) => listItemText(item, row));
    if (store.dialect === 'postgres') {
      // One statement for the batch: a round trip per row would make the pass ten times longer.
      await sql`
        update ${sql.table(table)} as t set list_item = v.item
        from unnest(${keys}::text[], ${texts}::text[]) as v(key, item)
        where t.${sql.ref(key)} = v.key and t.list_item is null`.execute(trx);
    } else {
      // In process: a statement per row costs microseconds.
      for (const [i, text] of texts.entries()) {
        await sql`
          update ${sql.table(table)} set list_item = ${text}
          where ${sql.ref(key)} = ${keys[i]} and list_item is null`.execute(trx);
      }
    }
    return { rendered: rows.length, last: rows.at(-1)?.[key] };
  });
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
 * any a trigger cleared), so that an upgraded database's list pages are as fast as a new one's:
 * a page joins the stored texts instead of rendering each row as it reads it. One pass over each
 * table in key order, a bounded batch at a time with a pause between batches; a failed batch is
 * retried a minute later from where it stopped. Several nodes or workers may run it at once: a
 * row is only written while it has no text. Rows an older node writes after the pass (a rolling
 * upgrade) are rendered as they are read until the next start.
 */
export function startListItemBackfill(
  store: Store,
  // biome-ignore lint/suspicious/noExplicitAny: tables of different row types, each consistent with itself
  tables: readonly ListedTable<any>[],
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

  async function walk(listed: ListedTable<unknown>): Promise<number> {
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
      if (batch.last === undefined) break;
      after = batch.last;
      rendered += batch.rendered;
      if (rendered - reported >= PROGRESS_EVERY_ROWS) {
        reported = rendered;
        log.info({ table: listed.table, rendered }, 'rendering stored list items');
      }
      if (!(await pause(pauseMs))) break;
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
