import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type TesseraClient, TesseraProblem } from '../../client/index.js';
import { collect, connectedClient } from './connect.js';
import { onlyPositional } from './keys.command.js';
import { json, table, UsageError, write } from './output.js';
import { askHidden, readAll } from './prompt.js';

const USAGE = `usage: tessera secrets list [--json]
       tessera secrets get TAG [--json]
       tessera secrets set TAG [--name NAME] [--file FILE]   (the value from standard input or FILE)
       tessera secrets delete TAG
       tessera secrets versions TAG [--json]
       tessera secrets reveal TAG [--version N] [--json]
       tessera secrets import FILE [--format dotenv|json]
       tessera secrets export [--format dotenv|json] [--tags a,b | --tag-prefix P]`;

/** `tessera secrets ...`. A value is never taken from an argument, so it stays out of shell history. */
export async function runSecrets(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'list': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } }, strict: true });
      const secrets = await collect(connectedClient().secrets.list());
      write(
        values.json === true
          ? json(secrets)
          : table(
              ['TAG', 'NAME', 'ID'],
              secrets.map((secret) => [secret.tag, secret.name, secret.id]),
            ),
      );
      return 0;
    }
    case 'get': {
      const { values, positionals } = withTag(rest, { json: { type: 'boolean' as const } });
      const secret = await connectedClient().secrets.get(onlyPositional(positionals, 'TAG'));
      write(
        values.json === true
          ? json(secret)
          : table(['TAG', 'NAME', 'ID'], [[secret.tag, secret.name, secret.id]]),
      );
      return 0;
    }
    case 'set': {
      const { values, positionals } = withTag(rest, {
        name: { type: 'string' as const },
        file: { type: 'string' as const },
      });
      const tag = onlyPositional(positionals, 'TAG');
      const value = await readValue(values.file);
      const outcome = await setSecret(connectedClient(), tag, value, values.name);
      process.stderr.write(`${outcome === 'created' ? 'Created' : 'Changed'} ${tag}\n`);
      return 0;
    }
    case 'delete': {
      const { positionals } = withTag(rest, {});
      const tag = onlyPositional(positionals, 'TAG');
      await connectedClient().secrets.delete(tag);
      process.stderr.write(`Deleted ${tag}\n`);
      return 0;
    }
    case 'versions': {
      const { values, positionals } = withTag(rest, { json: { type: 'boolean' as const } });
      const versions = await collect(connectedClient().secrets.versions(onlyPositional(positionals, 'TAG')));
      write(
        values.json === true
          ? json(versions)
          : table(
              ['VERSION', 'CREATED', 'BY'],
              versions.map((v) => [String(v.version), v.createdDate, v.createdBy ?? '-']),
            ),
      );
      return 0;
    }
    case 'reveal': {
      const { values, positionals } = withTag(rest, {
        version: { type: 'string' as const },
        json: { type: 'boolean' as const },
      });
      const version = values.version;
      if (version !== undefined && !/^[1-9]\d{0,9}$/.test(version))
        throw new UsageError('--version takes a number from 1');
      const revealed = await connectedClient().secrets.reveal(onlyPositional(positionals, 'TAG'), {
        ...(version === undefined ? {} : { version: Number(version) }),
      });
      // The value as stored; a line break after it only for a person at a terminal.
      write(
        values.json === true ? json(revealed) : process.stdout.isTTY ? `${revealed.value}\n` : revealed.value,
      );
      return 0;
    }
    case 'import':
    case 'export': {
      const { runImport, runExport } = await import('./secrets-transfer.command.js');
      return action === 'import' ? runImport(rest) : runExport(rest);
    }
    default:
      throw new UsageError(USAGE);
  }
}

function withTag<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  return parseArgs({ args, allowPositionals: true, options, strict: true });
}

/**
 * From FILE exactly as it is, or from standard input less one final line break (what `echo` and
 * a here-document add); at a terminal, asked for without echo.
 */
async function readValue(file: string | undefined): Promise<string> {
  let value: string;
  if (file !== undefined) value = readFileSync(file, 'utf8');
  else if (process.stdin.isTTY) value = await askHidden('Value (not shown): ');
  else value = (await readAll(process.stdin)).replace(/\r?\n$/, '');
  if (value === '') throw new UsageError('the value is empty');
  return value;
}

/** Changes the secret's value, or creates it (named `name`, else its tag) when there is none. */
export async function setSecret(
  client: TesseraClient,
  tag: string,
  value: string,
  name?: string,
): Promise<'created' | 'changed'> {
  try {
    await client.secrets.update(tag, { secret: value, ...(name === undefined ? {} : { name }) });
    return 'changed';
  } catch (error) {
    if (!(error instanceof TesseraProblem) || error.status !== 404) throw error;
  }
  try {
    await client.secrets.create({ tag, name: name ?? tag, secret: value });
    return 'created';
  } catch (error) {
    // Created by someone else in between: a change, then.
    if (!(error instanceof TesseraProblem) || error.status !== 409) throw error;
    await client.secrets.update(tag, { secret: value });
    return 'changed';
  }
}
