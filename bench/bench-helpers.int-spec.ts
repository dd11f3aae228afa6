import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitUntil } from '@app/testing';
import { holdCall, loadBuild, setSeats, worstVenue, writeVenue } from './best-available-venue.mjs';
import { bestAvailableWorstCase } from './best-available-worst-case.mjs';

const ROOT = join(__dirname, '..');
/** The built api the benches load their scripts and modules from (the int project builds it first). */
const DIST_API = join(ROOT, 'dist/apps/api');

/**
 * Runs a bench script (`args`, from the repository's root) with Node, in the environment this
 * process runs in plus `settings` (`NAME=value`, set by env(1): nothing here reads the environment,
 * which only the config module does). Resolves with its output; rejects when it fails.
 */
function runBench(settings: string[], args: string[]): Promise<{ stdout: string }> {
  return promisify(execFile)('env', [...settings, process.execPath, ...args], { cwd: ROOT });
}

/**
 * The bench's shared helpers (best-available-venue.mjs) and three of its entry points run on the
 * built tree, so that a change the benches have not followed (a script's keys or arguments, a
 * record's fields) fails here rather than in `npm run bench`, which nothing in the suite runs:
 * setSeats once passed the rebuild script a key count it no longer took, and flush.mjs appended
 * purchases without the fields partial refunds added. On a private redis-server, as
 * hold-purchase-callgrind.mjs asks ("a Redis of its own": its keys are `hp<round>:`, its figures
 * Redis's own commandstats).
 */
describe('bench helpers on the built tree (private redis-server)', () => {
  let server: ChildProcess;
  let port: number;
  let redis: Redis;

  beforeAll(async () => {
    port = await freePort();
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    redis = new Redis({ port, keyPrefix: 'bench_helpers:', retryStrategy: () => 50 });
    // Refused until the server listens; the client retries by itself.
    redis.on('error', () => undefined);
    await waitUntil(async () => (await redis.ping().catch(() => '')) === 'PONG', `redis-server on ${port}`);
  });
  afterAll(() => {
    redis?.disconnect();
    server?.kill('SIGKILL');
  });

  it('loadBuild, writeVenue and setSeats make a venue that a holdCall holds seats in', async () => {
    const b = loadBuild(DIST_API);
    const performanceId = 1;
    const keys = b.performanceKeys(performanceId);
    const places = worstVenue({ rows: 2, seatsPerRow: 10 });
    const layout = b.buildSeatingLayout(places);
    await writeVenue(redis, keys, places, layout);
    await setSeats(redis, b, keys, places, layout, () => 'A');
    expect(await redis.hget(keys.seating, 'ready')).toBe(String(b.SEATING_FORMAT));

    const call = holdCall(b, keys, {
      performanceId,
      userId: randomUUID(),
      holdId: randomUUID(),
      quantity: 2,
      together: true,
      lifetimeMs: 300_000,
    });
    const answer = (await redis.eval(b.hold, call.keys.length, ...call.keys, ...call.args)) as unknown[];
    expect(answer[0]).toBe('OK');
    expect(String(answer[5]).split(',')).toHaveLength(2);
  });

  it('best-available-worst-case.mjs measures its default cases (one run each, on a venue of 160 seats)', async () => {
    const figures = await bestAvailableWorstCase({
      redisUrl: `redis://127.0.0.1:${port}`,
      keyPrefix: 'bench_worst:',
      runs: 1,
      fills: 2,
      groups: ['default'],
      places: worstVenue({ rows: 2, seatsPerRow: 10 }),
    });
    expect(figures.seats).toBe(160);
    expect(figures.split).toMatchObject({ runs: 1, answers: ['SPLIT'] });
    expect(figures.empty).toMatchObject({ runs: 1, answers: ['TOGETHER'] });
  });

  it('hold-purchase-callgrind.mjs holds, claims and buys every seat of a small hall (commandstats only)', async () => {
    const { stdout } = await runBench(
      ['KEEP=1'],
      ['bench/hold-purchase-callgrind.mjs', '--redis', `redis://127.0.0.1:${port}`, '--seats', '8', DIST_API],
    );
    const rows = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows.map((row) => [row.script, row.calls])).toEqual([
      ['hold-seats', 8],
      ['claim-hold', 8],
      ['purchase', 8],
      ['records', undefined],
    ]);
    // KEEP: its keys stay (round 0's, `hp0:`); performance 2 is the counted one.
    const kept = new Redis({ port, keyPrefix: 'hp0:' });
    try {
      expect(await kept.hget(loadBuild(DIST_API).performanceKeys(2).counts, 'sold')).toBe('8');
    } finally {
      kept.disconnect();
    }
  });

  it('flush.mjs has one batch flush and relay a small backlog (200 purchases, its own database)', async () => {
    const { stdout } = await runBench(
      ['FLUSH_PURCHASES=200', `REDIS_URL=redis://127.0.0.1:${port}`, `FLUSH_METRICS_PORT=${await freePort()}`],
      ['bench/flush.mjs'],
    );
    expect(stdout).toContain('with {"tickets":200,"outboxRows":0,"completedAttempts":200,"relayed":200}');
  }, 60_000);
});
