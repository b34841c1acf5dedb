import { generateMasterKey } from '../../src/crypto/master-key.js';
import { generateToken } from '../../src/crypto/tokens.js';
import { createAdminKeys, expectOk } from '../lib/api.js';
import { log } from '../lib/log.js';
import { emptyPhase, type PhaseResult, type Row, type Startup } from '../lib/results.js';
import { BENCH_TAG, BENCH_VALUE, STANDARD_SCENARIOS } from '../lib/scenarios.js';
import type { Server, TesseraConfig } from '../lib/servers.js';
import type { PhaseContext } from './context.js';
import { createSchema, withSearchPath } from './postgres.js';

/**
 * The fleet phase (BENCH_FLEET, BENCH_PG_DELAY_MS): audited reads and writes on PostgreSQL and
 * Redis as a fleet runs them, with PostgreSQL one simulated network hop away. On one machine the
 * database answers in microseconds, which hides every round trip a request makes while it holds a
 * lock; a hop of a millisecond each way, as between hosts, shows them.
 */
export const FLEET_PHASE = 'fleet';

type Proxy = { port: number; stop: () => Promise<void> };
/** One node, then two: what a second node adds. */
const FLEET_NODE_COUNTS = [1, 2] as const;
/** The standard scenarios measured: a reveal (an audited read) and a create (an audited write). */
export const FLEET_REVEAL = 'GET /api/v1/secrets/{tag}/value';
export const FLEET_CREATE = 'POST /api/v1/secrets (creates)';

/** A configuration of the phase, e.g. `1 ms, 2 nodes`. */
function fleetConfiguration(delayMs: number, nodes: number): string {
  return `${delayMs} ms, ${nodes} ${nodes === 1 ? 'node' : 'nodes'}`;
}

/**
 * A fleet row's scenario, e.g. `1 ms, 2 nodes: GET /api/v1/secrets/{tag}/value`: with its phase,
 * what BENCH_ONLY matches and the report prints, `fleet 1 ms, 2 nodes: GET …`.
 */
export function fleetScenario(delayMs: number, nodes: number, scenario: string): string {
  return `${fleetConfiguration(delayMs, nodes)}: ${scenario}`;
}

const SCENARIOS = [FLEET_REVEAL, FLEET_CREATE].map((name) => {
  const scenario = STANDARD_SCENARIOS.find((s) => s.name === name);
  if (scenario === undefined) throw new Error(`no standard scenario '${name}'`);
  return scenario;
});

/** Every delay of BENCH_PG_DELAY_MS, one node then two; a configuration BENCH_ONLY leaves empty is not started. */
export async function fleetPhase(context: PhaseContext): Promise<PhaseResult> {
  const { options, measurer } = context;
  const result = emptyPhase();
  for (const delayMs of options.pgDelaysMs) {
    for (const nodes of FLEET_NODE_COUNTS) {
      const names = SCENARIOS.map((s) => fleetScenario(delayMs, nodes, s.name));
      if (names.every((name) => measurer.skipped(FLEET_PHASE, name))) continue;
      const { rows, startups } = await measureFleet(context, delayMs, nodes);
      result.rows.push(...rows);
      result.startups.push(...startups);
    }
  }
  if (result.rows.length > 0) {
    result.notes.push(
      `fleet: PostgreSQL ${options.pgDelaysMs.join(', ')} ms away each way (0: direct; else a delaying proxy ` +
        `in a process of its own, whose CPU counts as other), Redis direct, TESSERA_DB_POOL_SIZE ` +
        `${options.pgPoolSize ?? "Tessera's default"}; compare its rows within this run only`,
    );
  }
  return result;
}

/**
 * One configuration: a fresh schema, the proxy (none at 0 ms), `nodes` Tessera nodes sharing the
 * schema and Redis, five keys and the bench secret, then each scenario across every node at once.
 */
