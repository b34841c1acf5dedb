import type { Kysely } from 'kysely';
import { offsetOf, Page, type PageQuery, pageInfo } from '../../domain/page.js';
import { compiledOnce } from '../compiled-once.js';
import type { Database, Dialect } from '../database.js';
import type { CountedList, Counting } from './counting.js';
import {
  type ListedField,
  type ListFilter,
  type PageText,
  pageTextReader,
  readFilteredPage,
} from './json-page.js';

/** The item text a listed table keeps with each row; NULL for rows written before it existed. */
export interface ListItemColumn {
  list_item: string | null;
}

/** What a listed table declares, once (`src/features/<name>/<name>.listing.ts`). */
export interface ListingSpec<Row, Item> {
  table: string;
  /** Unique: the last column of the order, and the column the backfill walks. */
  key: keyof Row & string;
  /** The list order: the columns it sorts by, ending with the key, all one way. */
  order: { by: readonly (keyof Row & string)[]; direction: 'asc' | 'desc' };
  /**
   * The item's fields, each from one column, in the order the response schema's serializer
   * writes them (fast-json-stringify: the required properties first, then the others, each group
   * in the schema's order), so that a page's text is byte for byte what the serializer would
   * write. The database (json_object) writes them so too. A field whose value `toItem` computes
   * rather than copies fits only a list that keeps no item texts.
   */
  fields: readonly ListedField<Row>[];
  /** The item: the object the response schema serializes, with the fields' keys. */
  toItem: (row: Row) => Item;
  /** How `total` and a deep page's start are found: pageBlocks() or denseSequence(). */
  counting: Counting;
  /**
   * The table keeps each row's item text in `list_item`, written with the row (insert,
   * withItem). A trigger sets it to NULL when an update changes a shown column without writing it
   * (migration 0005; test/db/listing-trigger-drift.test.ts holds the two together). A change to
   * the item's fields or their order needs a migration that sets every `list_item` to NULL.
   */
  storesItems: boolean;
}

/** A listed table: everything its rows' listing needs, from one declaration. */
export interface Listing<Row, Item> extends CountedList {
  readonly key: keyof Row & string;
  readonly fields: readonly ListedField<Row>[];
  readonly storesItems: boolean;
  /** The columns the item shows. */
  readonly shownColumns: readonly string[];
  readonly pageColumns: readonly string[];
  /** A row's item as a list page writes it. */
  itemText(row: Row): string;
  /**
   * Inserts a row (with its item text, where kept) and counts it, in the caller's transaction.
   * Every column the row has is written; none may be undefined.
   */
  insert<Written extends Row>(db: Kysely<Database>, dialect: Dialect, row: Written): Promise<void>;
  /**
   * The changes to write to a row: with its item text rendered anew when they change a shown
   * column. `row` must hold the row's other shown columns as storage has them at the write: read
   * in the writing transaction, or columns that never change.
   */
  withItem<C extends Partial<Row>>(row: Row, changes: C): C & Partial<ListItemColumn>;
  /** Deletes the row with `key` and uncounts it; false when no such row exists (any more). */
  delete(db: Kysely<Database>, dialect: Dialect, key: string | number): Promise<boolean>;
  /** The page `query` asks for; with a filter, of its matches only (counted exactly). */
  page(db: Kysely<Database>, dialect: Dialect, query: PageQuery, filter?: ListFilter): Promise<Page<Item>>;
  /** Folds what concurrent writers counted aside into the list's counts (Counting.settle). */
  settle(db: Kysely<Database>, dialect: Dialect): Promise<void>;
  /** Counts the list afresh, after a bulk load that bypassed `insert` (the bench's seeder). */
  // biome-ignore lint/suspicious/noExplicitAny: also run over a bare connection whose Kysely is untyped
  recount(db: Kysely<any>): Promise<void>;
}

/**
 * Declares a listed table. The listing owns all of its list's machinery: counting inserts and
 * deletes, rendering and storing item texts, reading a page (seek to where the counting says it
 * starts, then a short skip) as JSON text, and the backfill of missing texts (list-item-backfill.ts).
 */
