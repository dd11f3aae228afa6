type Labels = { method: string; route: string; status_code: string };

/** One line of the exposition, as prom-client's registry reads it from a metric's `get()`. */
export interface ExpositionValue {
  labels: Partial<Labels> & { le?: number | '+Inf' };
  value: number;
  metricName: string;
}

/** One series: counts per bucket (not cumulative; the last is past every bound), sum and count. */
interface Series {
  readonly labels: Labels;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * `http_request_duration_seconds`, the per-route latency histogram, answering prom-client's
 * registry (registered with `Registry.registerMetric`) with the same values and exposition as a
 * prom-client `Histogram` with labels `method`, `route`, `status_code` given the same
 * observations, line for line (series grouped by method and route rather than in first-seen order;
 * `request-durations.spec.ts` compares the two).
 *
 * Why not prom-client's own: its `observe` validates and hashes the label object on every call
 * and keys buckets by number-as-string, ~1 µs of a request, which the bench saw as ~10 % of a
 * liveness request's CPU (docs/performance.md). Here a series is found by three map lookups and
 * a bucket by a loop over the bounds, without allocating.
 */
export class RequestDurations {
  readonly name = 'http_request_duration_seconds';
  readonly help = 'Duration of HTTP requests by method, route and status';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: Float64Array;
  /** method → route → status code → series. */
  private series = new Map<string, Map<string, Map<number, Series>>>();

  /** @param buckets upper bounds in seconds, ascending (prom-client's `le` values, `+Inf` implied) */
  constructor(buckets: readonly number[]) {
    this.bounds = Float64Array.from(buckets);
  }

  /** Counts one answered request that took `seconds` (a finite number; anything else is dropped). */
  observe(method: string, route: string, statusCode: number, seconds: number): void {
    if (!Number.isFinite(seconds)) return;
    let byRoute = this.series.get(method);
    if (byRoute === undefined) this.series.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (byStatus === undefined) byRoute.set(route, (byStatus = new Map()));
    let series = byStatus.get(statusCode);
    if (series === undefined) {
      const labels = { method, route, status_code: String(statusCode) };
      byStatus.set(
        statusCode,
        (series = { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }),
      );
    }
    let bucket = 0;
    while (bucket < this.bounds.length && seconds > this.bounds[bucket]) bucket += 1;
    series.counts[bucket] += 1;
    series.sum += seconds;
    series.count += 1;
  }

  /** The series in prom-client's shape: per series its cumulative buckets, `+Inf`, `_sum`, `_count`. */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExpositionValue[] }> {
    const values: ExpositionValue[] = [];
    for (const byRoute of this.series.values()) {
      for (const byStatus of byRoute.values()) {
        for (const { labels, counts, sum, count } of byStatus.values()) {
          let cumulative = 0;
          this.bounds.forEach((le, bucket) => {
            cumulative += counts[bucket];
            values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
          });
          values.push({ labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.name}_bucket` });
          values.push({ labels: { ...labels }, value: sum, metricName: `${this.name}_sum` });
          values.push({ labels: { ...labels }, value: count, metricName: `${this.name}_count` });
        }
      }
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.series = new Map();
  }
}
