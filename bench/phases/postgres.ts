import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { generateMasterKey } from '../../src/crypto/master-key.js';
import { generateToken } from '../../src/crypto/tokens.js';
import { createAdminKeys, expectOk } from '../lib/api.js';
import { treeRssMiB } from '../lib/children.js';
import { onExit } from '../lib/lifetime.js';
import type { PhaseResult } from '../lib/results.js';
import { BENCH_TAG, BENCH_VALUE, measureStandardScenarios } from '../lib/scenarios.js';
import type { TesseraConfig } from '../lib/servers.js';
import { alive } from '../lib/temp.js';
import { measuredStarts, type PhaseContext } from './context.js';

/**
 * A schema of this run's own on BENCH_PG_URL, dropped on the way out. Schemas of earlier benches
 * that were killed outright (their pid is gone) are dropped first.
 */
export async function createSchema(url: string): Promise<string> {
  const schema = `tessera_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows: existing } = await admin.query<{ name: string }>(
      `select nspname as name from pg_namespace where nspname like 'tessera\\_bench\\_%'`,
    );
    for (const { name } of existing) {
      const pid = Number(/^tessera_bench_(\d+)_/.exec(name)?.[1]);
      if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) {
        await admin.query(`drop schema if exists "${name}" cascade`);
      }
    }
    await admin.query(`create schema "${schema}"`);
  } finally {
    await admin.end();
  }
  onExit(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await client.end();
    }
  });
  return schema;
}

/** `url` with `schema` as the search path of every connection: a node's DATABASE_URL. */
export function withSearchPath(url: string, schema: string): string {
  const separator = url.includes('?') ? '&' : '?';
  return `${url}${separator}options=-c%20search_path%3D${schema}`;
}

/**
 * The standard scenarios on PostgreSQL (`postgres`), or with Redis beside it (`postgres+redis`,
 * BENCH_PG_REDIS: the token cache and shared rate limits, as a fleet runs).
 */
export async function postgresPhase(context: PhaseContext): Promise<PhaseResult> {
  const { options, servers, measurer } = context;
  const phase = options.pgRedis ? 'postgres+redis' : 'postgres';
  const schema = await createSchema(options.pgUrl);
  const config: TesseraConfig = {
    label: phase.replace('+', '-'),
    dataDir: context.tempDir('pg'),
    masterKey: generateMasterKey().toString('base64'),
    bootstrapToken: generateToken(),
    databaseUrl: withSearchPath(options.pgUrl, schema),
    ...(options.pgRedis ? { redisUrl: options.redisUrl } : {}),
    poolSize: options.pgPoolSize,
  };
  const first = await servers.startTessera(config);
  const firstStart = { phase, label: `${phase}, first start (empty schema)`, ms: first.startupMs };
  const tokens = await createAdminKeys(first.base, config.bootstrapToken, 9);
  await expectOk(first.base, config.bootstrapToken, 'POST', '/api/v1/secrets', {
    name: 'Bench secret',
    tag: BENCH_TAG,
    secret: BENCH_VALUE,
  });
  await servers.stop(first, `${config.label}-setup`);
  const { server, startup } = await measuredStarts(context, config, phase, `${phase}, restart`);
  const idleRssMiB = { [phase]: treeRssMiB(server.child.pid) ?? null };
  const rows = await measureStandardScenarios(measurer, phase, server, tokens, BENCH_TAG);
  await servers.stop(server, config.label);
  return { rows, startups: [firstStart, startup], idleRssMiB, notes: [] };
}
