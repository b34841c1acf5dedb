import type { FastifyReply } from 'fastify';
import { itemsJsonOf, type Page } from '../domain/page.js';

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

/** The JSON content type Fastify gives serialised answers; a page's body is sent with it. */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Sends a list answer as the response schema (`pageOf`) would write it,
 * `{"<key>":[…],"page":…,"total":…,"totalPages":…}`, around the page's items as the listing
 * rendered them (src/db/listing/): a page of stored item texts is sent without mapping a row.
 * A string with a JSON content type passes through Fastify unserialised.
 */
export function sendPage(reply: FastifyReply, key: string, page: Page<unknown>): FastifyReply {
  const { page: number, total, totalPages } = page;
  return reply
    .type(JSON_CONTENT_TYPE)
    .send(
      `{${JSON.stringify(key)}:${itemsJsonOf(page)},"page":${number},"total":${total},"totalPages":${totalPages}}`,
    );
}
