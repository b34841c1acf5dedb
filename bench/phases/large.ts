import { join } from 'node:path';
import { generateMasterKey } from '../../src/crypto/master-key.js';
import { generateToken } from '../../src/crypto/tokens.js';
import { BLOCK_ROWS } from '../../src/db/listing/page-blocks.js';
import { bearer, createAdminKeys, expectOk, JSON_BODY } from '../lib/api.js';
import { treeRssMiB } from '../lib/children.js';
import { log } from '../lib/log.js';
import type { PhaseResult, Row } from '../lib/results.js';
import { newSecretBody } from '../lib/scenarios.js';
import { seedLarge } from '../lib/seed.js';
import type { Server, TesseraConfig } from '../lib/servers.js';
import { awaitWorkers } from '../lib/workers.js';
import { measuredStarts, type PhaseContext } from './context.js';

const SQLITE_FILE = 'tessera.db';
const PAGE = 250;

/**
 * BENCH_LARGE: N keys and N secrets seeded straight into SQLite (`sqlite 1M` for a million), then
 * token checks that hit and miss the token cache, reads, reveals, list pages at the start, the
 * middle and the end, and creates; then, when there is a cluster phase, the same list pages served
 * by TESSERA_WORKERS=N (`sqlite 1M ×N`).
 */
export async function largePhase(context: PhaseContext): Promise<PhaseResult> {
  const { options, servers, measurer } = context;
  const n = options.n;
  const phase = context.names.large;
  const dataDir = context.tempDir('large');
  const masterKey = generateMasterKey();
  const config: TesseraConfig = {
    label: 'sqlite-large',
    dataDir,
    masterKey: masterKey.toString('base64'),
    bootstrapToken: generateToken(),
    startTimeoutMs: 300_000,
  };
  // A first start migrates the empty database and records the master key; the seeder fills it.
  await servers.stop(await servers.startTessera(config), 'sqlite-large-setup');
  log(`seeding ${n} keys and ${n} secrets …`);
  const seeded = await seedLarge({
    dbFile: join(dataDir, SQLITE_FILE),
    n,
    masterKey,
    sampleTokens: Math.min(20_000, n),
    log,
  });
  log(`seeded in ${seeded.seconds.toFixed(1)} s; database ${(seeded.bytes / 2 ** 20).toFixed(0)} MiB`);
  const sampled = seeded.sampledTokens;
  // What the report keeps of the seeding: no token and no value of the seeded rows.
  const seeding = {
    seconds: seeded.seconds,
    n,
    sampledTokens: sampled.length,
    middleTag: seeded.middleTag,
    bytes: seeded.bytes,
  };

  const { server, startup } = await measuredStarts(
    context,
    config,
    phase,
    `${phase}, start (${n} keys, ${n} secrets)`,
  );
  const idleRssMiB = { [phase]: treeRssMiB(server.child.pid) ?? null };
  const tokens = await createAdminKeys(server.base, config.bootstrapToken, 8);
  // The seeded rows are what the service reads: a seeded key authenticates, a seeded value decrypts.
  await expectOk(server.base, seeded.middleToken, 'GET', '/api/v1/me');
  const revealed = await expectOk(
    server.base,
    tokens[0] as string,
    'GET',
    `/api/v1/secrets/${seeded.middleTag}/value`,
  );
  if (revealed.value !== seeded.middleValue) throw new Error('a seeded secret did not decrypt to its value');
  const listed = await expectOk(server.base, tokens[0] as string, 'GET', '/api/v1/auth/key?pageSize=1');
  const lastPage = Math.ceil((listed.total as number) / PAGE) - 1;
  const token = (i: number) => tokens[i % tokens.length] as string;

  const rows: Row[] = [];
  const measure = async (...args: Parameters<typeof measurer.measure>) => {
    rows.push(...(await measurer.measure(...args)));
  };
  // An ADMIN key, as in the 10-key phase (the answer lists the key's permissions: same role, same work).
  await measure(phase, 'GET /api/v1/me (token check, cached)', server, {
    path: '/api/v1/me',
    headers: bearer(token(6)),
  });
  let next = 0;
  // The token cache holds 10,000 entries (src/features/api-keys/token-cache.ts): cycling through
  // more keys than that makes every look-up miss it and read the database.
  const cacheNote = sampled.length > 10_000 ? 'cache misses' : 'all fit the token cache';
  await measure(phase, `GET /api/v1/me (${sampled.length} keys round-robin: ${cacheNote})`, server, {
    path: '/api/v1/me',
    token: () => sampled[next++ % sampled.length] as string,
  });
  await measure(phase, 'GET /api/v1/secrets/{tag}', server, {
    path: `/api/v1/secrets/${seeded.middleTag}`,
    headers: bearer(token(0)),
  });
  await measure(phase, 'GET /api/v1/secrets/{tag}/value', server, {
    path: `/api/v1/secrets/${seeded.middleTag}/value`,
    headers: bearer(token(1)),
  });
  for (const connections of [options.connections, 1]) {
    rows.push(...(await measureListPages(context, phase, server, token(2), lastPage, connections)));
  }
  await measure(phase, 'GET /api/v1/auth/key?pageSize=1 (≈ cost of total)', server, {
    path: '/api/v1/auth/key?page=0&pageSize=1',
    headers: bearer(token(3)),
  });
  const secretPages = Math.ceil((n + 1) / PAGE);
  await measure(phase, `GET /api/v1/secrets last page (${secretPages - 1}) of ${PAGE}`, server, {
    path: `/api/v1/secrets?page=${secretPages - 1}&pageSize=${PAGE}`,
    headers: bearer(token(4)),
  });
  await measure(phase, 'POST /api/v1/secrets (creates)', server, {
    path: '/api/v1/secrets',
    method: 'POST',
    headers: { ...bearer(token(5)), ...JSON_BODY },
    body: newSecretBody,
  });
  await servers.stop(server, 'sqlite-large');
  const cluster = await listsWithWorkers(context, config, token(2), lastPage);
  return {
    rows: [...rows, ...cluster.rows],
    startups: [startup],
    idleRssMiB,
    seeding,
    notes: cluster.notes,
  };
}

