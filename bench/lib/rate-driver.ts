import http from 'node:http';
import { Samples } from './load.js';

/**
 * An open-loop load driver: requests start at a fixed rate whatever the server does (a slow
 * server does not slow the driver down, as it would a fixed number of connections), over
 * keep-alive connections. Used by the soak, where the question is whether a steady production
 * rate can be served for minutes without errors or growing memory, not how fast it can go.
 */

export interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  token: string;
  body?: unknown;
}

/** One kind of request of the mix. */
export interface Operation {
  name: string;
  call: Call;
  /** Sees the parsed reply of a 2xx (e.g. to remember what a create made). */
  onSuccess?: (body: any) => void;
}

/** What one phase (warm-up, measured) saw. */
export class PhaseStats {
  readonly statuses: Record<string, number> = {};
  readonly byOperation: Record<string, Record<string, number>> = {};
  /** Non-2xx replies and failed requests, the first few kept as examples (status and problem type only). */
  errors = 0;
  readonly errorExamples: string[] = [];
  readonly latency = new Samples();
  readonly latencyByOperation = new Map<string, Samples>();
  started = 0;
  completed = 0;
  /** How late the driver started requests, at worst (ms): large values mean the driver itself fell behind. */
  maxLagMs = 0;

  record(operation: string, outcome: string, ms: number | undefined, ok: boolean, example?: string) {
    this.completed += 1;
    this.statuses[outcome] = (this.statuses[outcome] ?? 0) + 1;
    const mine = this.byOperation[operation] ?? {};
    mine[outcome] = (mine[outcome] ?? 0) + 1;
    this.byOperation[operation] = mine;
    if (ms !== undefined) {
      this.latency.add(ms);
      let samples = this.latencyByOperation.get(operation);
      if (samples === undefined) {
        samples = new Samples();
        this.latencyByOperation.set(operation, samples);
      }
      samples.add(ms);
    }
    if (!ok) {
      this.errors += 1;
      if (this.errorExamples.length < 20) this.errorExamples.push(`${operation}: ${example ?? outcome}`);
    }
  }
}

export interface DriverOptions {
  base: string;
  /** Requests started per second. */
  rate: number;
  /** Keep-alive connections at most, as a client fleet's pools would hold; more requests wait for one. */
  connections: number;
  /** Requests in flight (waiting for a connection included) at most; past it a due request is an error ('driver saturated'). */
  maxInFlight: number;
  /** A request without a reply after this long is an error ('timeout'). */
  timeoutMs: number;
}

export class RateDriver {
  private readonly agent: http.Agent;
  private inFlight = 0;

  constructor(
    private readonly options: DriverOptions,
    private readonly next: () => Operation,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  }

  /** Starts `rate × seconds` requests at their scheduled instants; resolves once all have ended. */
  run(seconds: number, stats: PhaseStats): Promise<void> {
    const total = Math.round(this.options.rate * seconds);
    const interval = 1000 / this.options.rate;
    const start = performance.now();
    let sent = 0;
    return new Promise((resolve) => {
      let pending = 0;
      let scheduling = true;
      const finishIfDone = () => {
        if (!scheduling && pending === 0) resolve();
      };
      const tick = () => {
        const now = performance.now();
        while (sent < total && start + sent * interval <= now) {
          stats.maxLagMs = Math.max(stats.maxLagMs, now - (start + sent * interval));
          sent += 1;
          pending += 1;
          void this.send(this.next(), stats).finally(() => {
            pending -= 1;
            finishIfDone();
          });
        }
        if (sent < total) {
          setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
        } else {
          scheduling = false;
          finishIfDone();
        }
      };
      tick();
    });
  }

  private async send(operation: Operation, stats: PhaseStats): Promise<void> {
    stats.started += 1;
    if (this.inFlight >= this.options.maxInFlight) {
      stats.record(operation.name, 'driver saturated', undefined, false);
      return;
    }
    this.inFlight += 1;
    const began = performance.now();
    try {
      const { status, text } = await this.request(operation.call);
      const ms = performance.now() - began;
      const ok = status >= 200 && status < 300;
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = undefined;
      }
      // Of a reply only a problem's type and detail are kept (SPEC §3: they never carry a token or value).
      const problem = (body ?? {}) as { type?: unknown; detail?: unknown };
      const example = `${status} ${String(problem.type ?? '')}: ${String(problem.detail ?? '').slice(0, 160)}`;
      stats.record(operation.name, String(status), ms, ok, example);
      if (ok) operation.onSuccess?.(body);
    } catch (error) {
      stats.record(operation.name, 'request failed', undefined, false, (error as Error).message);
    } finally {
      this.inFlight -= 1;
    }
  }

  private request(call: Call): Promise<{ status: number; text: string }> {
    const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
    return new Promise((resolve, reject) => {
      const request = http.request(
        `${this.options.base}${call.path}`,
        {
          method: call.method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${call.token}`,
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          response.on('error', reject);
        },
      );
      // From the start, waiting for a free connection included: the reply is late either way.
      const timer = setTimeout(() => request.destroy(new Error('timeout')), this.options.timeoutMs);
      request.on('close', () => clearTimeout(timer));
      request.on('error', reject);
      request.end(payload);
    });
  }

  close() {
    this.agent.destroy();
  }
}
