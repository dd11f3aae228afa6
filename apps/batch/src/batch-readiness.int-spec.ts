import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsServer } from '@app/logging';
import { createTestEnv, destroyTestEnv, freePort, PrivateRedis, TestEnv, waitUntil } from '@app/testing';
import { batchReadiness } from './batch-readiness';
import { BatchModule } from './batch.module';

/**
 * `batch`'s `GET /health/ready` on METRICS_PORT (the module without its loops, on a private
 * redis-server): with REDIS_WAIT_REPLICAS=1 and no replica, 503 naming Redis and the setting
 * (no flush could be written: each batch waits for a replica); 200 once a replica connects.
 */
describe('batch readiness: REDIS_WAIT_REPLICAS above the replicas the Redis primary has', () => {
  let primary: PrivateRedis;
  let replica: PrivateRedis | undefined;
  let env: TestEnv;
  let context: INestApplicationContext;
  let server: MetricsServer;
  let url = '';

  beforeAll(async () => {
    primary = await PrivateRedis.start();
    env = await createTestEnv({ REDIS_URL: primary.url, REDIS_CLUSTER_NODES: '', REDIS_WAIT_REPLICAS: '1' });
    context = await NestFactory.createApplicationContext(BatchModule.forRoot(env), { logger: false });
    await context.init();
    const port = await freePort();
    server = await MetricsServer.start(new Registry(), port, '127.0.0.1', batchReadiness(context));
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server?.close();
    await context?.close();
    if (env) await destroyTestEnv(env);
    await replica?.stop();
    await primary?.stop();
  });

  it('answers 503 naming the setting while the primary has no replica, 200 once one connects', async () => {
    const notReady = await fetch(`${url}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('retry-after')).toBe('5');
    expect(await notReady.json()).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'not ready: redis down: REDIS_WAIT_REPLICAS=1 but the primary has 0 connected replicas',
      path: '/health/ready',
    });

    replica = await PrivateRedis.start({ replicaOf: primary });
    await primary.waitForReplicas(1);
    await waitUntil(
      async () => (await fetch(`${url}/health/ready`)).status === 200,
      'ready once the replica connected',
    );
    expect(await (await fetch(`${url}/health/ready`)).json()).toEqual({
      status: 'ok',
      details: { postgres: { status: 'up' }, redis: { status: 'up' } },
    });
  });

  it('says PostgreSQL is down, and only that, when it is (no address in the answer)', async () => {
    const db = context.get(DataSource);
    const query = db.query.bind(db);
    db.query = (() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'))) as typeof db.query;
    try {
      const answer = await fetch(`${url}/health/ready`);
      expect(answer.status).toBe(503);
      const body = await answer.text();
      expect(JSON.parse(body).message).toBe('not ready: postgres down');
      expect(body).not.toContain('ECONNREFUSED');
    } finally {
      db.query = query;
    }
  });

  it('keeps serving /health/live and /metrics, and names /health/ready among what it serves', async () => {
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    const other = await fetch(`${url}/nothing`);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { message: string }).message).toBe(
      'Only GET /metrics, GET /health/live and GET /health/ready are served here',
    );
  });
});