/** Pages of 250 keys at the start, the middle and the end of the list. */
async function measureListPages(
  { measurer }: PhaseContext,
  phase: string,
  server: Server,
  token: string,
  lastPage: number,
  connections: number,
): Promise<Row[]> {
  // The middle page is the one of its block that starts deepest inside it (BLOCK_ROWS rows per
  // block, src/db/listing/page-blocks.ts): its query steps past the most rows before its first one.
  const perBlock = BLOCK_ROWS / PAGE;
  const middle = Math.floor(lastPage / 2 / perBlock) * perBlock + perBlock - 1;
  const pages: [string, number][] = [
    ['first', 0],
    ['middle', Math.min(middle, lastPage)],
    ['last', lastPage],
  ];
  const rows: Row[] = [];
  for (const [label, page] of pages) {
    const spec = { path: `/api/v1/auth/key?page=${page}&pageSize=${PAGE}`, headers: bearer(token) };
    const name = `GET /api/v1/auth/key ${label} page (${page}) of ${PAGE}`;
    rows.push(...(await measurer.measure(phase, name, server, spec, connections)));
  }
  return rows;
}

/**
 * The large data's list pages again, served by TESSERA_WORKERS=N (BENCH_WORKERS): reads spread over
 * the workers, so this is what a cluster does for a list's tail under many connections.
 */
async function listsWithWorkers(
  context: PhaseContext,
  config: TesseraConfig,
  token: string,
  lastPage: number,
): Promise<{ rows: Row[]; notes: string[] }> {
  const phase = context.names.largeWorkers;
  if (phase === undefined) return { rows: [], notes: [] };
  const scenarios = ['first', 'middle', 'last'].map((label) => `GET /api/v1/auth/key ${label} page`);
  if (scenarios.every((scenario) => context.measurer.skipped(phase, scenario)))
    return { rows: [], notes: [] };
  const workers = context.options.workers;
  const label = `sqlite-large-x${workers}`;
  const server = await context.servers.startTessera({ ...config, label, workers });
  const notes = await awaitWorkers(phase, server, workers);
  const rows = await measureListPages(context, phase, server, token, lastPage, context.options.connections);
  await context.servers.stop(server, label);
  return { rows, notes };
}
