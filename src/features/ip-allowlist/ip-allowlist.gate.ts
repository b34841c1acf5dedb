import type { Kysely } from 'kysely';
import type { ChangeNoticeBus } from '../../cluster/change-notice-bus.js';
import { InvalidatedCache } from '../../cluster/invalidated-cache.js';
import type { Database } from '../../db/database.js';
import { UnavailableError } from '../../domain/errors.js';
import { AddressMatcher } from '../../domain/ip-ranges.js';
import type { MaybePromise } from '../../runtime/maybe-promise.js';
import { readAllowedAddresses } from './ip-allowlist.repository.js';

/** The id the list's change notices travel under on the change-notice bus. */
export const IP_ALLOWLIST_OWNER = 'ip-allowlist';
/**
 * A belt on top of the notices: a node reads the list again at least this often. It is also how a
 * change made outside any server (`tessera recover-admin --clear-ip-allowlist`) reaches the
 * servers that are running, since nothing announces it.
 */
export const IP_ALLOWLIST_TTL_MS = 10_000;

/** The list as a node checks it: no matcher when it is empty (every address is allowed). */
interface Snapshot {
  matcher: AddressMatcher | undefined;
}

export interface IpAllowlistGate {
  /**
   * Whether a client address may call at all: at once from the node's copy of the list, after a
   * storage read when the copy cannot be trusted (none yet, expired, or the bus is unhealthy).
   * Throws (or rejects with) an UnavailableError when the list cannot be read: never "allowed".
   */
  admits(ip: string): MaybePromise<boolean>;
  /** After a change has committed: every node drops its copy (this one at once). */
  changed(): Promise<void>;
}

/**
 * The IP allowlist as every request checks it: in memory on each node, as a matcher, dropped on
 * every node by a change notice (the same bus as keys and secrets) and read again on the next
 * request. Without a bus (`uncached`: other nodes could not tell this one) or while the bus is
 * unhealthy, every check reads storage. Concurrent reads are shared: a check joins a read under
 * way unless this node has heard of a change since that read began.
 */
export function createIpAllowlistGate(
  db: Kysely<Database>,
  bus: ChangeNoticeBus | undefined,
  onLookup?: (hit: boolean) => void,
): IpAllowlistGate {
  const cache =
    bus === undefined
      ? undefined
      : new InvalidatedCache<Snapshot>(bus, {
          ownerOf: () => IP_ALLOWLIST_OWNER,
          onLookup,
          maxEntries: 1,
          ttlMs: IP_ALLOWLIST_TTL_MS,
        });
  /** Bumped by every change this node hears of: a read begun before it is not joined. */
  let generation = 0;
  bus?.subscribe((owner) => {
    if (owner === IP_ALLOWLIST_OWNER) generation++;
  });
  bus?.onReconnect(() => generation++);
  let reading: { generation: number; snapshot: Promise<Snapshot> } | undefined;

  async function read(): Promise<Snapshot> {
    const ticket = cache?.ticket() ?? 0;
    let addresses: string[];
    try {
      addresses = await readAllowedAddresses(db);
    } catch (error) {
      throw new UnavailableError(
        'IP allowlist unavailable',
        'The IP allowlist could not be read, so no request is admitted; retry shortly',
        error,
      );
    }
    const snapshot = { matcher: addresses.length === 0 ? undefined : AddressMatcher.of(addresses) };
    cache?.set(IP_ALLOWLIST_OWNER, snapshot, ticket);
    return snapshot;
  }

  function current(): MaybePromise<Snapshot> {
    const cached = cache?.get(IP_ALLOWLIST_OWNER);
    if (cached !== undefined) return cached;
    if (reading === undefined || reading.generation !== generation) {
      const started = { generation, snapshot: read() };
      reading = started;
      const done = () => {
        if (reading === started) reading = undefined;
      };
      started.snapshot.then(done, done);
    }
    return reading.snapshot;
  }

  const allows = (snapshot: Snapshot, ip: string) => snapshot.matcher?.matches(ip) ?? true;

  return {
    admits(ip) {
      const snapshot = current();
      return snapshot instanceof Promise ? snapshot.then((s) => allows(s, ip)) : allows(snapshot, ip);
    },
    async changed() {
      generation++;
      await cache?.invalidate(IP_ALLOWLIST_OWNER);
    },
  };
}
