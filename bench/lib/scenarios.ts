import { randomBytes } from 'node:crypto';
import { bearer, JSON_BODY } from './api.js';
import type { Measurer, ScenarioSpec } from './measure.js';
import type { Row } from './results.js';
import type { Server } from './servers.js';

/** The secret every small phase creates, reads and reveals. */
export const BENCH_TAG = 'bench-secret';
export const BENCH_VALUE = 'a-32-byte-secret-value-for-bench';

/** Unique tags for creates, across warm-up, measured run and phases. */
let created = 0;
const runId = randomBytes(3).toString('hex');

/** The body of one create: a tag no earlier request of this run used. */
export function newSecretBody(): string {
  created += 1;
  return JSON.stringify({
    name: `Bench secret ${created}`,
    tag: `bench-${runId}-${created}`,
    secret: 'correct-horse-battery-staple-0123456789',
  });
}

/**
 * The scenarios of the targets, against a server holding a handful of keys and secrets. Each gets
 * its own token (`token(i)`), so that no two share a rate-limit budget.
 */
export const STANDARD_SCENARIOS: {
  name: string;
  spec: (token: (i: number) => string, tag: string) => ScenarioSpec;
}[] = [
  { name: 'GET /healthz (no auth, no storage)', spec: () => ({ path: '/healthz' }) },
  {
    name: 'GET /api/v1/me (token check)',
    spec: (token) => ({ path: '/api/v1/me', headers: bearer(token(0)) }),
  },
  {
    name: 'GET /api/v1/secrets/{tag}',
    spec: (token, tag) => ({ path: `/api/v1/secrets/${tag}`, headers: bearer(token(1)) }),
  },
  {
    name: 'GET /api/v1/secrets/{tag}/value',
    spec: (token, tag) => ({ path: `/api/v1/secrets/${tag}/value`, headers: bearer(token(2)) }),
  },
  {
    name: 'GET /api/v1/auth/key (list page)',
    spec: (token) => ({ path: '/api/v1/auth/key', headers: bearer(token(3)) }),
  },
  {
    name: 'POST /api/v1/secrets (creates)',
    spec: (token) => ({
      path: '/api/v1/secrets',
      method: 'POST',
      headers: { ...bearer(token(4)), ...JSON_BODY },
      body: newSecretBody,
    }),
  },
];

/** Every standard scenario against `server`, in order. */
export async function measureStandardScenarios(
  measurer: Measurer,
  phase: string,
  server: Server,
  tokens: string[],
  tag: string,
): Promise<Row[]> {
  const token = (i: number) => tokens[i % tokens.length] as string;
  const rows: Row[] = [];
  for (const scenario of STANDARD_SCENARIOS) {
    rows.push(...(await measurer.measure(phase, scenario.name, server, scenario.spec(token, tag))));
  }
  return rows;
}
