import { defineListing } from '../../db/listing/define-listing.js';
import { pageBlocks } from '../../db/listing/page-blocks.js';
import { toRole } from './roles.mapping.js';
import type { RoleRow } from './roles.table.js';

/**
 * `GET /api/v1/roles`: oldest first, then by tag. Roles are few and rarely listed: items are
 * rendered when read, none is stored.
 */
export const rolesListing = defineListing({
  table: 'roles',
  key: 'tag',
  order: { by: ['created_at', 'tag'], direction: 'asc' },
  // roleSchema's fields in its order, as toRole has them.
  fields: [
    { key: 'tag', column: 'tag' },
    { key: 'name', column: 'name' },
    { key: 'description', column: 'description' },
    { key: 'permissions', column: 'permissions', json: true },
    { key: 'secretTags', column: 'secret_tags', json: true },
    { key: 'createdDate', column: 'created_at' },
    { key: 'updatedDate', column: 'updated_at' },
  ],
  toItem: (row: RoleRow) => toRole(row),
  counting: pageBlocks(),
  storesItems: false,
});
