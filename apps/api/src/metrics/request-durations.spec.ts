import fc from 'fast-check';
import { Histogram, Metric, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestDurations } from './request-durations';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The exposition's lines, sorted: prom-client lists series in first-seen order, this by label. */
async function exposition(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').sort();
}

describe('RequestDurations', () => {
  it('exposes what a prom-client Histogram exposes for the same observations', async () => {
    const observation = fc.record({
      method: fc.constantFrom('GET', 'POST', 'DELETE'),
      route: fc.constantFrom('/health/live', '/api/v1/reservations', 'unmatched', '/api/v1/events/:id'),
      statusCode: fc.constantFrom(200, 201, 400, 404, 500),
      // Bounds themselves, around them, zero, and past the largest.
      seconds: fc.oneof(fc.constantFrom(0, ...BUCKETS, 7), fc.double({ min: 0, max: 8, noNaN: true })),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (observations) => {
        const theirs = new Registry();
        const histogram = new Histogram({
          name: 'http_request_duration_seconds',
          help: 'Duration of HTTP requests by method, route and status',
          labelNames: ['method', 'route', 'status_code'],
          buckets: BUCKETS,
          registers: [theirs],
        });
        const ours = new Registry();
        const durations = new RequestDurations(BUCKETS);
        ours.registerMetric(durations as unknown as Metric);
        for (const { method, route, statusCode, seconds } of observations) {
          histogram.observe({ method, route, status_code: String(statusCode) }, seconds);
          durations.observe(method, route, statusCode, seconds);
        }
        expect(await exposition(ours)).toEqual(await exposition(theirs));
      }),
      { numRuns: 200 },
    );
  });

  it('counts a request in the first bucket whose bound it does not pass, and starts over on reset', async () => {
    const registry = new Registry();
    const durations = new RequestDurations([0.01, 0.1]);
    registry.registerMetric(durations as unknown as Metric);
    durations.observe('GET', '/x', 200, 0.01);
    durations.observe('GET', '/x', 200, 0.05);
    durations.observe('GET', '/x', 200, 3);
    const text = await registry.metrics();
    expect(text).toContain(
      'http_request_duration_seconds_bucket{le="0.01",method="GET",route="/x",status_code="200"} 1',
    );
    expect(text).toContain(
      'http_request_duration_seconds_bucket{le="0.1",method="GET",route="/x",status_code="200"} 2',
    );
    expect(text).toContain(
      'http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/x",status_code="200"} 3',
    );
    expect(text).toContain('http_request_duration_seconds_count{method="GET",route="/x",status_code="200"} 3');
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('_count{');
  });
});
