/**
 * `.env` files, read and written. Read: `NAME=value` lines, optionally `export `-prefixed; `#`
 * comments and blank lines; values unquoted (trimmed, a ` #` starts a comment), single-quoted
 * (literal) or double-quoted (escapes \n \r \t \" \\ \$, and real line breaks: a value may span
 * lines). Written: every value double-quoted with those escapes, so any value (quotes, `$`, `#`,
 * line breaks) reads back as it was, by this reader and by the usual dotenv readers.
 */
export interface DotenvEntry {
  name: string;
  value: string;
}

export class DotenvError extends Error {
  override name = 'DotenvError';
}

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*/;

export function parseDotenv(text: string): DotenvEntry[] {
  const entries: DotenvEntry[] = [];
  const source = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  let at = 0;
  let line = 1;
  while (at < source.length) {
    const end = source.indexOf('\n', at) === -1 ? source.length : source.indexOf('\n', at);
    const current = source.slice(at, end);
    if (/^\s*(#.*)?$/.test(current)) {
      at = end + 1;
      line += 1;
      continue;
    }
    const head = LINE.exec(current);
    if (head === null) throw new DotenvError(`line ${line}: expected NAME=value`);
    const name = head[1] as string;
    const start = at + head[0].length;
    const quote = source[start];
    if (quote === '"' || quote === "'") {
      const { value, next } = quoted(source, start, quote, line);
      const rest = source.slice(
        next,
        source.indexOf('\n', next) === -1 ? source.length : source.indexOf('\n', next),
      );
      if (!/^\s*(#.*)?$/.test(rest))
        throw new DotenvError(`line ${line}: unexpected text after the closing quote`);
      entries.push({ name, value });
      const consumed = source.slice(at, next + rest.length);
      line += consumed.split('\n').length;
      at = next + rest.length + 1;
      continue;
    }
    entries.push({
      name,
      value: current
        .slice(head[0].length)
        .replace(/\s+#.*$/, '')
        .trim(),
    });
    at = end + 1;
    line += 1;
  }
  return entries;
}

function quoted(source: string, start: number, quote: string, line: number): { value: string; next: number } {
  let value = '';
  for (let i = start + 1; i < source.length; i += 1) {
    const char = source[i] as string;
    if (char === quote) return { value, next: i + 1 };
    if (char === '\\' && quote === '"' && i + 1 < source.length) {
      const escaped = source[i + 1] as string;
      value += ESCAPES[escaped] ?? `\\${escaped}`;
      i += 1;
      continue;
    }
    value += char;
  }
  throw new DotenvError(`line ${line}: the quoted value is not closed`);
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };

export function formatDotenv(entries: readonly DotenvEntry[]): string {
  return entries.map(({ name, value }) => `${name}="${escaped(value)}"\n`).join('');
}

function escaped(value: string): string {
  return value.replace(/[\\"$\n\r\t]/g, (char) => {
    switch (char) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\${char}`;
    }
  });
}
