import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalNginx } from './nginx';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A stand-in replica: answers 200 with what it saw, or drops the connection when told to fail. */
class FakeReplica {
  readonly seen: Seen[] = [];
  failing = false;
  port = 0;
  private readonly server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      this.seen.push({ method: request.method!, url: request.url!, headers: request.headers });
      if (this.failing) {
        request.socket.destroy();
        return;
      }
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ port: this.port }));
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('Nginx in front of replicas (template as rendered for npm run start:cluster)', () => {
  const replicas = [new FakeReplica(), new FakeReplica()];
  let nginx: LocalNginx;

  beforeAll(async () => {
    await Promise.all(replicas.map((replica) => replica.start()));
    nginx = await LocalNginx.start(replicas.map((replica) => replica.port));
  });
  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(replicas.map((replica) => replica.stop()));
  });

  function reset(): void {
    for (const replica of replicas) {
      replica.seen.length = 0;
      replica.failing = false;
    }
  }

  it('never sends a POST a second time once a replica got it (no non_idempotent)', async () => {
    reset();
    for (const replica of replicas) replica.failing = true;
    const response = await fetch(`${nginx.url}/api/v1/purchases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'buy-once' },
      body: JSON.stringify({ reservationId: 'r1' }),
    });
    expect(response.status).toBe(502);
    const posts = replicas.flatMap((replica) => replica.seen).filter((seen) => seen.method === 'POST');
    expect(posts.length).toBe(1);
  });

  it('retries a GET on the other replica when one drops the connection', async () => {
    reset();
    replicas[0].failing = true;
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(`${nginx.url}/api/v1/events`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expect(replicas[1].seen.length).toBe(6);
  });

  it('forwards the request id, the client address and the scheme, and makes an id when none is given', async () => {
    reset();
    await fetch(`${nginx.url}/api/v1/events`, {
      headers: { 'x-request-id': 'trace-7', 'x-forwarded-for': '203.0.113.9' },
    });
    const answered = await fetch(`${nginx.url}/api/v1/events`, { headers: { 'x-request-id': 'bad id with spaces' } });
    const [first, second] = replicas.flatMap((replica) => replica.seen);
    expect(first.headers['x-request-id']).toBe('trace-7');
    // A made-up X-Forwarded-For is replaced by the real peer address, so rate limits hold.
    expect(first.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(first.headers['x-forwarded-proto']).toBe('http');
    expect(second.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(answered.headers.get('x-request-id')).toBe(second.headers['x-request-id']);
  });

  it('answers 404 for /metrics without asking a replica', async () => {
    reset();
    for (const path of ['/metrics', '/metrics?x=1', '/%6detrics']) {
      expect((await fetch(`${nginx.url}${path}`)).status, path).toBe(404);
    }
    expect(replicas.flatMap((replica) => replica.seen)).toEqual([]);
  });

  it('refuses bodies over 128 KiB', async () => {
    const response = await fetch(`${nginx.url}/api/v1/events`, { method: 'POST', body: 'x'.repeat(200 * 1024) });
    expect(response.status).toBe(413);
  });

  it('rate-limits login attempts per client address with 429', async () => {
    reset();
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () =>
        fetch(`${nginx.url}/api/v1/auth/login`, { method: 'POST', body: '{}' }).then((response) => response.status),
      ),
    );
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(21 + 2);
  });
});
