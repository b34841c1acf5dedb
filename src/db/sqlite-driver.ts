import type SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SqliteDialect,
  type TransactionSettings,
} from 'kysely';

/** Prepared statements kept per connection; the app issues a few dozen distinct queries. */
const STATEMENT_CACHE_SIZE = 256;
/** How long a statement or a transaction waits for another process's lock before failing. */
export const BUSY_TIMEOUT_MS = 5_000;

/**
 * Kysely's SQLite dialect with two changes that matter under load (see docs/performance.md):
 *
 * - statements are prepared once per SQL text and reused, instead of on every execution;
 * - callers take the single connection first come, first served. Kysely's own mutex wakes every
 *   waiter on each release and lets whichever runs first win, which gives some requests
 *   multi-second waits under 32 concurrent connections. After half a millisecond of handing it
 *   on, the next caller waits for the event loop to poll the sockets (FifoLock, TURN_MS).
 *
 * Everything else (the compiler, adapter and introspector) is Kysely's.
 */
export class SqliteQueueDialect extends SqliteDialect {
  readonly #database: SQLite.Database;

  constructor(database: SQLite.Database) {
    super({ database });
    this.#database = database;
  }

  override createDriver(): Driver {
    return new QueuedSqliteDriver(this.#database);
  }
}

/** What a query through `db` inside a write gets, instead of waiting forever for the connection. */
export const QUERY_INSIDE_WRITE =
  'query through db inside a write transaction: use the trx the write gave you';

/** A caller that asked for the connection while a transaction held it. */
interface Waiter {
  granted: boolean;
  refused: boolean;
  reject: (error: Error) => void;
}

/** A transaction from its begin to its commit or rollback, and who asked for the connection meanwhile. */
interface OpenTransaction {
  waiters: Waiter[];
}

class QueuedSqliteDriver implements Driver {
  readonly #database: SQLite.Database;
  readonly #connection: CachedStatementConnection;
  readonly #queue = new FifoLock();
  readonly #begin: SQLite.Statement;
  readonly #dontWait: SQLite.Statement;
  readonly #wait: SQLite.Statement;
  /** The transaction holding the connection, once begun; see #acquireDuring. */
  #open: OpenTransaction | undefined;

  constructor(database: SQLite.Database) {
    this.#database = database;
    this.#connection = new CachedStatementConnection(database);
    this.#begin = database.prepare('begin immediate');
    this.#dontWait = database.prepare('pragma busy_timeout = 0');
    this.#wait = database.prepare(`pragma busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const open = this.#open;
    if (open !== undefined) return this.#acquireDuring(open);
    await this.#queue.acquire();
    return this.#connection;
  }

