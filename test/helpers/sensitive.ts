/**
 * The leak scan: no token, secret value or master key may appear in a server's log lines, error
 * replies, database rows or data files, neither in plaintext nor in a common encoding.
 *
 * Every sensitive string a test handles is registered here (test/helpers/http.ts registers what
 * crosses the wire, test/helpers/server.ts each server's bootstrap token and master key), and
 * `scanTestServer` runs when a test server closes. The registry is per process: the test runner
 * runs each test file in a process of its own, so it holds what that file's tests handled, and a
 * string registered on one server is looked for on every server the file closes later (a restart
 * on the same data folder sees the same data).
 *
 * Findings name where the string was found and a fingerprint (its first 4 characters and its
 * length), never the string itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { sql } from 'kysely';
import type { Store } from '../../src/db/database.js';

// ---------------------------------------------------------------------------------------------
// The registry.

/**
 * Shorter strings are ignored: a 3-character value (or a key's `last4`, returned by design)
 * occurs by chance in any database file.
 */
export const MIN_SENSITIVE_LENGTH = 8;
/** So are strings of fewer distinct characters ('x'.repeat(4096)): they match padding and names. */
const MIN_DISTINCT_CHARACTERS = 4;
/**
 * Longer values are looked for by their first 1,024 characters: a 2 MB value would otherwise cost
 * megabytes of patterns per form, and a leak that keeps the start of a value is caught all the same.
 */
export const LOOKED_FOR_LENGTH = 1024;

export type SensitiveKind = 'token' | 'secret value' | 'master key';

export interface Sensitive {
  kind: SensitiveKind;
  /** What is looked for, as text; undefined for binary (a master key). */
  text: string | undefined;
  bytes: Buffer;
  /** Safe to print: the first 4 characters and the length. */
  fingerprint: string;
}

/** The hex of each string looked for (its forms are in `index`, below). */
const registered = new Set<string>();

/** Registers a string to look for; false when it is too short or too plain to be meaningful. */
export function registerSensitive(value: string | Buffer, kind: SensitiveKind): boolean {
  const units = head(value);
  if (units.length < MIN_SENSITIVE_LENGTH || new Set(units).size < MIN_DISTINCT_CHARACTERS) return false;
  const text = typeof value === 'string' ? (units as string[]).join('') : undefined;
  const bytes = text === undefined ? (value as Buffer).subarray(0, LOOKED_FOR_LENGTH) : Buffer.from(text);
  const id = bytes.toString('hex');
  if (registered.has(id)) return true;
  const sensitive: Sensitive = { kind, text, bytes, fingerprint: fingerprintOf(value) };
  registered.add(id);
  for (const form of leakForms(sensitive)) index.add(form);
  stats.registered += 1;
  return true;
}

/** The first LOOKED_FOR_LENGTH characters (code points) or bytes. */
function head(value: string | Buffer): (string | number)[] {
  const units: (string | number)[] = [];
  for (const unit of value) {
    if (units.length === LOOKED_FOR_LENGTH) break;
    units.push(unit);
  }
  return units;
}

/** `tsk_… (53 chars)`, `binary, 32 bytes`: enough to tell strings apart, not to recover one. */
export function fingerprintOf(value: string | Buffer): string {
  if (typeof value !== 'string') return `binary, ${value.length} bytes`;
  return `${head(value).slice(0, 4).join('')}… (${value.length} chars)`;
}

