import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { type TesseraClient, TesseraProblem } from '../../client/index.js';
import { collect, connectedClient } from './connect.js';
import { type DotenvEntry, DotenvError, formatDotenv, parseDotenv } from './dotenv.js';
import { envNameOf, isTag, tagOf } from './env-names.js';
import { onlyPositional } from './keys.command.js';
import { json, UsageError, write } from './output.js';
import { revealSelection, revealTags, selectionOf } from './selection.js';

type Format = 'dotenv' | 'json';

/**
 * `tessera secrets import FILE`: each variable becomes the secret of its tag (`DB_PASSWORD` →
 * `db-password`): created when there is none, changed when its value differs, skipped when it is
 * the same. Everything is checked before anything is written. Comparing needs READ_SECRET_VALUES;
 * a key without it writes every existing secret again, and says so.
 */
export async function runImport(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
  });
  const file = onlyPositional(positionals, 'FILE');
  const format = formatOf(values.format ?? (extname(file).toLowerCase() === '.json' ? 'json' : 'dotenv'));
  const entries = readEntries(readFileSync(file, 'utf8'), format, file);
  const wanted = new Map<string, string>();
  const skipped: { tag: string; reason: string }[] = [];
  for (const { name, value } of entries) {
    const tag = tagOf(name);
    if (!isTag(tag))
      throw new UsageError(`${file}: ${name} makes the tag '${tag}', which is not a valid tag`);
    if (wanted.has(tag)) throw new UsageError(`${file}: two variables make the tag '${tag}'`);
    if (value === '') skipped.push({ tag, reason: 'empty' });
    else wanted.set(tag, value);
  }
  const client = connectedClient();
  const existing = new Set((await collect(client.secrets.list())).map((secret) => secret.tag));
  const current = await currentValues(
    client,
    [...wanted.keys()].filter((tag) => existing.has(tag)),
  );
  const created: string[] = [];
  const changed: string[] = [];
  for (const [tag, value] of wanted) {
    if (!existing.has(tag)) {
      await client.secrets.create({ tag, name: tag, secret: value });
      created.push(tag);
    } else if (current !== undefined && current.get(tag) === value) {
      skipped.push({ tag, reason: 'unchanged' });
    } else {
      await client.secrets.update(tag, { secret: value });
      changed.push(tag);
    }
  }
  if (values.json === true) write(json({ created, changed, skipped }));
  else {
    write(`Created ${created.length}${list(created)}\n`);
    write(`Changed ${changed.length}${list(changed)}\n`);
    write(`Skipped ${skipped.length}${list(skipped.map((s) => `${s.tag} (${s.reason})`))}\n`);
    if (current === undefined && existing.size > 0) {
      process.stderr.write(
        'tessera: the key may not read values (READ_SECRET_VALUES), so existing secrets were written without comparing\n',
      );
    }
  }
  return 0;
}

/** `tessera secrets export`: the values as a .env file or a JSON object, keyed by variable name. */
export async function runExport(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { format: { type: 'string' }, tags: { type: 'string' }, 'tag-prefix': { type: 'string' } },
    strict: true,
  });
  const format = formatOf(values.format ?? 'dotenv');
  const revealed = await revealSelection(connectedClient(), selectionOf(values.tags, values['tag-prefix']));
  const entries: DotenvEntry[] = [];
  const names = new Map<string, string>();
  for (const { tag, value } of revealed) {
    const name = envNameOf(tag);
    const clash = names.get(name);
    if (clash !== undefined)
      throw new UsageError(`the tags '${clash}' and '${tag}' both make the variable ${name}`);
    names.set(name, tag);
    entries.push({ name, value });
  }
  write(
    format === 'json'
      ? json(Object.fromEntries(entries.map((e) => [e.name, e.value])))
      : formatDotenv(entries),
  );
  return 0;
}

function formatOf(raw: string): Format {
  if (raw !== 'dotenv' && raw !== 'json') throw new UsageError('--format takes dotenv or json');
  return raw;
}

function readEntries(text: string, format: Format, file: string): DotenvEntry[] {
  if (format === 'dotenv') {
    try {
      return parseDotenv(text);
    } catch (error) {
      if (error instanceof DotenvError) throw new UsageError(`${file}: ${error.message}`);
      throw error;
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${file}: not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${file}: expected one JSON object of names to string values`);
  }
  return Object.entries(parsed).map(([name, value]) => {
    if (typeof value !== 'string') throw new UsageError(`${file}: the value of ${name} is not a string`);
    return { name, value };
  });
}

/** The values of existing secrets, to compare; undefined when the key may not read them. */
async function currentValues(
  client: TesseraClient,
  tags: string[],
): Promise<Map<string, string> | undefined> {
  try {
    return new Map((await revealTags(client, tags)).map(({ tag, value }) => [tag, value]));
  } catch (error) {
    if (error instanceof TesseraProblem && error.status === 403) return undefined;
    throw error;
  }
}

function list(items: readonly string[]): string {
  return items.length === 0 ? '' : `: ${items.join(', ')}`;
}
