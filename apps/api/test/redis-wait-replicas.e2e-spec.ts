import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, createSession, PrivateRedis, TestSession, waitUntil } from '@app/testing';
import { caller, createPerformance } from './purchase-helpers';
import { startTestApi } from './support/api';

/**
 * REDIS_WAIT_REPLICAS=1 on a single Redis without a replica (a private redis-server): the api
 * starts, but readiness says Redis is down and why, and a purchase's 503 says why; once a replica
 * connects, readiness is 200 and the retried purchase (same Idempotency-Key) is answered 201.
 */
describe('REDIS_WAIT_REPLICAS above the replicas the Redis primary has', () => {
  let primary: PrivateRedis;
  let replica: PrivateRedis | undefined;
  let api: ApiHarness;
  let admin: TestSession;
  let buyer: TestSession;
  let call: ReturnType<typeof caller>;

  beforeAll(async () => {
    primary = await PrivateRedis.start();
    api = await startTestApi({
      REDIS_URL: primary.url,
      REDIS_CLUSTER_NODES: '',
      REDIS_WAIT_REPLICAS: '1',
      // Long enough for a replica just online to answer WAIT's GETACK on a loaded host (200 ms failed
      // once in CI); the refused purchase before the replica waits this long once.
      REDIS_WAIT_TIMEOUT_MS: '2000',
    });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app);
  });
  afterAll(async () => {
    await api?.close();
    await replica?.stop();
    await primary?.stop();
  });

  const ready = () => api.app.inject({ method: 'GET', url: '/health/ready' });

  it('is not ready while the primary has no replica, naming the setting; a purchase answers 503 saying why; both recover once a replica connects', async () => {
    const notReady = await ready();
    expect(notReady.statusCode).toBe(503);
    expect(notReady.headers['retry-after']).toBe('5');
    expect(notReady.json()).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'not ready: redis down: REDIS_WAIT_REPLICAS=1 but the primary has 0 connected replicas',
    });
    // No address reaches whoever asks.
    expect(notReady.body).not.toContain(String(primary.port));

    const performance = await createPerformance(api.app, admin, 2);
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
      session: buyer,
    });
    expect(held.statusCode).toBe(201);
    const buy = () =>
      call('POST', '/purchases', {
        body: { reservationId: held.json().id },
        session: buyer,
        headers: { 'idempotency-key': 'wait-replicas-1' },
      });
    const refused = await buy();
    expect(refused.statusCode).toBe(503);
    expect(refused.json().message).toBe(
      'the purchase could not be confirmed durably (it reached 0 of the 1 Redis replicas REDIS_WAIT_REPLICAS ' +
        'requires within REDIS_WAIT_TIMEOUT_MS); retry with the same Idempotency-Key',
    );

    replica = await PrivateRedis.start({ replicaOf: primary });
    await primary.waitForReplicas(1);
    await waitUntil(async () => (await ready()).statusCode === 200, 'ready once the replica is connected');
    expect((await ready()).json()).toMatchObject({ status: 'ok', info: { redis: { status: 'up' } } });
    const bought = await buy();
    expect(bought.statusCode).toBe(201);
    expect(bought.json()).toMatchObject({ reservationId: held.json().id, status: 'PAID' });
  });
});
