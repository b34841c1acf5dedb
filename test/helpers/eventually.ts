/**
 * The one way a test waits for something to happen: poll a condition until it holds, or fail after
 * a deadline with a message naming what never happened. A fixed sleep in its place either wastes
 * time or, on a loaded machine, is too short; a sleep is left only where time passing is what the
 * test is about, with a comment saying so.
 */
export interface EventuallyOptions {
  /** The deadline (default 10 s). */
  withinMs?: number;
  /** The pause between two checks (default 50 ms). */
  everyMs?: number;
}

/**
 * Calls `check` every `everyMs` until it returns a value other than `undefined` or `false`, and
 * returns that value; a check that throws counts as not yet (its last error is in the failure).
 * Fails with `${what}: not within ${withinMs} ms` when the deadline passes.
 */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { withinMs = 10_000, everyMs = 50 }: EventuallyOptions = {},
): Promise<T> {
  const deadline = performance.now() + withinMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (performance.now() >= deadline) {
      throw new Error(
        `${what}: not within ${withinMs} ms${last === undefined ? '' : ` (last error: ${last})`}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
