import { apiKeysListing } from './api-keys/api-keys.listing.js';
import { auditListing } from './audit/audit.listing.js';
import { ipAllowlistListing } from './ip-allowlist/ip-allowlist.listing.js';
import { rolesListing } from './roles/roles.listing.js';
import { secretsListing } from './secrets/secrets.listing.js';
import { deliveriesListing, webhooksListing } from './webhooks/webhooks.listing.js';

/**
 * Every listed table's declaration: what the list-item backfill walks at start-up, and what the
 * trigger drift test (test/db/listing-trigger-drift.test.ts) holds against the schema.
 */
export const LISTINGS = [
  apiKeysListing,
  secretsListing,
  auditListing,
  ipAllowlistListing,
  rolesListing,
  webhooksListing,
  deliveriesListing,
] as const;
