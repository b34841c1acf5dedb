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

/** A page's item array as JSON text, and the list's total. */
export interface JsonPage {
  itemsJson: string;
  total: number;
}

/**
 * A page's rows in list order, from the first row at or after (`createdAt`, `id`), skipping
 * `skip` and reading at most `limit`. Compiled once (compiled-once.ts): the arguments must be
 * used as values only.
 */
export type PageRows<Row> = (
  db: Kysely<Database>,
  createdAt: string,
  id: string,
  skip: number,
  limit: number,
  // biome-ignore lint/suspicious/noExplicitAny: the page's query may select from any listed table
) => SelectQueryBuilder<Database, any, Row>;

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
 * On SQLite the database writes the array itself (`json_group_array` over `json_object`): no row
 * becomes a JS array, object or string, which at 250 rows costs about 0.2 ms against 0.5 ms for
 * reading the rows and serialising them, and leaves the collector one string per page instead of
 * a few thousand objects (docs/performance.md). The page's rows come from a subquery with ORDER BY
 * and LIMIT, which SQLite runs as a co-routine yielding rows in that order, and the aggregate takes
 * them as they come (an ORDER BY inside the aggregate would sort them a second time). The list
 * order tests (test/http/pagination.test.ts and the secrets' own) hold it to that order.
 *
 * PostgreSQL's JSON functions space their output differently, so there the rows are read and
 * written with JSON.stringify: the same text as on SQLite, which tests compare.
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
  const query = compiledOnce((db, createdAt: string, id: string, skip: number, limit: number) =>
    db
      .selectFrom(rows(db, createdAt, id, skip, limit).as('page'))
      .select(sql<string>`json_group_array(json_object(${sql.join(pairs)}))`.as('items')),
  );
  return async (...args) => ((await query(...args))[0] as { items: string }).items;
}

function stringifiedItems<Row>(rows: PageRows<Row>, item: JsonItem<Row>): PageQuery {
  const query = compiledOnce(rows);
  return async (...args) => JSON.stringify((await query(...args)).map(item.toItem));
}
