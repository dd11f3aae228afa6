import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, createSession, PrivateRedis, waitForValue } from '@app/testing';
import { createPerformance } from './purchase-helpers';
import { startTestApi } from './support/api';

/** Seat pages asked at once while Redis is down: each answers 503. */
const REQUESTS = 60;

interface ErrorLine {
  message: string;
  error?: { stack_trace?: string };
}

/**
 * A Redis outage under load writes a few error lines, not one with a stack per request: the first
 * 503 of each kind in full, then a count of the others ("… and 59 more like it in the last 10 s"),
 * written by the api's own timer once the interval has passed, with no request after them. The
 * access log keeps a line per request.
 */
describe('the error log while Redis is down (a private redis-server stopped under the api)', () => {
  let redis: PrivateRedis;
  let api: ApiHarness;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    api = await startTestApi({ REDIS_URL: redis.url, REDIS_CLUSTER_NODES: '', REDIS_COMMAND_TIMEOUT_MS: '1000' });
  });
  afterAll(async () => {
    await api?.close();
    await redis?.stop();
  });

  /** The lines of the api's files whose name contains `level`, parsed. */
  const logLines = (level: string): ErrorLine[] =>
    readdirSync(api.env.LOG_DIR)
      .filter((file) => file.includes(level))
      .flatMap((file) => readFileSync(join(api.env.LOG_DIR, file), 'utf8').split('\n'))
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as ErrorLine);
  const requestLines = () => logLines('error').filter((line) => / failed: |^… and /.test(line.message));
  /** The 503s the error log accounts for: one per line in full, the count of each summary. */
  const accountedFor = () =>
    requestLines().reduce((sum, line) => {
      const summary = /^… and ([\d,]+) more like it in the last \d+ s/.exec(line.message);
      return sum + (summary ? Number(summary[1].replace(/,/g, '')) : 1);
    }, 0);

  it(`answers ${REQUESTS} seat pages 503 and logs the first of a kind with its stack, then a count`, async () => {
    const admin = await createSession(api.app, { role: Role.Admin });
    const performance = await createPerformance(api.app, admin, 4);
    const url = `/api/v1/performances/${performance.id}/seats`;
    expect((await api.app.inject({ method: 'GET', url })).statusCode).toBe(200);

    await redis.stop();
    const answers = await Promise.all(
      Array.from({ length: REQUESTS }, () => api.app.inject({ method: 'GET', url: `${url}?limit=100` })),
    );
    expect(answers.map((answer) => answer.statusCode)).toEqual(Array(REQUESTS).fill(503));

    // Every 503 is in the error log, most of them as a count the api writes by itself later.
    await waitForValue(accountedFor, 'every 503 accounted for in the error log', {
      done: (count) => count >= REQUESTS,
      timeoutMs: 60_000,
    });
    const lines = requestLines();
    expect(accountedFor()).toBe(REQUESTS);
    const full = lines.filter((line) => !line.message.startsWith('… and '));
    const summaries = lines.filter((line) => line.message.startsWith('… and '));
    // A kind is the error's class and its cause's (a closed connection, a refused one, a timeout).
    expect(full.length, full.map((line) => line.message).join('\n')).toBeLessThanOrEqual(3);
    expect(summaries.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThan(REQUESTS / 5);
    for (const line of full) {
      expect(line.message).toMatch(new RegExp(`^GET ${url}\\?limit=100 failed: ServiceUnavailable: `));
      expect(line.error?.stack_trace).toMatch(/^ServiceUnavailable: .*\n {4}at /);
    }
    for (const line of summaries) {
      expect(line.message).toMatch(
        /^… and [\d,]+ more like it in the last \d+ s \(StoreUnavailableError redis ← \w+.*\); the last: GET \S+ failed: ServiceUnavailable: /,
      );
      expect(line.error).toBeUndefined();
    }
    // The access log keeps every request's line.
    const accessed = logLines('info').filter(
      (line) => (line as { http?: { response?: { status_code?: number } } }).http?.response?.status_code === 503,
    );
    expect(accessed).toHaveLength(REQUESTS);
  });
});