async function measureFleet(
  context: PhaseContext,
  delayMs: number,
  nodes: number,
): Promise<{ rows: Row[]; startups: Startup[] }> {
  const { options, servers, measurer } = context;
  const name = fleetConfiguration(delayMs, nodes);
  const label = `fleet-${delayMs}ms-${nodes}n`;
  // Set-up goes straight to PostgreSQL: only the nodes' connections cross the hop.
  const schema = await createSchema(options.pgUrl);
  const proxy =
    delayMs === 0 ? undefined : await startProxy(context, options.pgUrl, delayMs, `${label}-proxy`);
  const started: { server: Server; label: string }[] = [];
  try {
    const shared = {
      masterKey: generateMasterKey().toString('base64'),
      bootstrapToken: generateToken(),
      databaseUrl: withSearchPath(proxiedUrl(options.pgUrl, proxy), schema),
      redisUrl: options.redisUrl,
      poolSize: options.pgPoolSize,
    } satisfies Omit<TesseraConfig, 'label' | 'dataDir'>;
    const startups: Startup[] = [];
    // One after the other: the first migrates the empty schema and creates the bootstrap key.
    for (let i = 1; i <= nodes; i++) {
      const nodeLabel = `${label}-node${i}`;
      const server = await servers.startTessera({
        ...shared,
        label: nodeLabel,
        dataDir: context.tempDir(nodeLabel),
      });
      started.push({ server, label: nodeLabel });
      const what = i === 1 ? 'first node, empty schema' : `node ${i}`;
      startups.push({ phase: FLEET_PHASE, label: `${FLEET_PHASE} ${name}: ${what}`, ms: server.startupMs });
    }
    const targets = started.map((s) => s.server);
    const first = targets[0] as Server;
    // One key per standard scenario, as the other phases have, so each keeps its own rate-limit budget.
    const tokens = await createAdminKeys(first.base, shared.bootstrapToken, 5);
    await expectOk(first.base, shared.bootstrapToken, 'POST', '/api/v1/secrets', {
      name: 'Bench secret',
      tag: BENCH_TAG,
      secret: BENCH_VALUE,
    });
    // Every node must reach the database through the hop and decrypt, or its share would be errors.
    for (const server of targets) {
      const revealed = await expectOk(
        server.base,
        tokens[0] as string,
        'GET',
        `/api/v1/secrets/${BENCH_TAG}/value`,
      );
      if (revealed.value !== BENCH_VALUE) throw new Error(`${server.base}: the bench secret did not decrypt`);
    }
    log(
      `[${FLEET_PHASE}] ${name}: ${targets.map((s) => s.base).join(', ')}${proxy ? `, PostgreSQL via 127.0.0.1:${proxy.port}` : ''}`,
    );
    const token = (i: number) => tokens[i % tokens.length] as string;
    const rows: Row[] = [];
    for (const scenario of SCENARIOS) {
      const measured = await measurer.measureAcross(
        FLEET_PHASE,
        fleetScenario(delayMs, nodes, scenario.name),
        targets,
        scenario.spec(token, BENCH_TAG),
      );
      // The same objects, not copies: the measurer closes their bare brackets by identity.
      for (const row of measured) row.pgDelayMs = delayMs;
      rows.push(...measured);
    }
    return { rows, startups };
  } finally {
    for (const { server, label: nodeLabel } of started) await servers.stop(server, nodeLabel);
    await proxy?.stop();
  }
}

/** The delaying proxy in front of BENCH_PG_URL's server, in a process of its own. */
function startProxy(context: PhaseContext, pgUrl: string, delayMs: number, label: string): Promise<Proxy> {
  const url = new URL(pgUrl);
  return context.servers.startDelayProxy(
    { host: url.hostname, port: Number(url.port || 5432) },
    delayMs,
    label,
  );
}

/** BENCH_PG_URL, through the proxy when there is one. */
function proxiedUrl(pgUrl: string, proxy: Proxy | undefined): string {
  if (proxy === undefined) return pgUrl;
  const url = new URL(pgUrl);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return url.href;
}
