import type { Secret } from './secrets.service.js';
import type { SecretRow } from './secrets.table.js';

export const toSecret = (row: Pick<SecretRow, 'id' | 'name' | 'tag'>): Secret => ({
  id: row.id,
  name: row.name,
  tag: row.tag,
});
