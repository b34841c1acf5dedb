import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Database, Dialect } from './database.js';
import { migration0001Initial } from './migrations/0001-initial.js';
import { migration0002Secrets } from './migrations/0002-secrets.js';
import { migration0003Audit } from './migrations/0003-audit.js';
import { migration0004PageBlocks } from './migrations/0004-page-blocks.js';
import { migration0005ListItems } from './migrations/0005-list-items.js';
import { migration0006Roles } from './migrations/0006-roles.js';
import { migration0007IpAllowlist } from './migrations/0007-ip-allowlist.js';
import { migration0008ApiKeyExtras } from './migrations/0008-api-key-extras.js';
import { migration0009SecretChanges } from './migrations/0009-secret-changes.js';
import { migration0010Webhooks } from './migrations/0010-webhooks.js';
import { migration0011AuditPending } from './migrations/0011-audit-pending.js';
import { migration0012PageBlockStripes } from './migrations/0012-page-block-stripes.js';

/** Migrations are listed here in order; each takes the dialect so it can branch on DDL alone. */
const MIGRATIONS: Record<string, (dialect: Dialect) => Migration> = {
  '0001-initial': migration0001Initial,
  '0002-secrets': migration0002Secrets,
  '0003-audit': migration0003Audit,
  '0004-page-blocks': migration0004PageBlocks,
  '0005-list-items': migration0005ListItems,
  '0006-roles': migration0006Roles,
  '0007-ip-allowlist': migration0007IpAllowlist,
  '0008-api-key-extras': migration0008ApiKeyExtras,
  '0009-secret-changes': migration0009SecretChanges,
  '0010-webhooks': migration0010Webhooks,
  '0011-audit-pending': migration0011AuditPending,
  '0012-page-block-stripes': migration0012PageBlockStripes,
};

class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(Object.entries(MIGRATIONS).map(([name, make]) => [name, make(this.dialect)]));
  }
}

/**
 * Brings the schema up to date. Kysely's migrator holds a lock while it runs, so several nodes
 * starting at once apply each migration exactly once.
 */
export async function migrateToLatest(db: Kysely<Database>, dialect: Dialect): Promise<string[]> {
  // On PostgreSQL, name the schema: without it Kysely looks for its bookkeeping tables in every
  // schema, and another schema's copy (another deployment on the same database) would fool it.
  const schema =
    dialect === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
      : undefined;
  const migrator = new Migrator({
    db,
    provider: new StaticProvider(dialect),
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
    migrationTableName: 'tessera_migrations',
    migrationLockTableName: 'tessera_migrations_lock',
  });
  let { error, results } = await migrator.migrateToLatest();
  // Kysely looks for its bookkeeping tables through a catalogue query over every schema of the
  // database; another deployment dropping its schema or a table at that moment fails the query.
  // Nothing was applied then: look again.
  for (let attempt = 1; attempt <= 3 && racedAnotherSchema(error, results); attempt++) {
    ({ error, results } = await migrator.migrateToLatest());
  }
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const reason = error instanceof Error ? `: ${error.message}` : '';
    throw new Error(`database migration ${failed} failed${reason}`, { cause: error });
  }
  return (results ?? []).map((r) => r.migrationName);
}

/**
 * Whether a migration run failed only because Kysely's catalogue query (it lists the tables of
 * every schema, and resolves each by name) raced a drop elsewhere: PostgreSQL's
 * invalid_schema_name (a schema being dropped), or, before any migration ran (no results),
 * undefined_table (a table seen by the listing, gone when resolved) or undefined_column (a table
 * dropped and made again meanwhile, without the column listed). A failure inside a migration is
 * never retried.
 */
export function racedAnotherSchema(error: unknown, results: readonly unknown[] | undefined): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code } = error as { code?: unknown };
  return code === '3F000' || ((code === '42P01' || code === '42703') && results === undefined);
}
