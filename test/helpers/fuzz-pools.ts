/**
 * Identifiers of things that exist, per path placeholder (`cid`, `tagOrId`), so that generated
 * requests reach the handlers and not only the 404. The fuzzer generates an index; it is resolved
 * to an identifier when the request is sent. Successful creates add to a pool, successful deletes
 * remove from it, and a pool running low is topped up through the API.
 */

export interface PoolSpec {
  /** Creates a fresh target as the admin; returns the identifiers that name it (a tag and an id). */
  create(): Promise<string[]>;
  /** The operation whose success creates a target, and the identifiers in its reply. */
  harvest?: { operation: string; identifiers(body: any): string[] };
}

export class IdentifierPool {
  /** One entry per target: every identifier that names it. */
  private entries: string[][] = [];

  constructor(
    readonly spec: PoolSpec,
    /** Kept at least this many targets. */
    private readonly minimum: number,
  ) {}

  /** Whether a top-up is due (it writes to the store, so the caller snapshots after it). */
  get low(): boolean {
    return this.entries.length < this.minimum;
  }

  async topUp(): Promise<void> {
    while (this.low) this.entries.push(await this.spec.create());
  }

  /** The identifier an index names: targets in turn, then each target's other identifiers. */
  pick(index: number): string {
    const entry = this.entries[index % this.entries.length];
    if (entry === undefined) throw new Error('empty identifier pool: top it up first');
    return entry[Math.floor(index / this.entries.length) % entry.length] as string;
  }

  add(identifiers: string[]): void {
    if (identifiers.length > 0) this.entries.push(identifiers);
  }

  /** The target this identifier names is gone. */
  forget(identifier: string): void {
    this.entries = this.entries.filter((entry) => !entry.includes(identifier));
  }
}
