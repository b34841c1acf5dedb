import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import { compiledOnce } from '../compiled-once.js';
import type { Database, Dialect } from '../database.js';
import type { CountedList } from './counting.js';

/** One field of a listed item: its JSON key, and the column it comes from. */
export interface ListedField<Row> {
  key: string;
  column: keyof Row & string;
  /** The column holds JSON text (a stored list) to embed as a value, not as a string. */
  json?: true;
}

/** What the page reader needs of a listing (define-listing.ts). */
export interface RenderedList<Row> extends CountedList {
  fields: readonly ListedField<Row>[];
  /** The table keeps each row's item text in `list_item` (or NULL: rendered when read). */
  storesItems: boolean;
  /** The columns a page reads: the shown ones, the order's, and `list_item` where kept. */
  pageColumns: readonly string[];
  itemText(row: Row): string;
}

/** A query over a listed table, which the listing names itself (not a table of `Database`). */
// biome-ignore lint/suspicious/noExplicitAny: see above
type ListQuery = SelectQueryBuilder<any, any, any>;

/** Narrows a page query to a filter's matches (the audit log's Cortex filters). */
export type ListFilter = (query: ListQuery) => ListQuery;

/**
 * The JSON text of a page's items: up to `limit` rows in list order from the first row at or past
 * the sort key `from` (one value per column of the order), skipping `skip` of them.
 */
export type PageText = (
  db: Kysely<Database>,
  from: readonly unknown[],
  skip: number,
  limit: number,
) => Promise<string>;

/** The rows of a page, in list order, from the first at or past `from`. */
function seekRows<Row>(
  list: RenderedList<Row>,
  db: Kysely<Database>,
  from: readonly unknown[],
  skip: number,
  limit: number,
) {
  const { by, direction } = list.order;
  const seek = sql<boolean>`(${sql.join(by.map((column) => sql.ref(column)))}) ${sql.raw(
    direction === 'asc' ? '>=' : '<=',
  )} (${sql.join(from.map((value) => sql`${value}`))})`;
  return inOrder(list, selectPage(list, db).where(seek)).offset(skip).limit(limit);
}

function selectPage<Row>(list: RenderedList<Row>, db: Kysely<Database>) {
  // biome-ignore lint/suspicious/noExplicitAny: the listing names its own table and columns
  return (db as Kysely<any>).selectFrom(list.table).select(list.pageColumns as string[]);
}

function inOrder<Row>(list: RenderedList<Row>, query: ListQuery) {
  let ordered = query;
  for (const column of list.order.by) ordered = ordered.orderBy(column, list.order.direction);
  return ordered;
}

/**
 * One page of a list as the JSON text of its items, ready to send, read by seeking to the page's
 * start (the counting strategy finds it) and skipping less than a block's rows.
 *
 * Where rows keep their item text (`list_item`, rendered when the row was written), a page is
 * those texts joined with commas inside brackets: at 250 rows on SQLite, about 0.1 ms against
 * 0.2–0.3 ms for having SQLite write each item with `json_object`, and no row becomes a JS object
 * at all (docs/performance.md). A row without a stored text (written before migration 0005, or
 * changed by an update that did not render it) is rendered as it is read: on SQLite by
 * `json_object`, on PostgreSQL, whose JSON functions space their output differently, with
 * JSON.stringify. Both give the text the response schema writes, which tests compare byte for
 * byte. A list that keeps no texts (the audit log) renders each row with JSON.stringify.
 *
 * On SQLite the page's rows come from a subquery with ORDER BY and LIMIT, which SQLite runs as a
 * co-routine yielding rows in that order, and `group_concat` takes them as they come (an ORDER BY
 * inside the aggregate would sort them a second time). The list order tests
 * (test/http/pagination.test.ts and the secrets' own) hold it to that order.
 *
 * Compiled once per dialect (compiled-once.ts): the arguments are used as values only.
 */
export function pageTextReader<Row>(list: RenderedList<Row>, dialect: Dialect): PageText {
  const width = list.order.by.length;
  // The seek's values are spread: compiledOnce takes each argument as one parameter.
  const pageOf = (db: Kysely<Database>, args: unknown[]) =>
    seekRows(list, db, args.slice(0, width), args[width] as number, args[width + 1] as number);
  if (dialect === 'sqlite' && list.storesItems) {
    const query = compiledOnce((db, ...args: unknown[]) => itemsInSqlite(list, db, pageOf(db, args)));
    return async (db, from, skip, limit) =>
      ((await query(db, ...from, skip, limit))[0] as { items: string }).items;
  }
  const query = compiledOnce((db, ...args: unknown[]) => pageOf(db, args));
  return async (db, from, skip, limit) => joinedItems(list, await query(db, ...from, skip, limit));
}

/**
 * One page of a filter's matches, and how many there are. The matches are counted and skipped
 * row by row, through the filter's indexes: exact whatever the filter, at a cost that grows with
 * the matches (the count) and with the page's depth (the skip). Neither the blocks nor a key's
 * range can say how many rows a filter matches, and a filtered list is read by someone looking
 * for a few events, rarely deep.
 */
export async function readFilteredPage<Row>(
  list: RenderedList<Row>,
  db: Kysely<Database>,
  dialect: Dialect,
  filter: ListFilter,
  offset: number,
  limit: number,
): Promise<{ itemsJson: string; total: number }> {
  const count = filter(
    // biome-ignore lint/suspicious/noExplicitAny: see selectPage
    (db as Kysely<any>).selectFrom(list.table).select((eb) => eb.fn.countAll().as('count')),
  ).executeTakeFirstOrThrow() as Promise<{ count: number | string }>;
  const rows = inOrder(list, filter(selectPage(list, db)))
    .offset(offset)
    .limit(limit);
  const items =
    dialect === 'sqlite' && list.storesItems
      ? itemsInSqlite(list, db, rows)
          .executeTakeFirstOrThrow()
          .then((row) => (row as { items: string }).items)
      : rows.execute().then((page) => joinedItems(list, page as Row[]));
  const [itemsJson, { count: total }] = await Promise.all([items, count]);
  return { itemsJson, total: Number(total) };
}

function itemsInSqlite<Row>(list: RenderedList<Row>, db: Kysely<Database>, rows: ListQuery) {
  // Keys are parameters, columns are references to the page subquery: nothing here is spliced text.
  const pairs = list.fields.map(({ key, column, json }) => {
    const value = sql.ref(`page.${column}`);
    return sql`${key}, ${json === true ? sql`json(${value})` : value}`;
  });
  const itemText = sql`coalesce(${sql.ref('page.list_item')}, json_object(${sql.join(pairs)}))`;
  return db
    .selectFrom(rows.as('page'))
    .select(sql<string>`'[' || coalesce(group_concat(${itemText}, ','), '') || ']'`.as('items'));
}

function joinedItems<Row>(list: RenderedList<Row>, rows: readonly unknown[]): string {
  let text = '[';
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row & { list_item?: string | null };
    text += `${i === 0 ? '' : ','}${row.list_item ?? list.itemText(row)}`;
  }
  return `${text}]`;
}
