import { parseArgs } from 'node:util';
import {
  type RevealedValue,
  type TesseraClient,
  TesseraProblem,
  TesseraUnreachable,
} from '../../client/index.js';
import { ChildRunner } from './child-runner.js';
import { connectedClient } from './connect.js';
import { envNameOf, isEnvName } from './env-names.js';
import { fallbackPassphrase, loadSnapshot, PASSPHRASE_VARIABLE, saveSnapshot } from './fallback-snapshot.js';
import { describeFailure, UsageError } from './output.js';
import { revealSelection, type Selection, selectionOf, selects } from './selection.js';

const USAGE =
  'usage: tessera run [--tags a,b | --tag-prefix P] [--env NAME=tag]... [--watch] [--grace-seconds S] [--fallback FILE] -- command [args...]';

/** How long a restarted command has to stop after SIGTERM: short enough to restart within 2 s of a change. */
const DEFAULT_GRACE_SECONDS = 1;
const FEED_WAIT_SECONDS = 25;
const MAX_BACKOFF_MS = 30_000;

/**
 * `tessera run -- command`: the command with the selected secrets as environment variables
 * (`db-password` → `DB_PASSWORD`, or the name `--env NAME=tag` gives), tessera's signals passed to
 * it, and its exit code as tessera's. `--watch` follows the change feed and restarts the command
 * when one of its secrets changes. `--fallback FILE` keeps an encrypted snapshot of the values and
 * runs the command from it, with a warning, when the server cannot be reached (never when it
 * refuses: a refused key is not worked around).
 */
