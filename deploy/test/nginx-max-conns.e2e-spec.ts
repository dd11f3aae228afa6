import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitUntil } from '@app/testing';
import { LocalNginx } from './nginx';

/** A stand-in replica that holds every request until `answerHeld()`. */
class HoldingReplica {
  readonly held: http.ServerResponse[] = [];
  seen = 0;
  port = 0;
  private readonly server = http.createServer((request, response) => {
    this.seen++;
    request.resume();
    request.on('end', () => this.held.push(response));
  });

  answerHeld(): void {
    for (const response of this.held.splice(0)) {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ port: this.port }));
    }
  }

  async start(): Promise<void> {
    this.port = await freePort();
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * `max_conns` per replica (API_MAX_CONNS, here 1): with every replica at its cap Nginx asks none
 * and answers at once a 503 with Retry-After and the uniform body (open-source Nginx has no
 * queue), rests no replica for it, and takes requests again once connections are free.
 */
describe('Nginx with every api replica at max_conns', () => {
  const replicas = [new HoldingReplica(), new HoldingReplica()];
  let nginx: LocalNginx;
  beforeAll(async () => {
    await Promise.all(replicas.map((replica) => replica.start()));
    nginx = await LocalNginx.start(
      replicas.map((replica) => replica.port),
      { maxConns: 1 },
    );
  });
  afterAll(async () => {
    for (const replica of replicas) replica.answerHeld();
    await nginx?.stop();
    await Promise.all(replicas.map((replica) => replica.stop()));
  });

  const post = () =>
    fetch(`${nginx.url}/api/v1/reservations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });

  it('answers 503 with Retry-After at once, asks no replica, rests none, and recovers', async () => {
    const first = [post(), post()];
    await waitUntil(() => replicas.every((replica) => replica.held.length === 1), 'each replica to hold one request');

    const busy = await post();
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    expect(busy.headers.get('x-request-id')).toBeTruthy();
    expect(await busy.json()).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.stringContaining('No api replica is free'),
      requestId: busy.headers.get('x-request-id'),
      path: '/api/v1/reservations',
    });
    expect(replicas.map((replica) => replica.seen)).toEqual([1, 1]);

    for (const replica of replicas) replica.answerHeld();
    expect((await Promise.all(first)).map((response) => response.status)).toEqual([200, 200]);
    // Neither replica was rested: each answers again.
    const again = [post(), post()];
    await waitUntil(() => replicas.every((replica) => replica.held.length === 1), 'both replicas to take one again');
    for (const replica of replicas) replica.answerHeld();
    expect((await Promise.all(again)).map((response) => response.status)).toEqual([200, 200]);
    expect(nginx.errorLog()).not.toMatch(/temporarily disabled/);
  });
});
