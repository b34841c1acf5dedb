import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config-error.js';
import { CLIENT_COMMANDS, runClientCommand } from './client/main.js';

// Each command loads only what it uses: the primary of a multi-process server loads no database
// client and no HTTP framework, so its workers start sooner; the client commands (login, keys,
// secrets, run) load not even the configuration, only the SDK.

const USAGE = `Usage: tessera <command>

Client commands (against a running server: TESSERA_URL and TESSERA_TOKEN, or tessera login):
  login [--url URL]  Store the server's URL and a token (asked without echo); logout removes them
  keys list|create|roll|delete
  secrets list|get|set|delete|versions|reveal|import|export
  run [--tags a,b | --tag-prefix P] [--env NAME=tag] [--watch] [--fallback FILE] -- command [args...]
            Run the command with the secrets as environment variables (db-password: DB_PASSWORD)

Server commands:
  serve     Start the HTTP service (configuration from the environment; see the README)
  migrate   Apply database migrations and exit
  token     Print a fresh, well-formed API token (for TESSERA_BOOTSTRAP_TOKEN)
  audit verify
            Walk the audit log's hash chain; exit 1 naming the first altered, removed or
            reordered event
  backup F  Write a consistent copy of the SQLite database to file F (safe while serving)
  keygen [--out FILE]
            Print a fresh master key (base64 of 32 random bytes), or write it to FILE, created
            with mode 0600 (an existing FILE is never overwritten)
  rekey     Rotate the master key online: the new key comes from TESSERA_NEW_MASTER_KEY or
            TESSERA_NEW_MASTER_KEY_FILE; options --batch-size N (500), --grace-seconds S (5)
  recover-admin [--clear-ip-allowlist]
            Create a fresh ADMIN key when every ADMIN token is lost (run on the host: needs the
            database and the master key); its token is the last line of the output.
            --clear-ip-allowlist also empties the IP allowlist (every address allowed again)
  version   Print the installed version (also --version)
  help      Show this text
`;

async function main(argv: string[]): Promise<number> {
  const [first = '', ...rest] = argv;
  if (CLIENT_COMMANDS.has(first)) return runClientCommand(first, rest);
  const { loadConfig } = await import('../config.js');
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      'batch-size': { type: 'string' },
      'clear-ip-allowlist': { type: 'boolean' },
      'grace-seconds': { type: 'string' },
      out: { type: 'string' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  const command = values.version === true ? 'version' : (positionals[0] ?? 'help');
  switch (command) {
    case 'serve': {
      const config = loadConfig();
      const { default: cluster } = await import('node:cluster');
      if (config.workers > 1 && cluster.isPrimary) {
        const { runPrimary } = await import('../cluster/workers.js');
        await runPrimary(config);
      } else {
        const { startServer } = await import('../server.js');
        await startServer(config);
      }
      return -1; // keeps running
    }
    case 'migrate': {
      const config = loadConfig();
      const { connect } = await import('../db/connect.js');
      const { migrateToLatest } = await import('../db/migrate.js');
      const store = await connect(config);
      try {
        const applied = await migrateToLatest(store.db, store.dialect);
        process.stdout.write(
          applied.length === 0 ? 'Database is up to date\n' : `Applied: ${applied.join(', ')}\n`,
        );
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'token': {
      const { generateToken } = await import('../crypto/tokens.js');
      process.stdout.write(`${generateToken()}\n`);
      return 0;
    }
    case 'audit': {
      if (positionals[1] !== 'verify') throw new ConfigError('usage: tessera audit verify');
      const { runAuditVerify } = await import('./audit.command.js');
      return runAuditVerify(loadConfig());
    }
    case 'backup': {
      const target = positionals[1];
      if (target === undefined) throw new ConfigError('usage: tessera backup <file>');
      const { backupSqlite } = await import('../db/connect.js');
      await backupSqlite(loadConfig(), target);
      process.stdout.write(`Wrote ${target}\n`);
      return 0;
    }
    case 'keygen': {
      const { runKeygen } = await import('./keygen.command.js');
      return runKeygen(values.out);
    }
    case 'rekey': {
      const { runRekey } = await import('./rekey.command.js');
      return runRekey(loadConfig(), {
        batchSize: wholeNumber(values['batch-size'], '--batch-size', 500, 1, 100_000),
        graceSeconds: wholeNumber(values['grace-seconds'], '--grace-seconds', 5, 0, 3600),
      });
    }
    case 'recover-admin': {
      const { runRecoverAdmin } = await import('./recover-admin.command.js');
      return runRecoverAdmin(loadConfig(), { clearIpAllowlist: values['clear-ip-allowlist'] === true });
    }
    case 'version':
      process.stdout.write(`tessera ${packageVersion()}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`tessera: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

/** The package's own version: package.json sits two folders up from both src/cli and dist/cli. */
function packageVersion(): string {
  const manifest = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    // One clear line: configuration problems name the variable; nothing here prints a secret.
    const message = error instanceof ConfigError ? error.message : describe(error);
    process.stderr.write(`tessera: ${message}\n`);
    process.exitCode = 1;
  },
);

function wholeNumber(raw: unknown, flag: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${flag} takes a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return `the address is already in use (${error.message.replace(/^.*EADDRINUSE:? ?/, '')})`;
  if (code === 'EACCES') return `permission denied: ${error.message}`;
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}