export function defineListing<Row, Item>(spec: ListingSpec<Row, Item>): Listing<Row, Item> {
  const { table, key, order, fields, toItem, counting, storesItems } = spec;
  const shownColumns = [...new Set(fields.map((field) => field.column as string))];
  const pageColumns = [
    ...new Set([...shownColumns, ...order.by, key]),
    ...(storesItems ? ['list_item'] : []),
  ];
  if (order.by.at(-1) !== key) throw new Error(`${table}: the list order must end with its key`);
  counting.check({ table, key, order });

  const keys = fields.map((field) => field.key);
  /** The item's text, its keys in the fields' order whatever order `toItem` gives them. */
  const itemText = (row: Row) => {
    const item = toItem(row) as Record<string, unknown>;
    const ordered: Record<string, unknown> = {};
    for (const key of keys) ordered[key] = item[key];
    return JSON.stringify(ordered);
  };
  const readers = new Map<Dialect, PageText>();
  const inserts = new Map<string, (db: Kysely<Database>, ...values: unknown[]) => Promise<unknown[]>>();
  const deleteRow = compiledOnce((db, id: string | number) =>
    // biome-ignore lint/suspicious/noExplicitAny: the listing names its own table and columns
    (db as Kysely<any>)
      .deleteFrom(table)
      .where(key as string, '=', id)
      .returning([...order.by] as string[]),
  );

  /** An INSERT of exactly these columns, compiled once (compiled-once.ts). */
  function insertOf(columns: readonly string[]) {
    const id = columns.join();
    let insert = inserts.get(id);
    if (insert === undefined) {
      insert = compiledOnce((db, ...values: unknown[]) =>
        // biome-ignore lint/suspicious/noExplicitAny: see deleteRow
        (db as Kysely<any>)
          .insertInto(table)
          .values(Object.fromEntries(columns.map((column, i) => [column, values[i]]))),
      );
      inserts.set(id, insert);
    }
    return insert;
  }

  const listing: Listing<Row, Item> = {
    table,
    key,
    order,
    fields,
    storesItems,
    shownColumns,
    pageColumns,
    itemText,

    async insert(db, dialect, row) {
      const written: Record<string, unknown> = storesItems
        ? { ...(row as object), list_item: itemText(row) }
        : { ...(row as object) };
      const columns = Object.keys(written);
      const values = Object.values(written);
      if (values.includes(undefined)) {
        throw new Error(`a row for ${table} has an undefined column: ${columns.join(', ')}`);
      }
      await insertOf(columns)(db, ...values);
      await counting.inserted(db, dialect, listing, written);
    },

    withItem(row, changes) {
      if (!storesItems || !shownColumns.some((column) => column in changes)) return changes;
      return { ...changes, list_item: itemText({ ...row, ...changes }) };
    },

    async delete(db, dialect, id) {
      const [deleted] = await deleteRow(db, id);
      if (deleted === undefined) return false;
      await counting.deleted(db, dialect, listing, { ...(deleted as object), [key]: id });
      return true;
    },

    async page(db, dialect, query, filter) {
      const offset = offsetOf(query);
      if (filter !== undefined) {
        const { itemsJson, total } = await readFilteredPage(
          listing,
          db,
          dialect,
          filter,
          offset,
          query.pageSize,
        );
        return new Page<Item>(pageInfo(query, total), itemsJson);
      }
      const { total, start } = await counting.pageStart(db, listing, offset);
      if (start === undefined) return Page.empty<Item>(query, total);
      let read = readers.get(dialect);
      if (read === undefined) {
        read = pageTextReader(listing, dialect);
        readers.set(dialect, read);
      }
      return new Page<Item>(pageInfo(query, total), await read(db, start.from, start.skip, query.pageSize));
    },

    recount: (db) => counting.rebuild(db, listing),
    settle: async (db, dialect) => {
      await counting.settle?.(db, dialect, listing);
    },
  };
  return listing;
}
