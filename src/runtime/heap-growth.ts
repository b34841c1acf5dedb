import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full collection before it
 * collects again, in per cent: 100 is at most twice the live heap.
 *
 * Left to itself, V8 grows it up to fourfold when collections are quick, and on a machine with a
 * lot of memory the first limit is large too. Tessera's live heap is small (about 35 MB with a
 * million keys), but a list page or a reveal leaves short-lived rows that outlive a young
 * collection, so the old generation filled with garbage to 150 MB between full collections and
 * the process sat at 260 MiB under 1M-key list pages. With 100 it stays under 190 MiB; full
 * collections come more often, but each is small and marks concurrently, and throughput did not
 * move in the bench (docs/performance.md).
 */
export const HEAP_GROWING_PERCENT = 100;

const FLAG = '--heap-growing-percent';

/** The flag to set, unless the operator passed their own to node (theirs wins). */
export function heapGrowthFlag(execArgv: readonly string[]): string | undefined {
  if (execArgv.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`))) return undefined;
  return `${FLAG}=${HEAP_GROWING_PERCENT}`;
}

/**
 * Applies the bound to this process. V8 reads this flag each time it sets the next collection's
 * limit, so setting it after start-up takes effect (unlike the heap's maximum size).
 */
export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv): void {
  const flag = heapGrowthFlag(execArgv);
  if (flag !== undefined) v8.setFlagsFromString(flag);
}
