import type { Kysely } from 'kysely';
import type { Database, Dialect } from '../database.js';

/** What a counting strategy knows of its list: the table, its key, and the list order. */
export interface CountedList {
  /** The table; also the list's name where its counts are kept. */
  table: string;
  /** Unique: the last column of the order. */
  key: string;
  order: ListOrder;
}

/** The columns a list is sorted by (ending with its key), all one way. */
export interface ListOrder {
  by: readonly string[];
  direction: 'asc' | 'desc';
}

/** Where a page starts: the sort key to seek to, and how many rows to skip from there. */
export interface PageStart {
  total: number;
  /** undefined: the page is past the end. `from` holds a value for each column of the order. */
  start: { from: readonly unknown[]; skip: number } | undefined;
}

/**
 * How a list counts its rows for `total` and finds where a deep page starts, without counting or
 * skipping every row: page blocks for tables deleted from anywhere (page-blocks.ts), arithmetic
 * for a dense sequence (dense-sequence.ts).
 */
export interface Counting {
  /** Refuses, when the listing is declared, a list this strategy cannot count. */
  check(list: CountedList): void;
  /** Counts a row just inserted (in the inserting transaction); `row` holds the order's columns. */
  inserted(
    db: Kysely<Database>,
    dialect: Dialect,
    list: CountedList,
    row: Record<string, unknown>,
  ): Promise<void>;
  /** Uncounts a row just deleted (in the deleting transaction). */
  deleted(
    db: Kysely<Database>,
    dialect: Dialect,
    list: CountedList,
    row: Record<string, unknown>,
  ): Promise<void>;
  /** The list's total, and where the page at `offset` starts. */
  pageStart(db: Kysely<Database>, list: CountedList, offset: number): Promise<PageStart>;
  /**
   * Folds counts that concurrent writers left aside into the list's own (PostgreSQL's page
   * blocks); undefined where writes count in place. Run now and then, off the request path.
   */
  settle?(db: Kysely<Database>, dialect: Dialect, list: CountedList): Promise<void>;
  /** Counts the list afresh from its rows, for bulk loads that bypass the listing. */
  // biome-ignore lint/suspicious/noExplicitAny: also run over a bare connection whose Kysely is untyped
  rebuild(db: Kysely<any>, list: CountedList): Promise<void>;
}
