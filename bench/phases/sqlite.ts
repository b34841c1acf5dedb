import { generateMasterKey } from '../../src/crypto/master-key.js';
import { generateToken } from '../../src/crypto/tokens.js';
import { createAdminKeys, expectOk } from '../lib/api.js';
import { treeRssMiB } from '../lib/children.js';
import { log } from '../lib/log.js';
import { emptyPhase, type PhaseResult } from '../lib/results.js';
import { BENCH_TAG, BENCH_VALUE, measureStandardScenarios, STANDARD_SCENARIOS } from '../lib/scenarios.js';
import type { TesseraConfig } from '../lib/servers.js';
import { awaitWorkers } from '../lib/workers.js';
import { measuredStarts, type PhaseContext } from './context.js';

/** The standard scenarios on SQLite, against one Tessera process: the `sqlite` phase. */
export function sqlitePhase(context: PhaseContext): Promise<PhaseResult> {
  return standardOnSqlite(context, 'sqlite', 'sqlite');
}

/**
 * The standard scenarios on SQLite again, against a cluster: TESSERA_WORKERS=N, a primary forking
 * N workers that share the port (the `sqlite ×N` phase). None when BENCH_WORKERS is below 2, or
 * when BENCH_ONLY leaves none of its scenarios.
 */
export async function sqliteWorkersPhase(context: PhaseContext): Promise<PhaseResult> {
  const phase = context.names.workers;
  if (phase === undefined) return emptyPhase();
  if (STANDARD_SCENARIOS.every((scenario) => context.measurer.skipped(phase, scenario.name))) {
    log(`[${phase}] skipped: BENCH_ONLY matches none of its scenarios`);
    return emptyPhase();
  }
  const workers = context.options.workers;
  return standardOnSqlite(context, phase, `sqlite-x${workers}`, workers);
}

/** A fresh data folder, ten keys and one secret, three timed restarts, then the standard scenarios. */
async function standardOnSqlite(
  context: PhaseContext,
  phase: string,
  label: string,
  workers?: number,
): Promise<PhaseResult> {
  const { servers, measurer } = context;
  const config: TesseraConfig = {
    label,
    dataDir: context.tempDir(label),
    masterKey: generateMasterKey().toString('base64'),
    bootstrapToken: generateToken(),
    ...(workers === undefined ? {} : { workers }),
  };
  const first = await servers.startTessera(config);
  const firstStart = {
    phase,
    label: `${phase}, first start (empty folder: migrations, bootstrap key)`,
    ms: first.startupMs,
  };
  // Ten keys in all (the bootstrap key and nine more) and one secret.
  const tokens = await createAdminKeys(first.base, config.bootstrapToken, 9);
  await expectOk(first.base, config.bootstrapToken, 'POST', '/api/v1/secrets', {
    name: 'Bench secret',
    tag: BENCH_TAG,
    secret: BENCH_VALUE,
  });
  await servers.stop(first, `${label}-setup`);
  const { server, startup } = await measuredStarts(
    context,
    config,
    phase,
    `${phase}, restart (10 keys, 1 secret)`,
  );
  const notes = workers === undefined ? [] : await awaitWorkers(phase, server, workers);
  const revealed = await expectOk(
    server.base,
    tokens[0] as string,
    'GET',
    `/api/v1/secrets/${BENCH_TAG}/value`,
  );
  if (revealed.value !== BENCH_VALUE) throw new Error('the bench secret did not decrypt to its value');
  const idleRssMiB = { [phase]: treeRssMiB(server.child.pid) ?? null };
  const rows = await measureStandardScenarios(measurer, phase, server, tokens, BENCH_TAG);
  await servers.stop(server, label);
  return { rows, startups: [firstStart, startup], idleRssMiB, notes };
}
