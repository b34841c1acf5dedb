import type { Store } from '../../db/database.js';
import { lockWithinTransaction } from '../../db/locks.js';
import type { Caller } from '../../domain/caller.js';
import { InvalidInputError, throwIfViolations, type Violation, violation } from '../../domain/errors.js';
import type { Page, PageQuery } from '../../domain/page.js';
import { type AuditActor, type AuditLog, keyActor, systemActor } from '../audit/audit.log.js';
import type { IpAllowlistGate } from './ip-allowlist.gate.js';
import type { IpAllowlistEntry } from './ip-allowlist.mapping.js';
import * as repo from './ip-allowlist.repository.js';
import { addressProblem, type IpAllowlistEntryInput, listAdmits, storedEntry } from './ip-allowlist.rules.js';

export interface IpAllowlistServiceDeps {
  store: Store;
  audit: AuditLog;
  /** This node's copy of the list, dropped on every node after a change. */
  gate?: IpAllowlistGate | undefined;
}

/** One entry as `validate` answers it: Cortex's ValidIpAllowlistEntry or InvalidIpAllowlistEntry. */
export type ValidatedEntry =
  | (IpAllowlistEntry & { valid: true })
  | (IpAllowlistEntry & { valid: false; message: string });

/**
 * The IP allowlist's operations. The list is replaced whole or not at all; entries are kept as
 * sent, in order, duplicates included (the list lets in the union of its ranges, so a duplicate
 * changes nothing). Checking clients against it is the gate's (ip-allowlist.gate.ts).
 */
export function createIpAllowlistService({ store, audit, gate }: IpAllowlistServiceDeps) {
  const { db, dialect } = store;

  /** Replaces the list and records it in one transaction, then has every node drop its copy. */
  async function write(entries: readonly IpAllowlistEntry[], actor: AuditActor, detail: string) {
    await audit.run(async (trx, record) => {
      // Two replaces at once on PostgreSQL would each delete what they see and insert the same
      // positions: one at a time (SQLite's single writer does this already).
      await lockWithinTransaction(trx, dialect, 'ip-allowlist');
      await repo.replaceIpAllowlist(trx, entries);
      await record({ actor, action: 'UPDATE', objectType: 'IP_ALLOWLIST', objectId: null, detail });
    });
    await gate?.changed();
  }

  return {
    async list(query: PageQuery): Promise<Page<IpAllowlistEntry>> {
      return repo.listIpAllowlist(db, dialect, query);
    },

    /** Each entry checked on its own, nothing saved. */
    validate(entries: readonly IpAllowlistEntryInput[]): ValidatedEntry[] {
      return entries.map((input) => {
        const entry = storedEntry(input);
        const problem = addressProblem(entry.address);
        return problem === undefined
          ? { ...entry, valid: true }
          : { ...entry, valid: false, message: `'${entry.address.slice(0, 64)}' ${problem}` };
      });
    },

    /**
     * Replaces the whole list. A non-empty list that would not let the caller's own address in is
     * refused unless `force`: saved, it would refuse the caller's next request.
     */
    async replace(
      caller: Caller & { ip: string },
      inputs: readonly IpAllowlistEntryInput[],
      force: boolean,
    ): Promise<void> {
      const entries = inputs.map(storedEntry);
      const violations: Violation[] = [];
      entries.forEach((entry, i) => {
        const problem = addressProblem(entry.address);
        if (problem !== undefined) {
          violations.push(violation(`/body/entries/${i}/address`, `'entries.${i}.address' ${problem}`));
        }
      });
      throwIfViolations(violations);
      const admitsCaller = listAdmits(entries, caller.ip);
      if (!admitsCaller && !force) {
        const detail =
          `The list does not contain your address ${caller.ip}: saved, it would refuse your next request. ` +
          'Add your address, or send force=true to save the list anyway';
        throw new InvalidInputError(detail, [violation('/body/entries', detail)]);
      }
      const detail =
        entries.length === 0
          ? 'emptied: every address allowed'
          : `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}${admitsCaller ? '' : ", forced: the caller's address is not in it"}`;
      await write(entries, keyActor(caller), detail);
    },

    /** Empties the list (every address allowed again): `tessera recover-admin --clear-ip-allowlist`. */
    async clear(by: string): Promise<void> {
      await write([], systemActor(by), 'emptied: every address allowed');
    },
  };
}

export type IpAllowlistService = ReturnType<typeof createIpAllowlistService>;
