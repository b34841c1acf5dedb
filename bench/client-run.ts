// `npm run bench:client`: what `tessera run -- true` costs beyond starting Node.js itself.
//
// Builds (as `npm start` does; BENCH_BUILD=0 uses dist/ as it is), starts a real server on a
// loopback port with two secrets, then times, alternately and BENCH_CLIENT_RUNS times each (10),
// `node -e 0` and `node bin/tessera.js run -- true` (every secret the key may read, fetched in
// one bulk reveal, then `true` run with them), each as a fresh process from spawn to exit. Prints
// both medians and their difference; exits 1 when the difference is over the budget (150 ms).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { generateToken } from '../src/crypto/tokens.js';
import { stopChild } from './lib/children.js';
import { log } from './lib/log.js';
import { tempDir } from './lib/temp.js';
import { buildOrFallBack, childEnv, ROOT, startTesseraChild } from './lib/tessera-child.js';

const RUNS = Number(process.env.BENCH_CLIENT_RUNS ?? 10);
const BUDGET_MS = 150;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

function timed(args: string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const ran = spawnSync(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const elapsed = performance.now() - started;
  if (ran.status !== 0) throw new Error(`${args.join(' ')} exited ${ran.status}: ${ran.stderr}`);
  return elapsed;
}

async function main(): Promise<number> {
  const runner = process.env.BENCH_BUILD === '0' ? 'dist' : buildOrFallBack(log).runner;
  if (runner !== 'dist') throw new Error('the client bench times the built command: fix the build first');
  const token = generateToken();
  const dataDir = tempDir('client-run', false);
  const server = await startTesseraChild({
    runner,
    label: 'server',
    env: {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_MASTER_KEY: randomBytes(32).toString('base64'),
      TESSERA_BOOTSTRAP_TOKEN: token,
      TESSERA_LOG_LEVEL: 'warn',
    },
    logFile: join(dataDir, 'server.log'),
  });
  try {
    for (const tag of ['db-password', 'api-key']) {
      const reply = await fetch(`${server.base}/api/v1/secrets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tag, name: tag, secret: randomBytes(24).toString('base64') }),
      });
      if (reply.status !== 200) throw new Error(`creating ${tag}: ${reply.status} ${await reply.text()}`);
    }
    const env = childEnv({ TESSERA_URL: server.base, TESSERA_TOKEN: token, XDG_CONFIG_HOME: dataDir });
    const bare: number[] = [];
    const run: number[] = [];
    // One of each first, untimed: the file system's caches warm for both alike.
    timed(['-e', '0'], env);
    timed([join(ROOT, 'bin', 'tessera.js'), 'run', '--', 'true'], env);
    for (let i = 0; i < RUNS; i += 1) {
      bare.push(timed(['-e', '0'], env));
      run.push(timed([join(ROOT, 'bin', 'tessera.js'), 'run', '--', 'true'], env));
    }
    const difference = median(run) - median(bare);
    console.log(`node -e 0:              median ${median(bare).toFixed(1)} ms (${RUNS} runs)`);
    console.log(`tessera run -- true:    median ${median(run).toFixed(1)} ms (${RUNS} runs)`);
    console.log(`difference:             ${difference.toFixed(1)} ms (budget ${BUDGET_MS} ms)`);
    return difference <= BUDGET_MS ? 0 : 1;
  } finally {
    await stopChild(server.child);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench:client: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
