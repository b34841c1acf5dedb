import type { Kysely } from 'kysely';
import type { Database, Dialect } from '../../db/database.js';
import { lockWithinTransaction } from '../../db/locks.js';
import { ConflictError } from '../../domain/errors.js';
import * as repo from './api-keys.repository.js';
import type { ApiKeyRow } from './api-keys.table.js';

/** Deleting an ADMIN key needs another ADMIN key that stays valid at least this long. */
const ADMIN_SUCCESSOR_VALID_FOR_MS = 3_600_000;

function isExpired(row: Pick<ApiKeyRow, 'expires_at'>, now: Date): boolean {
  return row.expires_at !== null && row.expires_at <= now.toISOString();
}

/**
 * Inside the transaction deleting `target`: refuses to delete the last valid ADMIN key, which
 * would leave nobody able to administer the service. Deletes of ADMIN keys take one lock, so two
 * cannot each see the other's key as the successor.
 */
export async function refuseDeletingLastAdmin(
  trx: Kysely<Database>,
  dialect: Dialect,
  target: Pick<ApiKeyRow, 'cid' | 'is_admin' | 'expires_at'>,
  at: Date,
): Promise<void> {
  if (target.is_admin !== 1 || isExpired(target, at)) return;
  await lockWithinTransaction(trx, dialect, 'admin-keys');
  // Another ADMIN key that expires in a moment would leave nobody able to administer
  // the service soon after: only keys that stay valid long enough to act count.
  const validUntil = new Date(at.getTime() + ADMIN_SUCCESSOR_VALID_FOR_MS).toISOString();
  const others = await repo.countOtherActiveAdmins(trx, target.cid, validUntil);
  if (others === 0) {
    throw new ConflictError(
      'Cannot delete the last admin key',
      `API key '${target.cid}' is the last key holding ADMIN that stays valid for at least an hour; create another admin key first`,
    );
  }
}
