import { parseArgs } from 'node:util';
import type { ApiKey, Role } from '../../client/index.js';
import { collect, connectedClient } from './connect.js';
import { json, table, UsageError, write } from './output.js';

const DEFAULT_ROLES = ['ADMIN', 'MANAGER', 'USER', 'READ_ONLY', 'VIEWER'] as const;

const USAGE = `usage: tessera keys list [--json]
       tessera keys create --name NAME [--role ROLE]... [--custom-role TAG]... [--description TEXT] [--expires DATE] [--json]
       tessera keys roll CID [--expire-old-after SECONDS] [--json]
       tessera keys delete CID`;

/** `tessera keys list|create|roll|delete`. A new token is printed once, as the last line (or in --json). */
export async function runKeys(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'list': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } }, strict: true });
      const keys = await collect(connectedClient().keys.list());
      write(
        values.json === true
          ? json(keys)
          : table(
              ['CID', 'NAME', 'ROLES', 'EXPIRES', 'LAST4'],
              keys.map((key) => [key.cid, key.name, rolesOf(key), key.expirationDate ?? '-', key.last4]),
            ),
      );
      return 0;
    }
    case 'create': {
      const { values } = parseArgs({
        args: rest,
        options: {
          name: { type: 'string' },
          description: { type: 'string' },
          role: { type: 'string', multiple: true },
          'custom-role': { type: 'string', multiple: true },
          expires: { type: 'string' },
          json: { type: 'boolean' },
        },
        strict: true,
      });
      if (values.name === undefined) throw new UsageError(`--name is required\n${USAGE}`);
      const roles: Role[] = [
        ...(values.role ?? []).map((role) => defaultRole(role)),
        ...(values['custom-role'] ?? []).map((tag): Role => ({ type: 'CUSTOM', tag })),
      ];
      if (roles.length === 0) throw new UsageError(`give at least one --role or --custom-role\n${USAGE}`);
      const created = await connectedClient().keys.create({
        name: values.name,
        roles,
        ...(values.description === undefined ? {} : { description: values.description }),
        ...(values.expires === undefined ? {} : { expirationDate: values.expires }),
      });
      if (values.json === true) write(json(created));
      else {
        process.stderr.write(`Created ${created.cid} (${created.name}). Its token, shown this once:\n`);
        write(`${created.apiKey}\n`);
      }
      return 0;
    }
    case 'roll': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { 'expire-old-after': { type: 'string' }, json: { type: 'boolean' } },
        strict: true,
      });
      const cid = onlyPositional(positionals, 'CID');
      const grace = values['expire-old-after'];
      if (grace !== undefined && !/^\d{1,9}$/.test(grace))
        throw new UsageError('--expire-old-after takes whole seconds');
      // No grace unless asked for: the replaced token is refused at once.
      const rolled = await connectedClient().keys.roll(cid, { expireOldAfterSeconds: Number(grace ?? 0) });
      if (values.json === true) write(json(rolled));
      else {
        process.stderr.write(`Rolled ${cid}. Its new token, shown this once:\n`);
        write(`${rolled.apiKey}\n`);
      }
      return 0;
    }
    case 'delete': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {}, strict: true });
      const cid = onlyPositional(positionals, 'CID');
      await connectedClient().keys.delete(cid);
      process.stderr.write(`Deleted ${cid}\n`);
      return 0;
    }
    default:
      throw new UsageError(USAGE);
  }
}

function defaultRole(name: string): Role {
  const upper = name.toUpperCase();
  const role = DEFAULT_ROLES.find((candidate) => candidate === upper);
  if (role === undefined) {
    throw new UsageError(
      `--role takes one of ${DEFAULT_ROLES.join(', ')} (a custom role: --custom-role TAG)`,
    );
  }
  return { type: 'DEFAULT', role };
}

function rolesOf(key: ApiKey): string {
  return key.roles.map((role) => (role.type === 'CUSTOM' ? `custom:${role.tag}` : role.role)).join(',');
}

export function onlyPositional(positionals: string[], what: string): string {
  if (positionals.length !== 1 || positionals[0] === undefined) throw new UsageError(`give one ${what}`);
  return positionals[0];
}
