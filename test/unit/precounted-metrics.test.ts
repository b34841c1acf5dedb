/**
 * The request path's counters and histograms (src/metrics/precounted.ts) render exactly what
 * prom-client's own Counter and Histogram render for the same observations, bucket edges
 * included, and sum over workers as prom-client's cluster aggregator sums its own.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { createMetrics } from '../../src/metrics/metrics.js';
import { precountedCounter, precountedHistogram } from '../../src/metrics/precounted.js';
import { parsePrometheusText, type Sample } from '../helpers/prometheus-text.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
// Below, on and above each bound, and above them all.
const VALUES = [0, 0.0005, 0.001, 0.002, 0.01, 0.05, 0.1, 0.1000001, 1, 2.5, 40];

const sorted = (samples: Sample[]) =>
  samples.map((s) => JSON.stringify([s.name, Object.entries(s.labels).sort(), s.value])).sort();

async function samplesOf(registry: Registry): Promise<string[]> {
  return sorted(parsePrometheusText(await registry.metrics()));
}

function precountedRegistry(values: readonly number[]) {
  const registry = new Registry();
  const histogram = precountedHistogram(registry, { name: 'h_seconds', help: 'h', buckets: BUCKETS });
  const counter = precountedCounter(registry, { name: 'c_total', help: 'c' });
  const get = histogram.series({ method: 'GET' });
  const put = histogram.series({ method: 'PUT' });
  const hits = counter.series({ result: 'hit' });
  const misses = counter.series({ result: 'miss' });
  values.forEach((value, i) => {
    (i % 3 === 0 ? put : get).observe(value);
    (i % 2 === 0 ? hits : misses).n++;
  });
  return registry;
}

function promClientRegistry(values: readonly number[]) {
  const registry = new Registry();
  const histogram = new Histogram({
    name: 'h_seconds',
    help: 'h',
    buckets: BUCKETS,
    labelNames: ['method'],
    registers: [registry],
  });
  const counter = new Counter({ name: 'c_total', help: 'c', labelNames: ['result'], registers: [registry] });
  values.forEach((value, i) => {
    histogram.observe({ method: i % 3 === 0 ? 'PUT' : 'GET' }, value);
    counter.inc({ result: i % 2 === 0 ? 'hit' : 'miss' });
  });
  return registry;
}

describe('precounted metrics', () => {
  test("render as prom-client's own counter and histogram, bucket edges and +Inf included", async () => {
    const ours = await samplesOf(precountedRegistry(VALUES));
    assert.deepEqual(ours, await samplesOf(promClientRegistry(VALUES)));
    const text = await precountedRegistry(VALUES).metrics();
    assert.match(text, /^# TYPE h_seconds histogram$/m);
    assert.match(text, /^# TYPE c_total counter$/m);
  });

  test('a series exists at 0 from its creation, before anything is counted', async () => {
    const registry = new Registry();
    precountedCounter(registry, { name: 'c_total', help: 'c' }).series({ result: 'hit' });
    precountedHistogram(registry, { name: 'h_seconds', help: 'h', buckets: BUCKETS }).series();
    const samples = parsePrometheusText(await registry.metrics());
    assert.deepEqual(
      samples.filter((s) => s.value !== 0),
      [],
    );
    assert.ok(samples.some((s) => s.name === 'c_total' && s.labels.result === 'hit'));
    assert.ok(samples.some((s) => s.name === 'h_seconds_bucket' && s.labels.le === '+Inf'));
  });

  test("sum over workers as prom-client's aggregator sums its own metrics", async () => {
    const [first, second] = [VALUES.slice(0, 5), VALUES.slice(5)];
    const summed = (registries: Registry[]) =>
      Promise.all(registries.map((r) => r.getMetricsAsJSON())).then((json) =>
        samplesOf(AggregatorRegistry.aggregate(json)),
      );
    const ours = await summed([precountedRegistry(first), precountedRegistry(second)]);
    assert.deepEqual(ours, await summed([promClientRegistry(first), promClientRegistry(second)]));
    assert.ok(ours.length > 0);
  });
});

test('a cache asked for its look-up counter twice counts in one pair of series', async () => {
  const metrics = createMetrics();
  metrics.cacheLookups('tokens')(true);
  metrics.cacheLookups('tokens')(true);
  metrics.cacheLookups('tokens')(false);
  const registry = metrics.registry as Registry;
  const lookups = parsePrometheusText(await registry.metrics()).filter(
    (s) => s.name === 'tessera_cache_lookups_total',
  );
  assert.deepEqual(
    lookups.map((s) => [s.labels.result, s.value]),
    [
      ['hit', 2],
      ['miss', 1],
    ],
  );
});
