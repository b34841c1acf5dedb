/**
 * Every item of a paginated list, page after page, as an async iterator. Lists are ordered oldest
 * first, so walking page 0, 1, ... neither skips nor repeats an item that existed when the walk
 * began. Pages are as large as the API allows, to take the fewest round trips.
 */
export const PAGE_SIZE = 1000;

export interface PageOf {
  page: number;
  totalPages: number;
}

export async function* allPages<Item>(
  fetchPage: (page: number, pageSize: number) => Promise<PageOf>,
  itemsOf: (reply: PageOf) => readonly Item[],
  pageSize = PAGE_SIZE,
): AsyncGenerator<Item, void, undefined> {
  for (let page = 0; ; page += 1) {
    const reply = await fetchPage(page, pageSize);
    yield* itemsOf(reply);
    if (page + 1 >= reply.totalPages) return;
  }
}
