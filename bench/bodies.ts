// `npm run bench:bodies`: what a 2 MB request body costs Tessera, by shape, in one run on one
// server. A body nested a million levels deep (`[[[[…]]]]` in a field the schema ignores)
// beside flat bodies of the same size (one long string; an array of a million zeros) and a small
// one. Each is sent as the `pad` field of a key rename (PUT /api/v1/auth/key/{cid}, which strips
// `pad`), so the only difference between them is the shape of the bytes.
//
// Two measurements per shape:
// - one at a time (BODIES_ROUNDS rounds, the shapes interleaved so the host's drift spreads over
//   all of them): the client's latency (median) and the server's CPU time per request (from
//   /proc, summed over the rounds);
// - 64 at once, while another thread asks /healthz every 5 ms: how long the burst takes and what
//   it does to everyone else's latency (p50 and max of /healthz): how long the event loop is held.
//
// Tessera runs from src/ through tsx (BODIES_RUNNER=dist builds first and runs bin/tessera.js).
// Results: stdout, and bench/results/bodies-latest.json.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { generateMasterKey } from '../src/crypto/master-key.js';
import { generateToken } from '../src/crypto/tokens.js';
import { killAllChildren, stopChild } from './lib/children.js';
import { buildOrFallBack, ROOT, type Runner, startTesseraChild } from './lib/tessera-child.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

const ROUNDS = Number(process.env.BODIES_ROUNDS ?? 30);
const BURST = 64;
let runner = (process.env.BODIES_RUNNER?.trim() || 'tsx') as Runner;
if (runner !== 'dist' && runner !== 'tsx') throw new Error('BODIES_RUNNER must be dist or tsx');
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 1_000) throw new Error('BODIES_ROUNDS: 1 to 1000');

/** Just under the 2 MB body limit, so every shape is the same size and none is a 413. */
const SIZE = 2 * 1024 * 1024 - 1024;
const PREFIX = '{"name":"bench","pad":';

/** `PREFIX + pad + '}'`, `pad` made by `fill` to at most `room` bytes and padded with spaces to it. */
function sized(fill: (room: number) => string): string {
  const room = SIZE - PREFIX.length - 1;
  const pad = fill(room);
  const body = `${PREFIX}${pad}${' '.repeat(room - pad.length)}}`;
  if (Buffer.byteLength(body) !== SIZE)
    throw new Error(`bench bug: a body of ${Buffer.byteLength(body)} bytes`);
  return body;
}

const SHAPES: Record<string, string> = {
  'nested [[[…]]]': sized((room) => `${'['.repeat(room >> 1)}${']'.repeat(room >> 1)}`),
  'flat string': sized((room) => `"${'a'.repeat(room - 2)}"`),
  'flat array of 0s': sized((room) => `[${'0,'.repeat((room - 3) >> 1)}0]`),
  'small (reference)': `${PREFIX}"x"}`,
};

