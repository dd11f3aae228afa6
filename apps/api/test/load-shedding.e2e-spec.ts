import { connect, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort, PROCESS_TEST_TIMEOUT_MS, waitUntil } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { AdminApi, signedBuyer, startAdminApi } from './support/api';
import { createShowOfSections, ON_SALE } from './support/shows';

/** Requests the built api works on at once before it sheds (SHED_MAX_IN_FLIGHT). */
const CAP = 3;

/**
 * Opens a request that stays in flight: its headers sent (so `onRequest` has counted it), its
 * body promised but never finished.
 */
function stalledRequest(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'POST /api/v1/reservations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          'Content-Length: 100\r\n\r\n{',
        () => resolve(socket),
      );
    });
    socket.on('error', reject);
  });
}

/**
 * Load shedding (LoadShedder, SHED_MAX_IN_FLIGHT) in the api as deployed (built, its own
 * process): past the cap, business routes answer 503 with Retry-After and the uniform body at
 * once, a shed hold holds nothing (its retry with the same key then holds), the probes and
 * /metrics still answer 200, and the api takes requests again once the load is gone.
 */
describe('load shedding of the built api (real PostgreSQL, Redis and RabbitMQ)', () => {
  let { api, admin, redis, call, close } = {} as AdminApi; // set before the first test
  let proc: AppProcess | undefined;
  let port: number;
  const stalled: Socket[] = [];
  beforeAll(async () => {
    ({ api, admin, redis, call, close } = await startAdminApi());
    port = await freePort();
    proc = await AppProcess.start('api', {
      ...api.env,
      PORT: String(port),
      SHED_MAX_IN_FLIGHT: String(CAP),
      ACCESS_LOG: 'true',
    });
  }, PROCESS_TEST_TIMEOUT_MS);
  afterAll(async () => {
    for (const socket of stalled) socket.destroy();
    await proc?.forceStop();
    await close?.();
  });

  const url = (path: string) => `http://127.0.0.1:${port}${path}`;

  it(
    'answers 503 with Retry-After past the cap, spares the probes and /metrics, changes nothing, and recovers',
    async () => {
      const { id, seats } = await createShowOfSections(call, admin, {
        title: 'Shed',
        performance: ON_SALE,
        sections: [{ name: 'Floor', grade: 'R', price: 1500, rows: 1, seatsPerRow: 4 }],
      });
      const buyer = await signedBuyer(api);
      const hold = () =>
        fetch(url('/api/v1/reservations'), {
          method: 'POST',
          headers: { ...buyer.headers, 'content-type': 'application/json', 'idempotency-key': 'shed-then-retry' },
          body: JSON.stringify({ performanceId: id, seatIds: seats.Floor.slice(0, 2) }),
        });

      for (let i = 0; i < CAP; i++) stalled.push(await stalledRequest(port));
      await waitUntil(async () => (await fetch(url('/api/v1/events'))).status === 503, 'the api to shed');

      const shed = await fetch(url('/api/v1/events'));
      expect(shed.status).toBe(503);
      expect(shed.headers.get('retry-after')).toBe('1');
      expect(shed.headers.get('x-request-id')).toBeTruthy();
      const body = (await shed.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', path: '/api/v1/events' });
      expect(body.message).toContain('Idempotency-Key');

      const shedHold = await hold();
      expect(shedHold.status).toBe(503);
      expect(shedHold.headers.get('retry-after')).toBe('1');
      // Nothing held: not in Redis's counts, not among the buyer's holds.
      const keys = performanceKeys(id);
      expect(Number((await redis.hget(keys.counts, 'held')) ?? 0)).toBe(0);
      expect(await redis.hkeys(keys.userHolds(buyer.userId))).toEqual([]);

      for (const path of ['/health/live', '/health/ready', '/metrics']) {
        expect((await fetch(url(path))).status, path).toBe(200);
      }
      const metrics = await (await fetch(url('/metrics'))).text();
      const counted = /^http_requests_shed_total\{reason="in_flight"\} (\d+)$/m.exec(metrics);
      expect(Number(counted?.[1])).toBeGreaterThanOrEqual(3);
      await waitUntil(
        () => proc!.lines.some((line) => String(line.message).startsWith('POST /api/v1/reservations 503 ')),
        "the shed hold's access line",
      );
      const line = proc!.lines.find((l) => String(l.message).startsWith('POST /api/v1/reservations 503 '));
      expect(String(line!.message)).toMatch(/\(shed: in_flight\)$/);

      // The load goes: the stalled requests' clients leave, and the api takes requests again.
      for (const socket of stalled.splice(0)) socket.destroy();
      await waitUntil(async () => (await fetch(url('/api/v1/events'))).status === 200, 'the api to take requests');
      // But not one Nginx sent longer ago than SHED_MAX_QUEUE_MS (2 s by default).
      const queued = await fetch(url('/api/v1/events'), {
        headers: { 'x-request-start': `t=${((Date.now() - 10_000) / 1000).toFixed(3)}` },
      });
      expect(queued.status).toBe(503);
      expect(queued.headers.get('retry-after')).toBe('1');
      expect(
        (await fetch(url('/api/v1/events'), { headers: { 'x-request-start': `t=${(Date.now() / 1000).toFixed(3)}` } }))
          .status,
      ).toBe(200);
      expect(await (await fetch(url('/metrics'))).text()).toMatch(/^http_requests_shed_total\{reason="queued"\} 1$/m);

      // The shed hold held nothing: its retry with the same key holds now.
      const retried = await hold();
      expect(retried.status).toBe(201);
      expect(Number(await redis.hget(keys.counts, 'held'))).toBe(2);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
