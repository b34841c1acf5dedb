import { CompiledQuery, type Kysely } from 'kysely';
import type { Database, Dialect } from './database.js';

/** Units of work committed together at most; bounds how long one batch holds the database. */
const MAX_BATCH = 128;

export interface GroupCommitOptions {
  db: Kysely<Database>;
  /** Whether a unit may go without its savepoint (UnitOptions): on SQLite only. */
  dialect: Dialect;
  /**
   * Runs first in every batch's transaction. Take here the locks that every unit needs, so that
   * every batch takes its locks in the same order (units may take more locks after these).
   */
  begin?: (trx: Kysely<Database>) => Promise<void>;
  /** Runs last in every batch's transaction, after its units and just before the commit. */
  beforeCommit?: (trx: Kysely<Database>) => Promise<void>;
  /** Told after every batch whether its commit succeeded. */
  afterBatch?: (committed: boolean) => void;
  maxBatch?: number;
}

/** How a unit runs in its batch. */
export interface UnitOptions {
  /**
   * False for a unit that writes with one statement at most and does nothing after it that could
   * fail: SQLite undoes a statement that fails, whole, and the transaction goes on, so such a unit
   * fails alone without a savepoint of its own (two statements fewer per unit: a reveal's audit
   * event). PostgreSQL aborts the whole transaction instead, so there every unit keeps its
   * savepoint whatever this says. Default true.
   */
  savepoint?: boolean;
}

/** Runs units of work in shared transactions; each unit's promise settles after its commit. */
export interface GroupCommit {
  run<T>(unit: (trx: Kysely<Database>) => Promise<T>, options?: UnitOptions): Promise<T>;
}

interface Pending {
  savepoint: boolean;
  unit: (trx: Kysely<Database>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Outcome {
  pending: Pending;
  ok: boolean;
  value: unknown;
}

/** The statements of one savepoint, compiled once: Kysely's savepoint builder costs an object graph per unit. */
interface SavepointStatements {
  open: CompiledQuery;
  release: CompiledQuery;
  rollback: CompiledQuery;
}

const savepoints: SavepointStatements[] = [];

/** Unit `index`'s savepoint statements, in SQL that SQLite and PostgreSQL both accept. */
function savepointOf(index: number): SavepointStatements {
  let statements = savepoints[index];
  if (statements === undefined) {
    const name = `"unit_${index}"`;
    statements = {
      open: CompiledQuery.raw(`savepoint ${name}`),
      release: CompiledQuery.raw(`release savepoint ${name}`),
      rollback: CompiledQuery.raw(`rollback to savepoint ${name}`),
    };
    savepoints[index] = statements;
  }
  return statements;
}

/**
 * Group commit: units of work that arrive while a transaction is being committed wait for it and
 * then share the next one, so N concurrent writes cost one durable commit (one fsync on SQLite,
 * one round trip and one flush of the write-ahead log on PostgreSQL) instead of N.
 *
 * Each unit runs in a savepoint of its own: a unit that throws (a conflict, a 404 found inside
 * the transaction) is rolled back alone and its caller gets its error, while the other units of
 * the batch go on. No unit's promise settles before the batch's commit has returned, so every
 * acknowledged write is durable. If the commit itself fails, every unit of the batch gets that
 * error and none of their writes is stored.
 *
 * A unit must do all its storage work through the transaction it is given. On SQLite a query
 * through `db` would wait for the connection this batch holds, forever: the driver refuses it
 * instead with QUERY_INSIDE_WRITE (src/db/sqlite-driver.ts), and only that unit fails.
 */
export function createGroupCommit({
  db,
  dialect,
  begin,
  beforeCommit,
  afterBatch,
  maxBatch = MAX_BATCH,
}: GroupCommitOptions): GroupCommit {
  const statementsUndoAlone = dialect === 'sqlite';
  let queue: Pending[] = [];
  let flushing = false;

  async function runBatch(batch: Pending[]): Promise<Outcome[]> {
    const trx = await db.startTransaction().execute();
    const outcomes: Outcome[] = [];
    try {
      await begin?.(trx);
      for (const [index, pending] of batch.entries()) {
        if (!pending.savepoint) {
          try {
            outcomes.push({ pending, ok: true, value: await pending.unit(trx) });
          } catch (error) {
            outcomes.push({ pending, ok: false, value: error });
          }
          continue;
        }
        const savepoint = savepointOf(index);
        await trx.executeQuery(savepoint.open);
        try {
          const value = await pending.unit(trx);
          await trx.executeQuery(savepoint.release);
          outcomes.push({ pending, ok: true, value });
        } catch (error) {
          await trx.executeQuery(savepoint.rollback);
          outcomes.push({ pending, ok: false, value: error });
        }
      }
      await beforeCommit?.(trx);
      await trx.commit().execute();
    } catch (error) {
      await trx
        .rollback()
        .execute()
        .catch(() => {});
      afterBatch?.(false);
      throw error;
    }
    afterBatch?.(true);
    return outcomes;
  }

  async function flush(): Promise<void> {
    flushing = true;
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        for (const { pending, ok, value } of await runBatch(batch)) {
          if (ok) pending.resolve(value);
          else pending.reject(value);
        }
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    flushing = false;
  }

  return {
    run<T>(unit: (trx: Kysely<Database>) => Promise<T>, options?: UnitOptions): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({
          unit,
          savepoint: !statementsUndoAlone || (options?.savepoint ?? true),
          resolve: resolve as (value: unknown) => void,
          reject,
        });
        // Let the requests already in this turn of the event loop join the first batch.
        if (!flushing) {
          flushing = true;
          setImmediate(() => void flush());
        }
      });
    },
  };
}
