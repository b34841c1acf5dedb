import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import { compiledOnce } from './compiled-once.js';
import type { Database, Dialect } from './database.js';
import { type ListName, readPage, type SortKey } from './page-blocks.js';

/** One field of a listed item: its JSON key, and the column it comes from. */
export interface JsonField<Row> {
  key: string;
  column: keyof Row & string;
  /** The column holds JSON text (a stored list) to embed as a value, not as a string. */
  json?: true;
}

/** How a listed row becomes an item of the API's answer. */
export interface JsonItem<Row> {
  /** In the order the response schema lists them, so both ways below write the same text. */
  fields: readonly JsonField<Row>[];
  /** The item as an object, with the same keys in the same order. */
  toItem: (row: Row) => object;
}

/** The item text stored with each listed row; NULL for rows written before it existed. */
export interface ListItemColumn {
  list_item: string | null;
}

/**
 * A row's item as a list page writes it, stored in `list_item` when the row is written. Whoever
 * changes a shown column writes this again in the same statement (a trigger otherwise sets it to
 * NULL, migration 0005). A change to an item's fields or their order needs a migration that sets
 * every `list_item` to NULL.
 */
export function listItemText<Row>(item: JsonItem<Row>, row: Row): string {
  return JSON.stringify(item.toItem(row));
}

/** A page's item array as JSON text, and the list's total. */
export interface JsonPage {
  itemsJson: string;
  total: number;
}

/**
 * A page's rows in list order, from the first row at or after (`createdAt`, `id`), skipping
 * `skip` and reading at most `limit`, with the shown columns and `list_item`. Compiled once
 * (compiled-once.ts): the arguments must be used as values only.
 */
export type PageRows<Row> = (
  db: Kysely<Database>,
  createdAt: string,
  id: string,
  skip: number,
  limit: number,
  // biome-ignore lint/suspicious/noExplicitAny: the page's query may select from any listed table
) => SelectQueryBuilder<Database, any, Row & ListItemColumn>;

type PageQuery = (
  db: Kysely<Database>,
  createdAt: string,
  id: string,
  skip: number,
  limit: number,
) => Promise<string>;

/** Each list's page query per dialect, compiled once; `item` is kept to catch a list served two ways. */
const pageQueries = new WeakMap<
  PageRows<never>,
  { item: JsonItem<never>; byDialect: Map<Dialect, PageQuery> }
>();

function pageQueryOf<Row>(rows: PageRows<Row>, item: JsonItem<Row>, dialect: Dialect): PageQuery {
  let entry = pageQueries.get(rows as PageRows<never>);
  if (entry === undefined) {
    entry = { item: item as JsonItem<never>, byDialect: new Map() };
    pageQueries.set(rows as PageRows<never>, entry);
  }
  if (entry.item !== (item as JsonItem<never>)) {
    throw new Error('a list page query is used with two item shapes');
  }
  let query = entry.byDialect.get(dialect);
  if (query === undefined) {
    query = dialect === 'sqlite' ? sqliteItems(rows, item) : stringifiedItems(rows, item);
    entry.byDialect.set(dialect, query);
  }
  return query;
}

/**
 * One page of a list as the JSON text of its items, ready to send.
 *
 * Each row's item was rendered when the row was written (`list_item`), so a page is those texts
 * joined with commas inside brackets: at 250 rows on SQLite, about 0.1 ms against 0.2–0.3 ms for
 * having SQLite write each item with `json_object`, and no row becomes a JS object at all
 * (docs/performance.md). A row without a stored text (written before migration 0005, or changed
 * by an update that did not render it) is rendered as it is read: on SQLite by `json_object`,
 * on PostgreSQL, whose JSON functions space their output differently, with JSON.stringify. Both
 * give the text the response schema writes, which tests compare byte for byte.
 *
 * On SQLite the page's rows come from a subquery with ORDER BY and LIMIT, which SQLite runs as a
 * co-routine yielding rows in that order, and `group_concat` takes them as they come (an ORDER BY
 * inside the aggregate would sort them a second time). The list order tests
 * (test/http/pagination.test.ts and the secrets' own) hold it to that order.
 */
export async function readJsonPage<Row>(
  db: Kysely<Database>,
  dialect: Dialect,
  list: ListName,
  offset: number,
  limit: number,
  rows: PageRows<Row>,
  item: JsonItem<Row>,
): Promise<JsonPage> {
  const query = pageQueryOf(rows, item, dialect);
  const { page, total } = await readPage(db, list, offset, '[]', (from: SortKey, skip) =>
    query(db, from.createdAt, from.id, skip, limit),
  );
  return { itemsJson: page, total };
}

function sqliteItems<Row>(rows: PageRows<Row>, item: JsonItem<Row>): PageQuery {
  // Keys are parameters, columns are references to the page subquery: nothing here is spliced text.
  const pairs = item.fields.map(({ key, column, json }) => {
    const value = sql.ref(`page.${column}`);
    return sql`${key}, ${json === true ? sql`json(${value})` : value}`;
  });
  const itemText = sql`coalesce(${sql.ref('page.list_item')}, json_object(${sql.join(pairs)}))`;
  const query = compiledOnce((db, createdAt: string, id: string, skip: number, limit: number) =>
    db
      .selectFrom(rows(db, createdAt, id, skip, limit).as('page'))
      .select(sql<string>`'[' || coalesce(group_concat(${itemText}, ','), '') || ']'`.as('items')),
  );
  return async (...args) => ((await query(...args))[0] as { items: string }).items;
}

function stringifiedItems<Row>(rows: PageRows<Row>, item: JsonItem<Row>): PageQuery {
  const query = compiledOnce(rows);
  return async (...args) => {
    const page = await query(...args);
    let text = '[';
    for (let i = 0; i < page.length; i++) {
      const row = page[i] as Row & ListItemColumn;
      text += `${i === 0 ? '' : ','}${row.list_item ?? listItemText(item, row)}`;
    }
    return `${text}]`;
  };
}
