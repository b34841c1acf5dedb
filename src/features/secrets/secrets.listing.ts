import { defineListing } from '../../db/listing/define-listing.js';
import { pageBlocks } from '../../db/listing/page-blocks.js';
import { toSecret } from './secrets.mapping.js';
import type { ListedSecretRow } from './secrets.table.js';

/** `GET /api/v1/secrets`: oldest first, then by id (stable paging); values are never listed. */
export const secretsListing = defineListing({
  table: 'secrets',
  key: 'id',
  order: { by: ['created_at', 'id'], direction: 'asc' },
  // secretSchema's fields in its order, as toSecret has them.
  fields: [
    { key: 'id', column: 'id' },
    { key: 'name', column: 'name' },
    { key: 'tag', column: 'tag' },
  ],
  toItem: (row: ListedSecretRow) => toSecret(row),
  // Deleted anywhere.
  counting: pageBlocks(),
  storesItems: true,
});
