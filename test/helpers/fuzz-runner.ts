/**
 * Sends generated requests one at a time and checks each: the reply (fuzz-oracle.ts), and for a
 * rejected request (status ≥ 400) that the store is as it was before it, save the audit record of
 * a denial. Requests go one at a time so that a change of state is pinned to the request that
 * made it: the snapshot after one request is the baseline of the next.
 */
import assert from 'node:assert/strict';
import type { RawClient } from './fuzz-http.js';
import { placeholdersOf } from './fuzz-openapi.js';
import { checkReply } from './fuzz-oracle.js';
import type { IdentifierPool } from './fuzz-pools.js';
import { certainlyRouted, describeRequest, type FuzzRequest, resolveRequest } from './fuzz-requests.js';
import { changedTables, type Snapshot, type StoreState } from './fuzz-state.js';
import type { Reply } from './http.js';

export interface FuzzerDeps {
  client: RawClient;
  state: StoreState;
  pools: ReadonlyMap<string, IdentifierPool>;
  adminToken: string;
  /** Called after each request to a protected route without a valid token. */
  afterUnauthenticated?: () => void;
  /**
   * Called after a request succeeded, to undo what would change every later request's answer
   * (an IP allowlist that shuts the fuzzer out); the store may change, so the next request takes
   * a fresh baseline.
   */
  afterSuccess?: (operationId: string, reply: Reply) => Promise<void>;
}

/** Requests sent per operation, by status class. */
export type Tally = Map<string, Record<'2xx' | '4xx' | 'other', number>>;

export class Fuzzer {
  /** The store as the last request left it; unset when something else may have written since. */
  private baseline: Snapshot | undefined;
  readonly tally: Tally = new Map();

  constructor(private readonly deps: FuzzerDeps) {}

  /** The property: send one request and check everything that must hold for it. */
  async check(request: FuzzRequest): Promise<void> {
    const { client, state, pools, adminToken } = this.deps;
    for (const name of placeholdersOf(request.operation.path)) {
      const pool = pools.get(name) as IdentifierPool;
      if (pool.low) {
        await pool.topUp();
        this.baseline = undefined;
      }
    }
    const before = this.baseline ?? (await state.snapshot());
    this.baseline = undefined;
    const raw = resolveRequest(request, pools, adminToken);
    const described = describeRequest(request, raw);
    let reply: Reply;
    try {
      reply = await client.send(raw);
    } catch (error) {
      throw new assert.AssertionError({ message: `no answer to ${described}: ${(error as Error).message}` });
    }
    this.count(request, reply.status);
    const after = await state.snapshot();
    this.baseline = after;

    const unauthenticated = request.operation.secured && request.authorization.kind === 'junk';
    if (unauthenticated) this.deps.afterUnauthenticated?.();
    checkReply(reply, { described, adminToken, unauthenticated, routed: certainlyRouted(request) });
    if (reply.status >= 400) await this.assertUnchanged(reply.status, before, after, described);
    else if (reply.status < 300) {
      this.track(request, reply);
      if (this.deps.afterSuccess !== undefined) {
        await this.deps.afterSuccess(request.operation.id, reply);
        this.baseline = undefined;
      }
    }
  }

  private async assertUnchanged(status: number, before: Snapshot, after: Snapshot, described: string) {
    const changed = changedTables(before, after);
    assert.deepEqual(changed, [], `rejected with ${status} but changed ${changed.join(', ')}: ${described}`);
    if (after.auditSeq === before.auditSeq) return;
    const events = await this.deps.state.auditEventsAfter(before.auditSeq);
    const denial = status === 401 || status === 403;
    const unexpected = events.filter((e) => !denial || e.outcome !== 'DENIED');
    assert.ok(
      unexpected.length === 0 && events.length <= 1,
      `rejected with ${status} but audited ${JSON.stringify(events)}: ${described}`,
    );
  }

  /** Keeps the pools in step with what exists: creates add a target, deletes remove one. */
  private track(request: FuzzRequest, reply: Reply) {
    const { pools } = this.deps;
    for (const pool of pools.values()) {
      const harvest = pool.spec.harvest;
      if (harvest?.operation === request.operation.id) pool.add(harvest.identifiers(reply.body));
    }
    if (request.operation.method !== 'DELETE') return;
    // The last placeholder names the deleted target. (A junk value that deleted something would
    // leave a stale entry: later requests then get 404s, which costs coverage, not correctness.)
    const name = placeholdersOf(request.operation.path).at(-1);
    const value = name === undefined ? undefined : request.path[name];
    const pool = name === undefined ? undefined : pools.get(name);
    if (value?.kind === 'known' && pool !== undefined) pool.forget(pool.pick(value.index));
  }

  private count(request: FuzzRequest, status: number) {
    let row = this.tally.get(request.operation.id);
    if (row === undefined) {
      row = { '2xx': 0, '4xx': 0, other: 0 };
      this.tally.set(request.operation.id, row);
    }
    const key = status >= 200 && status < 300 ? '2xx' : status >= 400 && status < 500 ? '4xx' : 'other';
    row[key] += 1;
  }
}
