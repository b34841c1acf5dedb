import type { Counting } from './counting.js';

/**
 * No counting at all, for a list that is only ever read through a filter (one webhook's
 * deliveries): a filtered page counts its matches exactly, so inserts and deletes keep no counts,
 * and a table written by every audited change pays nothing for being listed.
 */
export function filteredOnly(): Counting {
  return {
    check() {},
    inserted: async () => {},
    deleted: async () => {},
    async pageStart(_db, list) {
      throw new Error(`${list.table} is listed only through a filter`);
    },
    rebuild: async () => {},
  };
}
