import { AggregatorRegistry, type Registry } from 'prom-client';
import { UnavailableError } from '../domain/errors.js';
import type { WorkerChannel } from './ipc.js';
import type { WorkerEnd } from './primary-hub.js';

/** How long a worker waits for the primary's sum before the scrape fails (503). */
const SUM_TIMEOUT_MS = 5_000;

/**
 * Metrics of a multi-process server, summed over its workers (prom-client's AggregatorRegistry):
 * a scrape reaches one worker, which asks the primary; the primary asks every worker for its
 * series over prom-client's own IPC messages, sums them and answers the asking worker.
 */
export function createPrimaryMetrics() {
  const aggregator = new AggregatorRegistry();
  return {
    answer(worker: WorkerEnd, request: number): void {
      aggregator.clusterMetrics().then(
        (text) => worker.send({ tessera: 'metrics', request, text }),
        () => worker.send({ tessera: 'metrics', request, text: null }),
      );
    },
  };
}

/**
 * A worker's side: it answers the primary's requests for its series (the registry given here),
 * and gets the summed text for a scrape it received. Rejects when the primary does not answer.
 */
export function workerMetricsText(channel: WorkerChannel, registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's listener for the primary's requests.
  new AggregatorRegistry();
  let next = 0;
  const waiting = new Map<number, (text: string | null) => void>();
  channel.onMessage((message) => {
    if (message.tessera !== 'metrics') return;
    waiting.get(message.request)?.(message.text);
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const request = next++;
      const timer = setTimeout(() => settle(null), SUM_TIMEOUT_MS);
      function settle(text: string | null) {
        clearTimeout(timer);
        waiting.delete(request);
        if (text === null) {
          reject(
            new UnavailableError('Metrics unavailable', "The workers' metrics could not be summed; retry"),
          );
        } else resolve(text);
      }
      waiting.set(request, settle);
      channel.send({ tessera: 'metrics', request });
    });
}