/** `text` with every registered string, in any of its forms, replaced by its fingerprint. */
export function redacted(text: string): string {
  // A path may hold a string percent-encoded: it is said decoded, with the string replaced.
  let out = percentDecoded(Buffer.from(text))?.toString('utf8') ?? text;
  for (const form of index.forms()) {
    const written = form.bytes.toString('utf8');
    if (out.includes(written))
      out = out.replaceAll(written, `[${form.sensitive.kind} ${form.sensitive.fingerprint}]`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The forms a leaked string takes.

export interface LeakForm {
  sensitive: Sensitive;
  /** 'plaintext', 'hex', 'base64 (from byte 1)', ... */
  encoding: string;
  bytes: Buffer;
}

/**
 * Plaintext, JSON-escaped, URL-encoded, hex (both cases), base64 and base64url. Base64 depends on
 * where the string starts in the encoded stream (a token inside a base64 blob starts at any byte),
 * so the forms are the encoded runs of whole 3-byte groups at each of the three alignments.
 * Forms shorter than MIN_SENSITIVE_LENGTH are left out: they would match by chance.
 */
export function leakForms(sensitive: Sensitive): LeakForm[] {
  const { bytes, text } = sensitive;
  const forms: [string, string | Buffer][] = [['plaintext', bytes]];
  if (text !== undefined) {
    const json = JSON.stringify(text).slice(1, -1);
    forms.push(['JSON-escaped', json]);
    forms.push(['JSON-escaped, ASCII only', json.replace(/[^\x20-\x7e]/g, unicodeEscape)]);
    forms.push(['URL-encoded', encodeURIComponent(text)]);
    forms.push(['form-encoded', new URLSearchParams({ v: text }).toString().slice(2)]);
  }
  forms.push(['hex', bytes.toString('hex')], ['HEX', bytes.toString('hex').toUpperCase()]);
  for (const skip of [0, 1, 2]) {
    const whole = bytes.subarray(skip, skip + Math.floor((bytes.length - skip) / 3) * 3);
    const at = skip === 0 ? '' : ` (from byte ${skip})`;
    forms.push([`base64${at}`, whole.toString('base64')], [`base64url${at}`, whole.toString('base64url')]);
  }
  const seen = new Set<string>();
  const out: LeakForm[] = [];
  for (const [encoding, form] of forms) {
    const formBytes = typeof form === 'string' ? Buffer.from(form, 'utf8') : form;
    const id = formBytes.toString('hex');
    if (formBytes.length < MIN_SENSITIVE_LENGTH || seen.has(id)) continue;
    seen.add(id);
    out.push({ sensitive, encoding, bytes: formBytes });
  }
  return out;
}

/** `\u00e9` for one UTF-16 code unit (the regex above has no `u` flag: surrogates come singly). */
function unicodeEscape(unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Finding every form in one pass: hundreds of strings times a dozen forms against megabytes of
// database file would take seconds with one `includes` per form. Forms are bucketed by their
// first three bytes, with a bitmap in front so that most positions cost one array read.

class FormIndex {
  private readonly bitmap = new Uint8Array(1 << 21);
  private readonly buckets = new Map<number, LeakForm[]>();

  add(form: LeakForm): void {
    const key = form.bytes.readUIntLE(0, 3);
    this.bitmap[key >> 3] = (this.bitmap[key >> 3] as number) | (1 << (key & 7));
    const bucket = this.buckets.get(key);
    if (bucket === undefined) this.buckets.set(key, [form]);
    else bucket.push(form);
  }

  *forms(): Iterable<LeakForm> {
    for (const bucket of this.buckets.values()) yield* bucket;
  }

  /** Each form found in `haystack`, once, with the offset of its first occurrence. */
  find(haystack: Buffer): { form: LeakForm; offset: number }[] {
    let found: Map<LeakForm, number> | undefined; // made on the first hit: most haystacks have none
    const { bitmap } = this;
    const end = haystack.length - 2;
    // Indexed reads within bounds (i + 2 < length): the casts only tell TypeScript so.
    for (let i = 0; i < end; i++) {
      const key =
        (haystack[i] as number) | ((haystack[i + 1] as number) << 8) | ((haystack[i + 2] as number) << 16);
      if (((bitmap[key >> 3] as number) & (1 << (key & 7))) === 0) continue;
      for (const form of this.buckets.get(key) ?? []) {
        const length = form.bytes.length;
        if (found?.has(form) === true || i + length > haystack.length) continue;
        if (haystack.compare(form.bytes, 0, length, i, i + length) === 0) {
          found ??= new Map();
          found.set(form, i);
        }
      }
    }
    return found === undefined ? [] : [...found].map(([form, offset]) => ({ form, offset }));
  }
}

const index = new FormIndex();

// ---------------------------------------------------------------------------------------------
// Scanning.

/** Something to look through: a log line, a reply, a database cell, a file. */
export interface Source {
  /** Where, for the message: `log line 12`, `file tessera.db-wal`; a function when costly to say. */
  where: string | (() => string);
  content: string | Buffer;
  /** Registered strings this source may hold by design (the bootstrap key file's token). */
  allows?: (sensitive: Sensitive) => boolean;
}

export interface Finding {
  where: string;
  kind: SensitiveKind;
  fingerprint: string;
  encoding: string;
  offset: number;
}

/**
 * Every registered string found in the sources, in any of its forms, and in any of its forms once
 * the source is percent-decoded: a URL may carry a string with any of its characters escaped
 * (`tsk%5F…`, `%74sk_…`), which no fixed list of forms covers. A string found as written is not
 * reported again from the decoded text.
 */
export function findLeaks(sources: Iterable<Source>): Finding[] {
  const findings: Finding[] = [];
  for (const source of sources) {
    const bytes = typeof source.content === 'string' ? Buffer.from(source.content, 'utf8') : source.content;
    stats.bytes += bytes.length;
    const seen = new Set<Sensitive>();
    const report = (form: LeakForm, offset: number, encoding: string) => {
      if (source.allows?.(form.sensitive) === true) return;
      seen.add(form.sensitive);
      findings.push({
        where: typeof source.where === 'string' ? source.where : source.where(),
        kind: form.sensitive.kind,
        fingerprint: form.sensitive.fingerprint,
        encoding,
        offset,
      });
    };
    for (const { form, offset } of index.find(bytes)) report(form, offset, form.encoding);
    const decoded = percentDecoded(bytes);
    if (decoded !== undefined) {
      for (const { form, offset } of index.find(decoded)) {
        if (!seen.has(form.sensitive)) report(form, offset, `percent-encoded, then ${form.encoding}`);
      }
    }
  }
  stats.findings += findings.length;
  return findings;
}

const PERCENT = 0x25;

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * `bytes` with every `%XX` (either case) replaced by the byte it stands for, leniently: a `%` not
 * followed by two hex digits stays as it is (where `decodeURIComponent` would throw); undefined
 * when there is nothing to decode. Offsets in the result are offsets in the decoded text.
 */
export function percentDecoded(bytes: Buffer): Buffer | undefined {
  let at = bytes.indexOf(PERCENT);
  if (at === -1) return undefined;
  const out = Buffer.allocUnsafe(bytes.length);
  let length = bytes.copy(out, 0, 0, at);
  let changed = false;
  for (; at < bytes.length; at++) {
    const byte = bytes[at] as number;
    const high = byte === PERCENT ? hexValue(bytes[at + 1]) : -1;
    const low = high === -1 ? -1 : hexValue(bytes[at + 2]);
    if (low === -1) {
      out[length++] = byte;
    } else {
      out[length++] = (high << 4) | low;
      at += 2;
      changed = true;
    }
  }
  return changed ? out.subarray(0, length) : undefined;
}

export class LeakError extends Error {
  override name = 'LeakError';
  constructor(readonly findings: readonly Finding[]) {
    const lines = findings
      .slice(0, 20)
      .map((f) => `  ${f.kind} ${f.fingerprint}, ${f.encoding}, in ${f.where} at offset ${f.offset}`);
    if (findings.length > 20) lines.push(`  ... and ${findings.length - 20} more`);
    super(`leak scan: ${findings.length} sensitive string(s) found\n${lines.join('\n')}`);
  }
}

/** Throws a LeakError naming every finding. */
export function assertNoLeaks(sources: Iterable<Source>): void {
  const findings = findLeaks(sources);
  if (findings.length > 0) throw new LeakError(findings);
}

// ---------------------------------------------------------------------------------------------
// Error replies, kept per server (base URL) by test/helpers/http.ts until the server closes.

export interface ErrorReply {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  text: string;
}

const errorReplies = new Map<string, ErrorReply[]>();

export function recordErrorReply(baseUrl: string, reply: ErrorReply): void {
  let replies = errorReplies.get(baseUrl);
  if (replies === undefined) {
    replies = [];
    errorReplies.set(baseUrl, replies);
  }
  replies.push(reply);
}

/** The error replies seen from `baseUrl`, forgotten here (a later server may reuse the port). */
export function takeErrorReplies(baseUrl: string): ErrorReply[] {
  const replies = errorReplies.get(baseUrl) ?? [];
  errorReplies.delete(baseUrl);
  return replies;
}

export function errorReplySources(replies: readonly ErrorReply[]): Source[] {
  return replies.map((reply, i) => ({
    // The path may hold the very string found (a token pasted into a URL): said redacted.
    where: () => `error reply ${i} (${reply.method} ${redacted(reply.path)}: ${reply.status})`,
    content: `${[...reply.headers].map(([name, value]) => `${name}: ${value}`).join('\n')}\n\n${reply.text}`,
  }));
}

export function logSources(lines: readonly string[]): Source[] {
  return lines.map((line, i) => ({ where: `log line ${i}`, content: line }));
}

// ---------------------------------------------------------------------------------------------
// At rest: the database's rows and the data folder's files.

/** Every cell of every table of the store (this schema only on PostgreSQL), text and blobs. */
export async function databaseSources(store: Store): Promise<Source[]> {
  const tables =
    store.dialect === 'sqlite'
      ? await sql<{
          name: string;
        }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(store.db)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables
          where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(store.db);
  const sources: Source[] = [];
  for (const { name } of tables.rows) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(store.db);
    rows.forEach((row, i) => {
      for (const [column, value] of Object.entries(row)) {
        if (typeof value === 'string' || value instanceof Uint8Array) {
          const content = typeof value === 'string' ? value : Buffer.from(value);
          sources.push({ where: () => `database ${name} row ${i} column ${column}`, content });
        }
      }
    });
  }
  stats.cells += sources.length;
  return sources;
}

/** What the data folder's two key files may hold by design, and nothing else sensitive. */
export interface DataFolderOwner {
  /** The token of the bootstrap key: `bootstrap-admin.key` holds it when `tessera serve` made it. */
  bootstrapToken?: string;
  /** The master key: `master.key` holds it (base64) on the embedded default. */
  masterKey?: Buffer;
}

/**
 * Every file under the data folder, read whole. The rule: `bootstrap-admin.key` may hold the
 * bootstrap token and `master.key` the master key, as SPEC §8 and the README say; no other file
 * may hold either, and no file may hold any other registered string (a secret value is stored
 * encrypted, a token as its SHA-256). A PGlite folder (`pglite/`) is left out: it is PostgreSQL's
 * own storage, about 40 MB with its first WAL segment, too much to read at every close; its rows
 * are covered by `databaseSources`, which sees the same rows on every dialect.
 */
export function dataFolderSources(dataDir: string, owner: DataFolderOwner = {}): Source[] {
  const files = readdirSync(dataDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !relative(dataDir, path).split(/[\\/]/).includes('pglite'));
  stats.files += files.length;
  return files.map((path) => {
    const name = basename(path);
    const allows = (s: Sensitive) =>
      (name === 'bootstrap-admin.key' && s.text !== undefined && s.text === owner.bootstrapToken) ||
      (name === 'master.key' && owner.masterKey !== undefined && s.bytes.equals(owner.masterKey));
    return { where: `file ${relative(dataDir, path)}`, content: readFileSync(path), allows };
  });
}

// ---------------------------------------------------------------------------------------------
// The check run when a test server closes (test/helpers/server.ts).

export interface ScannedServer {
  url: string;
  logs: readonly string[];
  store: Store;
  dataDir: string;
  adminToken: string;
  masterKey: Buffer;
}

/**
 * Scans what one server left: its log lines, the error replies the test client saw from it, every
 * row of its database (call before the store is closed) and, after that, its data folder. A
 * database a test has closed or broken on purpose cannot be read: its rows are skipped (counted),
 * its files are still scanned. Throws a LeakError.
 */
export async function scanTestServer(server: ScannedServer): Promise<void> {
  const started = performance.now();
  stats.servers += 1;
  stats.logLines += server.logs.length;
  const replies = takeErrorReplies(server.url);
  stats.errorReplies += replies.length;
  let rows: Source[] = [];
  try {
    rows = await databaseSources(server.store);
  } catch {
    stats.unreadableDatabases += 1;
  }
  try {
    assertNoLeaks([
      ...logSources(server.logs),
      ...errorReplySources(replies),
      ...rows,
      ...dataFolderSources(server.dataDir, {
        bootstrapToken: server.adminToken,
        masterKey: server.masterKey,
      }),
    ]);
  } finally {
    stats.ms += performance.now() - started;
  }
}

// ---------------------------------------------------------------------------------------------
// Figures.

const stats = {
  registered: 0,
  servers: 0,
  logLines: 0,
  errorReplies: 0,
  cells: 0,
  files: 0,
  unreadableDatabases: 0,
  bytes: 0,
  findings: 0,
  /** Time spent in `scanTestServer`. */
  ms: 0,
};

/** This process's totals so far. */
export function leakScanStats(): Readonly<typeof stats> {
  return { ...stats };
}

export function describeStats(s: Readonly<typeof stats> = stats): string {
  return (
    `leak scan: ${s.registered} strings registered; ${s.servers} servers scanned: ${s.logLines} log lines, ` +
    `${s.errorReplies} error replies, ${s.cells} database cells, ${s.files} files, ` +
    `${Math.round(s.bytes / 1024)} KiB in ${Math.round(s.ms)} ms; ${s.unreadableDatabases} unreadable databases; ` +
    `${s.findings} findings`
  );
}

// One line per test file with the totals, on request only: fifty such lines would bury the
// test output, but they are the figures to look at when changing what is scanned.
if (process.env.TESSERA_LEAK_SCAN_STATS === '1') {
  process.on('exit', () => {
    if (stats.servers > 0) process.stderr.write(`# ${describeStats()}\n`);
  });
}
