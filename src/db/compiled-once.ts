import { type Compilable, CompiledQuery, type Insertable, type Kysely } from 'kysely';
import type { Database } from './database.js';

/** Stands in for the i-th argument while a query is compiled once. */
class Slot {
  constructor(readonly index: number) {}
}

/** A query's SQL and its parameters, arguments left as slots. */
interface Template {
  sql: string;
  parameters: readonly unknown[];
}

/**
 * A query whose SQL is compiled once per dialect and then run with each call's arguments.
 *
 * Kysely builds a query's tree and compiles it to SQL on every call; on the hot path that is a
 * good part of a request (docs/performance.md). `build` is called once per dialect adapter (which
 * a database and its transactions share) with slots in place of its arguments, and the compiled
 * parameters become a template: each call puts its arguments in the slots and keeps the query's
 * own constants. So `build` must use its arguments as values only, never to choose the query's
 * shape; an argument that Kysely did not keep as a parameter (inlined, or used in a condition) is
 * refused when first compiled.
 */
export function compiledOnce<A extends unknown[], R>(
  build: (db: Kysely<Database>, ...args: A) => Compilable<R>,
): (db: Kysely<Database>, ...args: A) => Promise<R[]> {
  // Keyed by the adapter: the SQL differs between dialects, and a transaction is a Kysely instance
  // of its own that shares its database's adapter.
  const templates = new WeakMap<object, Template>();

  function templateFor(db: Kysely<Database>, arity: number): Template {
    const adapter = db.getExecutor().adapter;
    let template = templates.get(adapter);
    if (template === undefined) {
      const slots = Array.from({ length: arity }, (_, index) => new Slot(index));
      const { sql, parameters } = build(db, ...(slots as unknown as A)).compile();
      for (const slot of slots) {
        if (!parameters.includes(slot)) {
          throw new Error(
            `argument ${slot.index} of a query compiled once is not one of its parameters: ${sql}`,
          );
        }
      }
      template = { sql, parameters };
      templates.set(adapter, template);
    }
    return template;
  }

  return async (db, ...args) => (await db.executeQuery<R>(fill(templateFor(db, args.length), args))).rows;
}

function fill(template: Template, args: readonly unknown[]): CompiledQuery {
  const parameters = template.parameters.map((value) => (value instanceof Slot ? args[value.index] : value));
  return CompiledQuery.raw(template.sql, parameters);
}

/**
 * An INSERT of one row into `table`, compiled once. `every` names each of the table's columns
 * (the type checker sees that none is left out); a row without one of them, or with another, is
 * refused rather than written with a gap.
 */
export function compiledInsert<T extends keyof Database & string>(
  table: T,
  every: Record<keyof Database[T] & string, true>,
): (db: Kysely<Database>, row: Insertable<Database[T]>) => Promise<void> {
  const insert = rowInsert(table, every, (query) => query);
  return async (db, row) => {
    await insert(db, row);
  };
}

/**
 * The same for a table with a generated id: `every` names each column but `id`, and each call
 * answers the id the row was given.
 */
export function compiledInsertReturningId<T extends keyof Database & string>(
  table: T,
  every: Record<Exclude<keyof Database[T] & string, 'id'>, true>,
): (db: Kysely<Database>, row: Insertable<Database[T]>) => Promise<number> {
  const insert = rowInsert(table, every, (query) => query.returning('id' as never));
  return async (db, row) => {
    const [inserted] = (await insert(db, row)) as { id: number | string }[];
    return Number(inserted?.id);
  };
}

type InsertQuery = ReturnType<Kysely<Database>['insertInto']>;

function rowInsert(
  table: keyof Database & string,
  every: Record<string, true>,
  finish: (query: ReturnType<InsertQuery['values']>) => Compilable<unknown>,
) {
  const columns = Object.keys(every);
  const insert = compiledOnce((db, ...values: unknown[]) =>
    finish(
      db
        .insertInto(table)
        .values(Object.fromEntries(columns.map((column, i) => [column, values[i]])) as never),
    ),
  );
  return (db: Kysely<Database>, row: object) => {
    const fields = row as Record<string, unknown>;
    const values = columns.map((column) => fields[column]);
    if (Object.keys(fields).length !== columns.length || values.includes(undefined)) {
      throw new Error(`a row for ${table} must have exactly the columns ${columns.join(', ')}`);
    }
    return insert(db, ...values);
  };
}
