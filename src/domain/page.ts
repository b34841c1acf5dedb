/** A list request: the 0-indexed page and its size (SPEC §2; bounds in src/http/pagination.ts). */
export interface PageQuery {
  page: number;
  pageSize: number;
}

/** The rows a page skips before its first. */
export function offsetOf(query: PageQuery): number {
  return query.page * query.pageSize;
}

/** A page's numbers, as every list answer carries them. */
export interface PageInfo {
  page: number;
  total: number;
  totalPages: number;
}

export function pageInfo(query: PageQuery, total: number): PageInfo {
  return {
    page: query.page,
    total,
    totalPages: Math.ceil(total / query.pageSize),
  };
}

/**
 * The text form of a page's items: the JSON array the API answers with, made below the service
 * layer (the listing, src/db/listing/) so that a page of stored item texts is sent without mapping
 * a row. Opaque: only the HTTP edge writes it (src/http/pagination.ts, through `itemsJsonOf`);
 * everything else asks a page for its `items`.
 */
let readItemsJson: (page: Page<unknown>) => string;

/** One page of a list: its items, and where it stands in the whole list. */
export class Page<T> implements PageInfo {
  readonly page: number;
  readonly total: number;
  readonly totalPages: number;
  readonly #itemsJson: string;
  #items: readonly T[] | undefined;

  static {
    readItemsJson = (page) => page.#itemsJson;
  }

  /** `itemsJson`: the items as the JSON array text the response schema would write for them. */
  constructor(info: PageInfo, itemsJson: string) {
    this.page = info.page;
    this.total = info.total;
    this.totalPages = info.totalPages;
    this.#itemsJson = itemsJson;
  }

  /** The items as values (the response schema's objects), read back from their text when asked. */
  get items(): readonly T[] {
    this.#items ??= JSON.parse(this.#itemsJson) as T[];
    return this.#items;
  }

  /** A page with nothing on it: past the end, or asked with a filter that matches nothing. */
  static empty<T>(query: PageQuery, total = 0): Page<T> {
    return new Page<T>(pageInfo(query, total), '[]');
  }
}

/** The page's items as JSON array text, for the serializer that writes list answers. */
export function itemsJsonOf(page: Page<unknown>): string {
  return readItemsJson(page);
}
