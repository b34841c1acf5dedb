import { TesseraProblem, TesseraUnreachable } from '../../client/index.js';

/** A command used wrongly, or a setting missing: its message is the whole story (exit 2 for usage). */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/**
 * The line a failed command ends with. A problem shows its `detail`, its violations and its
 * `requestId` (what an operator looks up in the server's log); nothing here holds a token or a
 * value, since neither the problems nor these errors carry one.
 */
export function describeFailure(error: unknown): string {
  if (error instanceof TesseraProblem) {
    const violations = error.violations.map((v) => `\n  ${v.pointer}: ${v.description}`).join('');
    const request = error.requestId === undefined ? '' : ` (requestId ${error.requestId})`;
    return `${error.status} ${error.type}: ${error.detail}${request}${violations}`;
  }
  if (error instanceof TesseraUnreachable || error instanceof UsageError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return error.exitCode;
  // node:util's parseArgs: an unknown option or a missing value is a usage error too.
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
}

/** Rows as a table for people: one header line, columns padded to their widest cell. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function write(text: string): void {
  process.stdout.write(text);
}
