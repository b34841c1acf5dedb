import autocannon from 'autocannon';

/** One kind of request, fired by autocannon over `connections` keep-alive connections. */
export interface LoadSpec {
  /** Origin and path, e.g. http://127.0.0.1:1234/api/v1/me */
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** A fresh body per request (creates need unique tags). */
  body?: () => string;
  /** A fresh Authorization token per request (to measure token look-ups that miss the cache). */
  token?: () => string;
}

export interface LoadResult {
  seconds: number;
  responses: number;
  rps: number;
  /** Latency percentiles in ms, from every response's own timing (sub-millisecond resolution). */
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  statusCodes: Record<string, number>;
}

/** Response times, appended as they arrive; a typed array so 10⁶ samples stay cheap. */
export class Samples {
  private values = new Float64Array(1 << 16);
  private count = 0;

  add(value: number) {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = value;
  }

  percentiles(): { p50: number; p99: number; max: number } {
    const sorted = this.values.subarray(0, this.count).sort();
    const at = (q: number) => sorted[Math.min(this.count - 1, Math.ceil(q * this.count) - 1)] ?? Number.NaN;
    return { p50: at(0.5), p99: at(0.99), max: at(1) };
  }
}

/** One load of a run: a kind of request and the connections that fire it. */
export interface Load {
  spec: LoadSpec;
  connections: number;
}

/** Runs the load for `seconds` and measures it. */
export function runLoad(spec: LoadSpec, connections: number, seconds: number): Promise<LoadResult> {
  return runLoads([{ spec, connections }], seconds);
}

/**
 * Runs several loads at once for `seconds` (one autocannon instance each, e.g. one per node of a
 * fleet) and measures them as one: requests/s and failures summed, percentiles over every response.
 */
export async function runLoads(loads: Load[], seconds: number): Promise<LoadResult> {
  const samples = new Samples();
  const results = await Promise.all(loads.map((load) => fire(load, seconds, samples)));
  const statusCodes: Record<string, number> = {};
  let responses = 0;
  let rps = 0;
  for (const result of results) {
    for (const [code, count] of Object.entries(result.statusCodes)) {
      statusCodes[code] = (statusCodes[code] ?? 0) + count;
      responses += count;
    }
    rps += result.rps;
  }
  return {
    seconds: Math.max(...results.map((r) => r.seconds)),
    responses,
    rps,
    ...samples.percentiles(),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    statusCodes,
  };
}

/** One autocannon instance for `seconds`, adding every response's time to `samples`. */
function fire(
  { spec, connections }: Load,
  seconds: number,
  samples: Samples,
): Promise<Omit<LoadResult, 'p50' | 'p99' | 'max'>> {
  const dynamic = spec.body !== undefined || spec.token !== undefined;
  const request: autocannon.Request = {
    method: spec.method ?? 'GET',
    headers: spec.headers ?? {},
  };
  if (dynamic) {
    request.setupRequest = (req) => {
      const next: autocannon.Request = { ...req };
      if (spec.body !== undefined) next.body = spec.body();
      if (spec.token !== undefined)
        next.headers = { ...req.headers, authorization: `Bearer ${spec.token()}` };
      return next;
    };
  }
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections,
        duration: seconds,
        // Slow scenarios (a list page deep into a million rows) must still be measured, not time out.
        timeout: 60,
        requests: [request],
      },
      (error, result) => {
        if (error !== null && error !== undefined) {
          reject(error);
          return;
        }
        const statusCodes: Record<string, number> = {};
        for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
          statusCodes[code] = stats.count ?? 0;
        }
        const responses = Object.values(statusCodes).reduce((a, b) => a + b, 0);
        resolve({
          seconds: result.duration,
          responses,
          rps: responses / result.duration,
          non2xx: result.non2xx,
          errors: result.errors,
          statusCodes,
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => samples.add(responseTime));
  });
}