const dataDir = mkdtempSync(join(os.tmpdir(), `tessera-bodies-${process.pid}-`));
process.once('exit', () => {
  killAllChildren();
  rmSync(dataDir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** CPU time (user + system) of a process so far, in milliseconds. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime: fields 14 and 15 of man 5 proc, 12 and 13 after the command.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/**
 * Asks `url` every 5 ms from a thread of its own, so that its latencies are the server's and not
 * those of this thread's event loop, busy sending the burst. `stop` returns them.
 */
function startProber(url: string) {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
    const latencies = [];
    let done = false;
    parentPort.on('message', () => { done = true; });
    (async () => {
      parentPort.postMessage('ready');
      while (!done) {
        const started = performance.now();
        await (await fetch(workerData)).arrayBuffer();
        latencies.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      parentPort.postMessage(latencies);
    })();`,
    { eval: true, workerData: url },
  );
  const ready = new Promise<void>((resolve) => worker.once('message', () => resolve()));
  const stop = async (): Promise<number[]> => {
    await ready;
    const latencies = new Promise<number[]>((resolve) => worker.once('message', resolve));
    worker.postMessage('stop');
    const result = await latencies;
    await worker.terminate();
    return result;
  };
  return { ready, stop };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
};
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

async function main() {
  mkdirSync(join(ROOT, 'bench', 'results', 'logs'), { recursive: true });
  if (runner === 'dist') runner = buildOrFallBack(log).runner;
  const token = generateToken();
  const server = await startTesseraChild({
    runner,
    label: 'bodies',
    logFile: join(ROOT, 'bench', 'results', 'logs', 'bodies-tessera.log'),
    env: {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_MASTER_KEY: generateMasterKey().toString('base64'),
      TESSERA_BOOTSTRAP_TOKEN: token,
      TESSERA_RATE_LIMIT_PER_MINUTE: '1000000',
      TESSERA_LOG_LEVEL: 'warn',
    },
  });
  log(`tessera (${runner}) up at ${server.base}, pid ${server.child.pid}`);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const created = await fetch(`${server.base}/api/v1/auth/key`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'bench target', roles: [{ type: 'DEFAULT', role: 'READ_ONLY' }] }),
  });
  const { cid } = (await created.json()) as { cid: string };
  const target = `${server.base}/api/v1/auth/key/${cid}`;

  /** One request; its latency in ms and its status. */
  const send = async (body: string) => {
    const started = performance.now();
    const reply = await fetch(target, { method: 'PUT', headers, body });
    await reply.arrayBuffer();
    return { ms: performance.now() - started, status: reply.status };
  };

  const results: Record<string, Record<string, unknown>> = {};
  const names = Object.keys(SHAPES);
  for (const name of names) for (let i = 0; i < 3; i++) await send(SHAPES[name] as string); // warm-up

  log(`one at a time: ${ROUNDS} rounds …`);
  const latencies = new Map(names.map((name) => [name, [] as number[]]));
  const cpu = new Map(names.map((name) => [name, 0]));
  const statuses = new Map(names.map((name) => [name, new Map<number, number>()]));
  for (let i = 0; i < ROUNDS; i++) {
    for (const name of names) {
      const before = cpuMs(server.child.pid);
      const { ms, status } = await send(SHAPES[name] as string);
      cpu.set(name, (cpu.get(name) as number) + cpuMs(server.child.pid) - before);
      latencies.get(name)?.push(ms);
      const seen = statuses.get(name) as Map<number, number>;
      seen.set(status, (seen.get(status) ?? 0) + 1);
    }
  }

  log(`${BURST} at once, /healthz asked every 5 ms …`);
  for (const name of names) {
    const prober = startProber(`${server.base}/healthz`);
    await prober.ready;
    const started = performance.now();
    await Promise.all(Array.from({ length: BURST }, () => send(SHAPES[name] as string)));
    const burstMs = performance.now() - started;
    const probes = await prober.stop();
    results[name] = {
      bytes: Buffer.byteLength(SHAPES[name] as string),
      status: Object.fromEntries(statuses.get(name) ?? []),
      latencyP50Ms: round(percentile(latencies.get(name) as number[], 50), 2),
      serverCpuMsPerRequest: round((cpu.get(name) as number) / ROUNDS, 2),
      burstMs: round(burstMs),
      healthzP50Ms: round(percentile(probes, 50), 2),
      healthzMaxMs: round(Math.max(...probes)),
      healthzProbes: probes.length,
    };
  }
  await stopChild(server.child);

  const header = [
    'shape',
    'bytes',
    'status',
    'p50 ms',
    'CPU ms/req',
    `${BURST} at once ms`,
    'healthz p50',
    'max',
    'probes',
  ];
  const rows = names.map((name) => {
    const r = results[name] as Record<string, unknown>;
    return [
      name,
      String(r.bytes),
      Object.entries(r.status as Record<string, number>)
        .map(([status, count]) => `${status}×${count}`)
        .join(' '),
      String(r.latencyP50Ms),
      String(r.serverCpuMsPerRequest),
      String(r.burstMs),
      String(r.healthzP50Ms),
      String(r.healthzMaxMs),
      String(r.healthzProbes),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ');
  process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
  const file = join(ROOT, 'bench', 'results', 'bodies-latest.json');
  writeFileSync(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), runner, rounds: ROUNDS, results }, null, 2)}\n`,
  );
  log(`written: ${file}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`bench:bodies failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