  /**
   * The connection, asked for while a transaction holds it. A transaction runs to its commit
   * without the event loop getting a turn: better-sqlite3 answers at once, and a write does all
   * its storage work through the `trx` it was given. So a transaction still open at the loop's
   * next turn waits for something, and a caller that asked during it and still waits is the
   * transaction's own code querying through `db`: it would wait for the commit, and the commit
   * for it. That caller is refused with QUERY_INSIDE_WRITE. Costs nothing on the hot path: outside
   * a transaction's own run, nobody can ask for the connection while one is open.
   */
  #acquireDuring(open: OpenTransaction): Promise<DatabaseConnection> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { granted: false, refused: false, reject };
      open.waiters.push(waiter);
      if (open.waiters.length === 1) setImmediate(() => this.#refuseIfStillOpen(open));
      void this.#queue.acquire().then(() => {
        if (waiter.refused) {
          this.#queue.release();
        } else {
          waiter.granted = true;
          resolve(this.#connection);
        }
      });
    });
  }

  #refuseIfStillOpen(open: OpenTransaction): void {
    // Committed or rolled back in its own run, as every transaction should be: nobody waits on it.
    if (this.#open !== open) return;
    for (const waiter of open.waiters) {
      if (waiter.granted || waiter.refused) continue;
      waiter.refused = true;
      waiter.reject(new Error(QUERY_INSIDE_WRITE));
    }
  }

  /**
   * IMMEDIATE: the write lock is taken at the start, so a transaction never fails halfway on
   * SQLITE_BUSY because another process (a worker, the rekey command) wrote since it first read.
   * While another process holds the lock this waits on timers, not in SQLite's busy handler,
   * which sleeps on the event loop and would stall every request of this process meanwhile.
   */
  async beginTransaction(_connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      this.#dontWait.get();
      try {
        this.#begin.run();
        this.#open = { waiters: [] };
        return;
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
      } finally {
        this.#wait.get();
      }
      // Another process's commit takes well under a millisecond: look again on the next turn of
      // the event loop at first, then back off on timers.
      await new Promise((resolve) =>
        attempt < 50 ? setImmediate(resolve) : setTimeout(resolve, Math.min(attempt - 49, 16)),
      );
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
    // A failed commit leaves the transaction open until the rollback that follows it.
    this.#open = undefined;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('rollback'));
    } finally {
      this.#open = undefined;
    }
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint "${savepointName(name)}"`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to "${savepointName(name)}"`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release "${savepointName(name)}"`));
  }

  async releaseConnection(): Promise<void> {
    this.#queue.release();
  }

  async destroy(): Promise<void> {
    this.#database.close();
  }
}

/** Savepoint names are ours (never input); refuse anything that is not a plain identifier. */
function savepointName(name: string): string {
  if (!/^\w{1,64}$/.test(name)) throw new Error(`invalid savepoint name: ${name}`);
  return name;
}

/** A prepared statement, and for a reader the names of its result columns once known. */
interface Prepared {
  statement: SQLite.Statement;
  columns: string[] | undefined;
  /** DDL: running it may change other statements' columns. */
  changesSchema: boolean;
}

/** Statements that can change a table's columns: cached column names are dropped after one. */
const SCHEMA_CHANGE = /^\s*(create|alter|drop)\b/i;

class CachedStatementConnection implements DatabaseConnection {
  readonly #database: SQLite.Database;
  readonly #statements = new Map<string, Prepared>();

  constructor(database: SQLite.Database) {
    this.#database = database;
  }

  #prepare(sqlText: string): Prepared {
    let prepared = this.#statements.get(sqlText);
    if (prepared === undefined) {
      const statement = this.#database.prepare(sqlText);
      // Rows come back as arrays and become objects here: better-sqlite3 builds each row object
      // property by property in native code, which costs about 40% more on a page of 250 rows.
      if (statement.reader) statement.raw(true);
      prepared = { statement, columns: undefined, changesSchema: SCHEMA_CHANGE.test(sqlText) };
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.#statements.keys().next().value;
        if (oldest !== undefined) this.#statements.delete(oldest);
      }
      this.#statements.set(sqlText, prepared);
    }
    return prepared;
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const prepared = this.#prepare(compiledQuery.sql);
    const { statement } = prepared;
    const parameters = compiledQuery.parameters as unknown[];
    if (statement.reader) return Promise.resolve({ rows: toObjects<R>(prepared, statement.all(parameters)) });
    const { changes, lastInsertRowid } = statement.run(parameters);
    if (prepared.changesSchema) {
      for (const entry of this.#statements.values()) entry.columns = undefined;
    }
    return Promise.resolve({
      numAffectedRows: BigInt(changes),
      insertId: BigInt(lastInsertRowid),
      rows: [],
    });
  }

  // biome-ignore lint/correctness/useYield: the app never streams; refusing is clearer than a half-implementation.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported on the embedded database');
  }
}

/**
 * How long the connection may be handed from one caller to the next without the event loop
 * getting a turn. better-sqlite3 runs queries on the event loop, so without a bound, the requests
 * read in one turn are all served before the sockets are polled again, and a request arriving
 * just after the poll waits a whole round of them: p99 about twice the median under load. Half
 * a millisecond is two or three pages of 250 rows, or a few dozen small reads.
 */
export const TURN_MS = 0.5;

/**
 * A lock handed to waiters in arrival order. Taking a free lock costs no extra turn of the event
 * loop beyond the caller's own await, unless the lock has been passed on for `turnMs` already in
 * this turn: then the next grant waits for the event loop to poll, so requests that arrived in
 * the meantime queue up in arrival order instead of waiting for the next round.
 */
export class FifoLock {
  /** Taken, or promised to the first waiter on the next turn. */
  #held = false;
  readonly #waiters: (() => void)[] = [];
  readonly #turnMs: number;
  /** Whether grants have been made since the event loop last reached its check phase, and since when. */
  #inTurn = false;
  #turnStart = 0;
  readonly #endTurn = () => {
    this.#inTurn = false;
  };
  readonly #handOver = () => {
    this.#mayGrantNow();
    const next = this.#waiters.shift();
    if (next === undefined) this.#held = false;
    else next();
  };

  constructor(turnMs = TURN_MS) {
    this.#turnMs = turnMs;
  }

  /** True while this turn's grants have taken less than `turnMs`; the first grant of a turn starts the clock. */
  #mayGrantNow(): boolean {
    const now = performance.now();
    if (!this.#inTurn) {
      this.#inTurn = true;
      this.#turnStart = now;
      setImmediate(this.#endTurn);
      return true;
    }
    return now - this.#turnStart < this.#turnMs;
  }

  acquire(): Promise<void> {
    if (!this.#held && this.#mayGrantNow()) {
      this.#held = true;
      return Promise.resolve();
    }
    const granted = new Promise<void>((resolve) => this.#waiters.push(resolve));
    if (!this.#held) {
      this.#held = true;
      setImmediate(this.#handOver);
    }
    return granted;
  }

  release(): void {
    if (this.#waiters.length === 0) this.#held = false;
    else if (this.#mayGrantNow()) (this.#waiters.shift() as () => void)();
    else setImmediate(this.#handOver);
  }
}

/**
 * Array rows to objects keyed by column name. Names are read once per statement (asking costs
 * more than the query): again after this connection changes a schema, and whenever a row's width
 * disagrees with them, as after another process adds or drops a column. A later column of the
 * same name wins, as in better-sqlite3's own objects.
 */
function toObjects<R>(prepared: Prepared, rows: unknown[]): R[] {
  if (rows.length === 0) return [];
  let names = prepared.columns;
  if (names === undefined || names.length !== (rows[0] as unknown[]).length) {
    names = prepared.statement.columns().map((column) => column.name);
    // Assigning this name would replace the row's prototype; the app never selects it.
    if (names.includes('__proto__')) throw new Error('a result column may not be named __proto__');
    prepared.columns = names;
  }
  const objects = new Array<R>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const values = rows[i] as unknown[];
    const object: Record<string, unknown> = {};
    for (let j = 0; j < names.length; j++) object[names[j] as string] = values[j];
    objects[i] = object as R;
  }
  return objects;
}
