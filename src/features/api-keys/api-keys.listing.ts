import { defineListing } from '../../db/listing/define-listing.js';
import { pageBlocks } from '../../db/listing/page-blocks.js';
import { toApiKey } from './api-keys.mapping.js';
import type { ListedApiKeyRow } from './api-keys.table.js';

/**
 * `GET /api/v1/auth/key`: oldest first, then by cid (stable, so paging never skips or repeats).
 * A page reads what the API shows, no more: a page of 250 does not carry 250 token hashes.
 */
export const apiKeysListing = defineListing({
  table: 'api_keys',
  key: 'cid',
  order: { by: ['created_at', 'cid'], direction: 'asc' },
  // apiKeySchema's fields in its order, as toApiKey has them.
  fields: [
    { key: 'cid', column: 'cid' },
    { key: 'name', column: 'name' },
    { key: 'description', column: 'description' },
    { key: 'createdDate', column: 'created_at' },
    { key: 'expirationDate', column: 'expires_at' },
    { key: 'last4', column: 'last4' },
    { key: 'roles', column: 'roles', json: true },
    { key: 'allowedIps', column: 'allowed_ips', json: true },
    { key: 'rateLimitPerMinute', column: 'rate_limit_per_minute' },
    // Written by the batched flush alone, which leaves the item to the trigger (migration 0008).
    { key: 'lastUsedDate', column: 'last_used_at' },
  ],
  toItem: (row: ListedApiKeyRow) => toApiKey(row),
  // Deleted anywhere.
  counting: pageBlocks(),
  storesItems: true,
});
