import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config.js';
import { onStopSignal } from '../runtime/stop-signals.js';
import type { ToPrimary } from './ipc.js';
import { createPrimaryHub, type WorkerEnd } from './primary-hub.js';
import { createPrimaryLog } from './primary-log.js';

/** A worker may fail this often in a minute and be replaced; more, and the server stops. */
const RESTARTS_PER_MINUTE = 5;
/** Workers finish in-flight requests within their own grace period; past this they are killed. */
const STOP_GRACE_MS = 12_000;

function isToPrimary(message: unknown): message is ToPrimary {
  return typeof message === 'object' && message !== null && 'tessera' in message;
}

/**
 * TESSERA_WORKERS > 1: this process serves nothing itself. It forks the workers, each a whole
 * server on the shared port (node:cluster hands out connections), relays change notices between
 * them and keeps their shared rate-limit counts (primary-hub.ts). A worker that dies is replaced;
 * SIGTERM or SIGINT stops every worker gracefully, then the primary.
 *
 * The first worker starts alone: it migrates the database, settles the master key and creates
 * the bootstrap key, so that the others start on a prepared store and no two processes race to
 * generate a master key. The port answers as soon as that first worker listens.
 */
export async function runPrimary(config: Config): Promise<void> {
  const log = createPrimaryLog(config.logLevel);
  const hub = createPrimaryHub();
  // Loaded only when metrics are on: the primary otherwise stays as small as it is.
  const metrics =
    config.metricsToken === undefined
      ? undefined
      : (await import('./cluster-metrics.js')).createPrimaryMetrics();
  const ends = new Map<Worker, WorkerEnd>();
  const deaths: number[] = [];
  let started = false;
  let stopping = false;

  function fork(): Promise<void> {
    const worker = cluster.fork();
    const end: WorkerEnd = {
      send: (message) => {
        if (worker.isConnected()) worker.send(message);
      },
    };
    ends.set(worker, end);
    worker.on('message', (message: unknown) => {
      if (!isToPrimary(message)) return;
      if (message.tessera === 'metrics') metrics?.answer(end, message.request);
      else hub.receive(end, message, ends.values());
    });
    return new Promise((resolve, reject) => {
      worker.once('listening', () => resolve());
      worker.once('exit', (code) => reject(new Error(`a worker exited with code ${code} while starting`)));
    });
  }

  function stop(code: number) {
    if (stopping) return;
    stopping = true;
    log.info({ workers: ends.size }, 'shutting down: stopping the workers');
    if (ends.size === 0) process.exit(code);
    for (const worker of ends.keys()) worker.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      log.error({}, 'workers did not stop in time; killing them');
      for (const worker of ends.keys()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, STOP_GRACE_MS);
    timer.unref();
    cluster.on('exit', () => {
      if (ends.size === 0) {
        hub.close();
        log.info({}, 'stopped');
        process.exit(code);
      }
    });
  }

  cluster.on('exit', (worker, code, signal) => {
    ends.delete(worker);
    // A worker that cannot start (a bad setting, a port in use) has said why on stderr.
    if (!started) return stop(1);
    if (stopping) return;
    const at = Date.now();
    deaths.push(at);
    while ((deaths[0] ?? at) < at - 60_000) deaths.shift();
    if (deaths.length > RESTARTS_PER_MINUTE) {
      log.fatal({ code, signal }, `workers failed ${deaths.length} times within a minute; stopping`);
      return stop(1);
    }
    log.error({ workerPid: worker.process.pid, code, signal }, 'a worker exited; starting a new one');
    fork().catch(() => {});
  });
  onStopSignal(() => stop(0));

  try {
    await fork();
    await Promise.all(Array.from({ length: config.workers - 1 }, fork));
  } catch {
    return;
  }
  started = true;
  log.info({ workers: config.workers }, `serving with ${config.workers} worker processes`);
}
