import type { PhaseResult, Row } from '../lib/results.js';
import type { PhaseContext } from './context.js';

/**
 * The calibration rows of servers/baseline-reveal-floor.mjs, by the FLOOR_AUDIT each runs with:
 * what a reveal's decryption alone costs, then the least any reveal can cost.
 */
export const REVEAL_FLOORS = [
  { audit: '0', name: "bare Fastify GET / + two AES-GCM opens (a reveal's decryption alone)" },
  { audit: '1', name: "bare Fastify GET / + two AES-GCM opens and a durable audit event (a reveal's floor)" },
];

/**
 * The baseline phase's calibration rows, bracketed by bare runs like any scenario. One per
 * BENCH_CALIBRATION_US value: the bare server with that many microseconds of busy work per request
 * (servers/baseline-work.mjs), which shows how fast the ratio to bare falls with per-request work
 * on this machine. Then a reveal's decryption alone, and its floor: the ratio no reveal can exceed
 * here.
 */
export async function calibrationPhase({ options, servers, measurer }: PhaseContext): Promise<PhaseResult> {
  const rows: Row[] = [];
  for (const us of options.calibrationUs) {
    const name = `bare Fastify GET / + ${us} µs of work per request`;
    if (measurer.skipped('baseline', name)) continue;
    const label = `baseline-work-${us}us`;
    const server = await servers.startBare('baseline-work.mjs', label, { WORK_US: String(us) });
    rows.push(...(await measurer.measure('baseline', name, server, { path: '/' })));
    await servers.stop(server, label);
  }
  for (const { audit, name } of REVEAL_FLOORS) {
    if (measurer.skipped('baseline', name)) continue;
    const label = `baseline-reveal-floor-audit-${audit}`;
    const server = await servers.startBare('baseline-reveal-floor.mjs', label, { FLOOR_AUDIT: audit });
    rows.push(...(await measurer.measure('baseline', name, server, { path: '/' })));
    await servers.stop(server, label);
  }
  return { rows, startups: [], idleRssMiB: {}, notes: [] };
}
