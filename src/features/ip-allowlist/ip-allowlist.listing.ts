import { defineListing } from '../../db/listing/define-listing.js';
import { denseSequence } from '../../db/listing/dense-sequence.js';
import { toIpAllowlistEntry } from './ip-allowlist.mapping.js';
import type { IpAllowlistRow } from './ip-allowlist.table.js';

/**
 * `GET /api/v1/ip-allowlist`: the entries in the order they were given.
 *
 * Counted as a dense sequence (max − min + 1; a page seeks to `position >= offset`), which holds
 * because the list is only ever replaced whole (ip-allowlist.repository.ts): every entry is
 * deleted and the new ones are written at positions 0 to n − 1, in one transaction. No item
 * texts are kept: the list is small and rarely read by anyone but the nodes themselves.
 */
export const ipAllowlistListing = defineListing({
  table: 'ip_allowlist',
  key: 'position',
  order: { by: ['position'], direction: 'asc' },
  // As the serializer writes ipAllowlistEntrySchema: both properties are required, in this order.
  fields: [
    { key: 'address', column: 'address' },
    { key: 'description', column: 'description' },
  ],
  toItem: (row: IpAllowlistRow) => toIpAllowlistEntry(row),
  counting: denseSequence(),
  storesItems: false,
});
