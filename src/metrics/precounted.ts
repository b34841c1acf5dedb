import type { Metric, Registry } from 'prom-client';

/**
 * Counters and histograms for the request path: counted in plain numbers held by the caller, and
 * read by prom-client only when scraped. prom-client's own Counter and Histogram validate and hash
 * the label values on every `inc` and `observe`, labelled children included; on the cached read,
 * three such calls per request cost the bench about a seventh of its throughput. Here a request
 * adds to numbers it already holds (`Count.n++`, a bucket index), and the series are turned into
 * prom-client's metric objects at scrape time, in the shape its registry renders and its cluster
 * aggregator sums (the same duck-typed objects prom-client registers for aggregated metrics).
 */

type Labels = Readonly<Record<string, string>>;

/** One counter series: add to `n`. */
export interface Count {
  n: number;
}

/** One histogram series. */
export interface Timing {
  observe(value: number): void;
}

interface Described {
  name: string;
  help: string;
}

/** A series' value as prom-client renders it: `metricName` names a histogram's part. */
interface SeriesValue {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/** A metric prom-client's registry can hold: what `get()` answers is rendered, or summed over workers. */
function register(
  registry: Registry,
  described: Described,
  type: 'counter' | 'histogram',
  values: () => SeriesValue[],
) {
  const shape = { ...described, type, aggregator: 'sum' } as const;
  registry.registerMetric({
    ...shape,
    get: async () => ({ ...shape, values: values() }),
  } as unknown as Metric);
}

/** A counter whose series are created once (`series(labels)`) and then counted by the caller. */
export function precountedCounter(registry: Registry, described: Described) {
  const series: { labels: Labels; count: Count }[] = [];
  register(registry, described, 'counter', () =>
    series.map(({ labels, count }) => ({ labels: { ...labels }, value: count.n })),
  );
  return {
    /** A new series (call once per label set and keep it): shown from the next scrape, at 0 until counted. */
    series(labels: Labels = {}): Count {
      const count = { n: 0 };
      series.push({ labels, count });
      return count;
    },
  };
}

/** A histogram whose series are created once (`series(labels)`) and then observed by the caller. */
export function precountedHistogram(
  registry: Registry,
  described: Described & { buckets: readonly number[] },
) {
  const bounds = [...described.buckets].sort((a, b) => a - b);
  const series: { labels: Labels; counts: Float64Array; sum: number }[] = [];
  const bucketName = `${described.name}_bucket`;
  register(registry, { name: described.name, help: described.help }, 'histogram', () =>
    series.flatMap(({ labels, counts, sum }) => {
      const values: SeriesValue[] = [];
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += counts[i] as number;
        values.push({
          metricName: bucketName,
          labels: { ...labels, le: bounds[i] as number },
          value: cumulative,
        });
      }
      const total = cumulative + (counts[bounds.length] as number);
      values.push(
        { metricName: bucketName, labels: { ...labels, le: '+Inf' }, value: total },
        { metricName: `${described.name}_sum`, labels: { ...labels }, value: sum },
        { metricName: `${described.name}_count`, labels: { ...labels }, value: total },
      );
      return values;
    }),
  );
  return {
    /** A new series (call once per label set and keep it). */
    series(labels: Labels = {}): Timing {
      // One slot per bound, and the last for values above every bound (+Inf only).
      const entry = { labels, counts: new Float64Array(bounds.length + 1), sum: 0 };
      series.push(entry);
      return {
        observe(value) {
          let i = 0;
          while (i < bounds.length && value > (bounds[i] as number)) i++;
          entry.counts[i] = (entry.counts[i] as number) + 1;
          entry.sum += value;
        },
      };
    },
  };
}
