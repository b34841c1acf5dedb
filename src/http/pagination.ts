/** SPEC §2: 0-indexed `page`, `pageSize` 1..1000 (default 250), stable oldest-first order. */
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 250;
const MAX_PAGE = 2_147_483_647; // int32, as Cortex declares it

export const pageQueryProperties = {
  page: {
    type: 'integer',
    minimum: 0,
    maximum: MAX_PAGE,
    default: 0,
    description: 'Page number to return, 0-indexed.',
  },
  pageSize: {
    type: 'integer',
    minimum: 1,
    maximum: MAX_PAGE_SIZE,
    default: DEFAULT_PAGE_SIZE,
    description: `Number of results per page, 1 to ${MAX_PAGE_SIZE}.`,
  },
} as const;

/** The query-string schema of every list call. */
export const pageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: pageQueryProperties,
} as const;

export interface PageQuery {
  page: number;
  pageSize: number;
}

export const pageResponseProperties = {
  page: { type: 'integer', description: 'The page served (0-indexed).' },
  total: { type: 'integer', description: 'Items in all pages.' },
  totalPages: {
    type: 'integer',
    description: 'ceil(total / pageSize); 0 when empty.',
  },
} as const;

/** A list response (SPEC §2): the items under one array key, then page, total and totalPages. */
export function pageOf<K extends string, I extends object>(key: K, items: I) {
  return {
    type: 'object',
    required: [key, 'page', 'total', 'totalPages'],
    properties: { [key]: { type: 'array', items }, ...pageResponseProperties } as Record<
      K,
      { type: 'array'; items: I }
    > &
      typeof pageResponseProperties,
  } as const;
}

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

export function offsetOf(query: PageQuery): number {
  return query.page * query.pageSize;
}

/** A page whose items are already JSON text (src/db/json-page.ts). */
export interface JsonPageAnswer extends PageInfo {
  itemsJson: string;
}

/** Reads the page `query` asks for with `read(offset, limit)`, and adds the page's numbers. */
export async function jsonPageAnswer(
  query: PageQuery,
  read: (offset: number, limit: number) => Promise<{ itemsJson: string; total: number }>,
): Promise<JsonPageAnswer> {
  const { itemsJson, total } = await read(offsetOf(query), query.pageSize);
  return { itemsJson, ...pageInfo(query, total) };
}

/** The JSON content type Fastify gives serialised answers; a page built as text is sent with it. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * A list answer around items that are already JSON text, as the response schema would write it:
 * `{"<key>":[…],"page":…,"total":…,"totalPages":…}`. Sent as a string with a JSON content type,
 * Fastify passes it through unserialised.
 */
export function pageBody(key: string, answer: JsonPageAnswer): string {
  const { itemsJson, page, total, totalPages } = answer;
  return `{${JSON.stringify(key)}:${itemsJson},"page":${page},"total":${total},"totalPages":${totalPages}}`;
}
