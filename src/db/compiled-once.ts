import { type Compilable, CompiledQuery, type Kysely } from 'kysely';
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
 * A query whose SQL is compiled once per database and then run with each call's arguments.
 *
 * Kysely builds a query's tree and compiles it to SQL on every call; on the hot path's reads that
 * is a good part of the request (docs/performance.md). `build` is called once per root Kysely
 * instance with slots in place of its arguments, and the compiled parameters become a template:
 * each call puts its arguments in the slots and keeps the query's own constants. So `build` must
 * use its arguments as values only, never to choose the query's shape; an argument that Kysely
 * did not keep as a parameter (inlined, or used in a condition) is refused when first compiled.
 * In a transaction, a Kysely instance of its own, the query is built as usual.
 */
export function compiledOnce<A extends unknown[], R>(
  build: (db: Kysely<Database>, ...args: A) => Compilable<R>,
): (db: Kysely<Database>, ...args: A) => Promise<R[]> {
  const templates = new WeakMap<Kysely<Database>, Template>();

  function templateFor(db: Kysely<Database>, arity: number): Template {
    let template = templates.get(db);
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
      templates.set(db, template);
    }
    return template;
  }

  return async (db, ...args) => {
    const compiled = db.isTransaction
      ? build(db, ...args).compile()
      : fill(templateFor(db, args.length), args);
    return (await db.executeQuery<R>(compiled)).rows;
  };
}

function fill(template: Template, args: readonly unknown[]): CompiledQuery {
  const parameters = template.parameters.map((value) => (value instanceof Slot ? args[value.index] : value));
  return CompiledQuery.raw(template.sql, parameters);
}
