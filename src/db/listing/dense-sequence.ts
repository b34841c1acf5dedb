import { sql } from 'kysely';
import type { Counting } from './counting.js';

/**
 * Counting by arithmetic, for a list ordered by an integer key whose values are one contiguous
 * range: nothing is inserted but at the end, and nothing deleted but a prefix. Then the total is
 * max − min + 1 (two index look-ups), and the row `offset` rows into the list has the key
 * max − offset (newest first) or min + offset (oldest first), so a page seeks straight to it.
 * Nothing is written when a row is added or removed: the table's own key is the count. The
 * listing that declares it says why its table keeps the range contiguous.
 */
export function denseSequence(): Counting {
  return {
    check(list) {
      if (list.order.by.length !== 1 || list.order.by[0] !== list.key) {
        throw new Error(`a dense sequence counts a list ordered by its key alone; ${list.table} is not`);
      }
    },
    inserted: async () => {},
    deleted: async () => {},
    async pageStart(db, list, offset) {
      const key = sql.ref(list.key);
      const table = sql.table(list.table);
      // Two scalar subqueries: each is one end of the key's index (a single min() or max() is
      // read from the index on both databases; one select of both would scan on SQLite).
      const { rows } = await sql<{ first: number | string | null; last: number | string | null }>`
        select (select min(${key}) from ${table}) as ${sql.ref('first')},
               (select max(${key}) from ${table}) as ${sql.ref('last')}`.execute(db);
      const { first, last } = rows[0] ?? { first: null, last: null };
      if (first === null || last === null) return { total: 0, start: undefined };
      const total = Number(last) - Number(first) + 1;
      if (offset >= total) return { total, start: undefined };
      const from = list.order.direction === 'desc' ? Number(last) - offset : Number(first) + offset;
      return { total, start: { from: [from], skip: 0 } };
    },
    rebuild: async () => {},
  };
}