export async function runRun(argv: string[]): Promise<number> {
  const split = argv.indexOf('--');
  if (split === -1 || split === argv.length - 1) throw new UsageError(USAGE);
  const [command, ...commandArgs] = argv.slice(split + 1) as [string, ...string[]];
  const { values, positionals } = parseArgs({
    args: argv.slice(0, split),
    allowPositionals: true,
    options: {
      tags: { type: 'string' },
      'tag-prefix': { type: 'string' },
      env: { type: 'string', multiple: true },
      watch: { type: 'boolean' },
      'grace-seconds': { type: 'string' },
      fallback: { type: 'string' },
    },
    strict: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected '${positionals[0]}' before --\n${USAGE}`);
  const renames = renamesOf(values.env ?? []);
  let selection = selectionOf(values.tags, values['tag-prefix']);
  if ('tags' in selection) selection = { tags: [...new Set([...selection.tags, ...renames.keys()])] };
  const graceMs = graceOf(values['grace-seconds']);
  const fallback =
    values.fallback === undefined ? undefined : { file: values.fallback, passphrase: fallbackPassphrase() };
  const selectionName = describeSelection(selection);

  const client = connectedClient();
  const watching = values.watch === true;
  let cursor: string | undefined;
  let current: RevealedValue[];
  let fromServer = true;
  try {
    // The cursor first: a change made while the values are fetched is then seen by the watch.
    if (watching) cursor = (await client.secrets.changes()).cursor;
    current = await revealSelection(client, selection);
  } catch (error) {
    if (fallback === undefined || !unreachable(error)) throw error;
    const snapshot = await loadSnapshot(fallback.file, fallback.passphrase, selectionName);
    process.stderr.write(
      `tessera: warning: ${describeFailure(error)}; running with the fallback snapshot saved at ${snapshot.savedAt}\n`,
    );
    current = snapshot.values;
    fromServer = false;
  }
  const envOf = (revealed: readonly RevealedValue[]) => childEnv(revealed, renames);
  const runner = new ChildRunner(command, commandArgs, graceMs);
  runner.start(envOf(current));

  const pending: Promise<void>[] = [];
  const keep = (values: readonly RevealedValue[]) => {
    if (fallback === undefined) return;
    pending.push(
      saveSnapshot(fallback.file, fallback.passphrase, selectionName, values).catch((error: unknown) => {
        process.stderr.write(
          `tessera: warning: the fallback snapshot was not written: ${describeFailure(error)}\n`,
        );
      }),
    );
  };
  if (fromServer) keep(current);

  const stop = new AbortController();
  if (watching) {
    void follow(client, selection, cursor, current, stop.signal, async (next) => {
      current = next;
      keep(next);
      process.stderr.write('tessera: a secret changed: restarting the command\n');
      await runner.restart(envOf(next));
    });
  }
  const code = await runner.finished;
  stop.abort();
  await Promise.all(pending);
  return code;
}

/**
 * Follows the change feed until `signal` aborts, calling `restart` with the new values whenever a
 * change to a selected secret changes what the command would be given. A feed that fails is
 * retried with a doubling back-off (the command keeps running meanwhile); without a cursor (the
 * run began from the fallback snapshot, or the server no longer knows the cursor) the first
 * success compares the values at once.
 */
async function follow(
  client: TesseraClient,
  selection: Selection,
  from: string | undefined,
  initial: readonly RevealedValue[],
  signal: AbortSignal,
  restart: (values: RevealedValue[]) => Promise<void>,
): Promise<void> {
  let cursor = from;
  let current = initial;
  let backoff = 1_000;
  while (!signal.aborted) {
    try {
      let changed: boolean;
      if (cursor === undefined) {
        cursor = (await client.secrets.changes({ signal })).cursor;
        changed = true;
      } else {
        const page = await client.secrets.changes({ since: cursor, waitSeconds: FEED_WAIT_SECONDS, signal });
        cursor = page.cursor;
        changed = page.changes.some((change) => selects(selection, change.tag));
      }
      if (changed) {
        const next = await revealSelection(client, selection);
        if (!sameValues(current, next)) {
          current = next;
          await restart(next);
        }
      }
      backoff = 1_000;
    } catch (error) {
      if (signal.aborted) return;
      // A cursor older than the history the server keeps is refused: start again from now,
      // comparing the values once, so no change in between is missed.
      if (error instanceof TesseraProblem && error.status === 400) cursor = undefined;
      process.stderr.write(
        `tessera: warning: watching for changes: ${describeFailure(error)}; trying again\n`,
      );
      await new Promise((done) => setTimeout(done, backoff).unref());
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}

/** What the command is given: tessera's environment, the secrets over it, less the fallback passphrase. */
function childEnv(values: readonly RevealedValue[], renames: ReadonlyMap<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env[PASSPHRASE_VARIABLE];
  const named = new Map<string, string>();
  for (const { tag, value } of values) {
    const name = renames.get(tag) ?? envNameOf(tag);
    const clash = named.get(name);
    if (clash !== undefined) {
      throw new UsageError(
        `the tags '${clash}' and '${tag}' both make the variable ${name}: rename one with --env`,
      );
    }
    named.set(name, tag);
    env[name] = value;
  }
  const given = new Set(values.map((v) => v.tag));
  for (const tag of renames.keys()) {
    if (!given.has(tag))
      throw new UsageError(`--env names the tag '${tag}', which is not among the secrets run takes`);
  }
  return env;
}

/** `--env NAME=tag`, as tag → name. */
function renamesOf(pairs: readonly string[]): Map<string, string> {
  const renames = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const name = pair.slice(0, at);
    const tag = pair.slice(at + 1);
    if (at <= 0 || tag === '' || !isEnvName(name))
      throw new UsageError(`--env takes NAME=tag, not '${pair}'`);
    renames.set(tag, name);
  }
  return renames;
}

function graceOf(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_GRACE_SECONDS * 1000;
  if (!/^\d{1,4}(\.\d{1,3})?$/.test(raw))
    throw new UsageError('--grace-seconds takes seconds, e.g. 1 or 0.5');
  return Number(raw) * 1000;
}

function describeSelection(selection: Selection): string {
  if ('tags' in selection) return `tags ${[...selection.tags].sort().join(',')}`;
  if ('tagPrefix' in selection) return `tag prefix ${selection.tagPrefix}`;
  return 'every secret';
}

/** No reply, or a reply saying the server cannot serve now: what the fallback is for. */
function unreachable(error: unknown): boolean {
  if (error instanceof TesseraUnreachable) return true;
  return error instanceof TesseraProblem && [502, 503, 504].includes(error.status);
}

function sameValues(a: readonly RevealedValue[], b: readonly RevealedValue[]): boolean {
  if (a.length !== b.length) return false;
  const versions = new Map(a.map((v) => [v.tag, v.value]));
  return b.every((v) => versions.get(v.tag) === v.value);
}
