import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Body, Controller, DynamicModule, Get, Logger, Module, Post } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { Validator } from '@seriousme/openapi-schema-validator';
import { IsEmail, IsInt, Max, Min } from 'class-validator';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EnvSource } from '@app/config';
import { translatingConstraintViolations } from '@app/database';
import { AMQP_HEARTBEAT_SECONDS } from '@app/messaging';
import { NotFoundError } from '@app/ticketing';
import { ApiHarness, startApi, TcpProxy, waitForValue, waitUntil } from '@app/testing';
import { ApiModule } from '../src/api.module';
import { Public } from '@app/auth';
import { RequestContext } from '@app/logging';
import { createApiApp } from '../src/bootstrap';
import { ERROR_KEYS } from './support/http';
import { startTestApi } from './support/api';

class EchoDto {
  @ApiProperty()
  @IsEmail()
  email: string;

  @ApiProperty()
  @IsInt()
  @Min(1)
  @Max(10)
  count: number;
}

/** Releases the held `slow` requests (the graceful-close test, once the app is closing). */
let releaseSlow: () => void = () => undefined;
const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));

/** Routes that fail on purpose, to see what the client gets and what the logs keep. */
@Public()
@Controller('test-errors')
class FailingController {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  @Post('echo')
  echo(@Body() body: EchoDto): EchoDto {
    return body;
  }

  @Get('missing')
  missing(): never {
    throw new NotFoundError('performance', { id: 42 });
  }

  /** As a repository writes: the violation leaves persistence as a domain error. */
  @Get('duplicate')
  async duplicate(): Promise<void> {
    await this.db.query('CREATE TABLE IF NOT EXISTS dup_probe (id int PRIMARY KEY)');
    await this.db.query('INSERT INTO dup_probe VALUES (1) ON CONFLICT DO NOTHING');
    await translatingConstraintViolations(() => this.db.query('INSERT INTO dup_probe VALUES (1)'));
  }

  /** The same violation, raw: the HTTP edge knows no database codes. */
  @Get('raw-duplicate')
  async rawDuplicate(): Promise<void> {
    await this.db.query('CREATE TABLE IF NOT EXISTS dup_probe (id int PRIMARY KEY)');
    await this.db.query('INSERT INTO dup_probe VALUES (1) ON CONFLICT DO NOTHING');
    await this.db.query('INSERT INTO dup_probe VALUES (1)');
  }

  /** Requests that entered `slow`: the test closes the app once all of its requests have. */
  static slowEntered = 0;

  /** Work under way while the app closes: held until the test releases it (`releaseSlow`). */
  @Get('slow')
  async slow(): Promise<{ done: true }> {
    FailingController.slowEntered += 1;
    await slowReleased;
    return { done: true };
  }

  /** Reads the request context after body parsing and I/O, as a service logging mid-request would. */
  @Post('context')
  async context(@Body() body: EchoDto): Promise<{ requestId?: string; email: string }> {
    await this.db.query('SELECT 1');
    await new Promise((resolve) => setImmediate(resolve));
    return { requestId: RequestContext.requestId(), email: body.email };
  }

  @Get('crash')
  crash(): never {
    throw new Error('secret-internal-detail: connection string postgres://user:pw@db');
  }
}

@Module({})
class TestApiModule {
  static forRoot(overrides: EnvSource = {}): DynamicModule {
    return { module: TestApiModule, imports: [ApiModule.forRoot(overrides)], controllers: [FailingController] };
  }
}

function readLogLines(dir: string): Record<string, unknown>[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * The lines a request id's request logged, once its access line is written (with it, every line
 * the request logged before its answer).
 */
async function linesOfRequest(dir: string, requestId: string): Promise<Record<string, unknown>[]> {
  const ofRequest = () =>
    readLogLines(dir).filter((l) => (l.http as { request?: { id?: string } } | undefined)?.request?.id === requestId);
  await waitForValue(
    () => ofRequest().find((l) => (l.log as { logger?: string } | undefined)?.logger === 'Access'),
    `the access line of ${requestId}`,
    { timeoutMs: 3000, intervalMs: 50 },
  );
  return ofRequest();
}

describe('API foundation (real PostgreSQL, Redis, RabbitMQ)', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startApi(({ overrides, logger }) => createApiApp(TestApiModule, { overrides, logger }));
  });
  afterAll(async () => api?.close());

  const inject = (options: Parameters<ApiHarness['app']['inject']>[0]) => api.app.inject(options);

  it('answers 400 with the list of field errors and the uniform body', async () => {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/test-errors/echo',
      payload: { email: 'nope', count: 99, extra: 1 },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(ERROR_KEYS);
    expect(body.error).toBe('Bad Request');
    expect(body.message).toEqual(
      expect.arrayContaining([
        'property extra should not exist',
        'email must be an email',
        'count must not be greater than 10',
      ]),
    );
    expect(body.path).toBe('/api/v1/test-errors/echo');
    expect(body.requestId).toBe(res.headers['x-request-id']);
  });

  it('accepts a valid body and strips nothing it declared', async () => {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/test-errors/echo',
      payload: { email: 'a@b.io', count: 3 },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ email: 'a@b.io', count: 3 });
  });

  it.each([
    ['malformed JSON', { 'content-type': 'application/json' }, '{"email":', 400],
    ['empty JSON body', { 'content-type': 'application/json' }, '', 400],
    ['wrong content type', { 'content-type': 'application/xml' }, '<a/>', 415],
    ['oversized body', { 'content-type': 'application/json' }, JSON.stringify({ email: 'x'.repeat(70 * 1024) }), 413],
  ])('answers %s with a 4xx and the uniform body', async (_name, headers, payload, status) => {
    const res = await inject({ method: 'POST', url: '/api/v1/test-errors/echo', headers, payload });
    expect(res.statusCode).toBe(status);
    expect(Object.keys(res.json()).sort()).toEqual(ERROR_KEYS);
    expect(res.body).not.toMatch(/FST_|at .*\.js/);
  });

  it('answers 404 for an unknown route and for a missing resource', async () => {
    const route = await inject({ method: 'GET', url: '/api/v1/no-such-route' });
    expect(route.statusCode).toBe(404);
    expect(Object.keys(route.json()).sort()).toEqual(ERROR_KEYS);
    const resource = await inject({ method: 'GET', url: '/api/v1/test-errors/missing' });
    expect(resource.statusCode).toBe(404);
    expect(resource.json()).toMatchObject({ message: 'performance not found', details: { id: 42 } });
  });

  it('answers 409 for a unique-key violation that a repository raises as a conflict', async () => {
    const res = await inject({ method: 'GET', url: '/api/v1/test-errors/duplicate' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ statusCode: 409, error: 'Conflict', message: 'already exists' });
  });

  it('answers 500 for a database error that no repository translated', async () => {
    const res = await inject({ method: 'GET', url: '/api/v1/test-errors/raw-duplicate' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ statusCode: 500, message: 'Internal server error' });
  });

  it('answers 500 with a generic message and logs the cause with the request id', async () => {
    const res = await inject({
      method: 'GET',
      url: '/api/v1/test-errors/crash',
      headers: { 'x-request-id': 'crash-req-1' },
    });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ message: 'Internal server error', requestId: 'crash-req-1' });
    expect(res.body).not.toContain('secret-internal-detail');
    const line = await waitForValue(
      () =>
        readLogLines(api.env.LOG_DIR).find(
          (l) => l['log.level'] === 'error' && (l.http as { request?: { id?: string } })?.request?.id === 'crash-req-1',
        ),
      'the error line of the crash',
      { timeoutMs: 3000, intervalMs: 50 },
    );
    expect(String(line.message)).toContain('secret-internal-detail');
    expect((line.error as { stack_trace?: string }).stack_trace).toContain('FailingController');
  });

  it('keeps each request its own request id through body parsing and I/O, over shared keep-alive sockets', async () => {
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `${await api.app.getUrl()}/api/v1/test-errors/context`;
    const answers = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': `ctx-${i}` },
          body: JSON.stringify({ email: `u${i}@example.com`, count: 1 }),
        });
        return res.json() as Promise<{ requestId?: string; email: string }>;
      }),
    );
    expect(answers).toEqual(answers.map((_, i) => ({ requestId: `ctx-${i}`, email: `u${i}@example.com` })));
  });

  it('logs a valid access line for a client that closed its side right after sending', async () => {
    if (!api.app.getHttpServer().listening) await api.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(await api.app.getUrl());
    // A route that awaits I/O: its address is gone by the time the answer is logged.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.end('GET /api/v1/events HTTP/1.1\r\nHost: x\r\nX-Request-Id: half-closed-1\r\n\r\n');
      });
      socket.on('error', reject).on('close', () => resolve());
      socket.resume();
    });
    // readLogLines parses every line of every file: one that is not JSON fails the test.
    const access = await waitForValue(
      () =>
        readLogLines(api.env.LOG_DIR).find(
          (l) => (l.http as { request?: { id?: string } })?.request?.id === 'half-closed-1',
        ),
      'the access line of half-closed-1',
      { timeoutMs: 3000, intervalMs: 50 },
    );
    expect(access).toMatchObject({ url: { route: '/api/v1/events' }, log: { logger: 'Access' } });
  });

  it('logs a valid access line, and no error, for a proxied client that closed its side before the answer', async () => {
    // Behind Nginx (a trusted loopback proxy) a client that gives up makes Nginx close its
    // upstream connection; the answer still goes out, and the client's address, read through
    // X-Forwarded-For, must not fail it (the overload trial logged thousands of such failures).
    if (!api.app.getHttpServer().listening) await api.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(await api.app.getUrl());
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.end(
          'GET /api/v1/events HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nX-Request-Id: proxied-closed-1\r\n\r\n',
        );
      });
      socket.on('error', reject).on('close', () => resolve());
      socket.resume();
    });
    const ofRequest = (l: Record<string, unknown>) =>
      (l.http as { request?: { id?: string } })?.request?.id === 'proxied-closed-1';
    const access = await waitForValue(
      () => readLogLines(api.env.LOG_DIR).find((l) => ofRequest(l) && l.url !== undefined),
      'the access line of proxied-closed-1',
      { timeoutMs: 3000, intervalMs: 50 },
    );
    expect(access).toMatchObject({
      url: { route: '/api/v1/events' },
      log: { logger: 'Access' },
      http: { response: { status_code: 200 } },
    });
    expect(readLogLines(api.env.LOG_DIR).filter((l) => ofRequest(l) && l['log.level'] === 'error')).toEqual([]);
  });

  it('echoes a given request id, makes one otherwise, and logs one ECS access line per request', async () => {
    const given = await inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const made = await inject({ method: 'GET', url: '/health/live' });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const hostile = await inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'bad id\nwith newline' },
    });
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    // Made ids are UUID-shaped and never repeat.
    const made2 = await Promise.all(Array.from({ length: 50 }, () => inject({ method: 'GET', url: '/health/live' })));
    const ids = [made, hostile, ...made2].map((res) => res.headers['x-request-id']);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    const access = await waitForValue(
      () =>
        readLogLines(api.env.LOG_DIR).find(
          (l) => (l.http as { request?: { id?: string } })?.request?.id === 'abc-123' && l.url !== undefined,
        ),
      'the access line of abc-123',
      { timeoutMs: 3000, intervalMs: 50 },
    );
    expect(access['@timestamp']).toEqual(expect.any(String));
    expect(access['log.level']).toBe('info');
    expect(access['ecs.version']).toEqual(expect.any(String));
    expect(access).toMatchObject({
      http: { request: { id: 'abc-123', method: 'GET' }, response: { status_code: 200 } },
      url: { route: '/health/live' },
      service: { name: 'boxoffice-api' },
      log: { logger: 'Access' },
    });
    expect((access.event as { duration: number }).duration).toBeGreaterThan(0);
  });

  it('writes one file per level under LOG_DIR', async () => {
    await inject({ method: 'GET', url: '/api/v1/test-errors/crash' });
    const files = await waitForValue(
      () => {
        const names = readdirSync(api.env.LOG_DIR);
        return names.some((n) => n.startsWith('api-error-')) && names.some((n) => n.startsWith('api-info-'))
          ? names
          : undefined;
      },
      'the error and info log files',
      { timeoutMs: 3000, intervalMs: 50 },
    );
    const errorFile = files.find((n) => n.startsWith('api-error-'))!;
    const levels = readFileSync(join(api.env.LOG_DIR, errorFile), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)['log.level']);
    expect(new Set(levels)).toEqual(new Set(['error']));
  });

  it('reports ready when PostgreSQL, Redis and RabbitMQ answer', async () => {
    const res = await inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', degraded: {} });
    expect(res.json().info).toMatchObject({
      postgres: { status: 'up' },
      redis: { status: 'up' },
      rabbitmq: { status: 'up' },
    });
  });

  it('serves a valid OpenAPI 3 document with the bearer scheme and the error body', async () => {
    const res = await inject({ method: 'GET', url: '/docs-json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(doc.components.schemas.ErrorBodyDto.properties)).toEqual(expect.arrayContaining(ERROR_KEYS));
    const ui = await inject({ method: 'GET', url: '/docs' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger-ui');
  });

  it('exposes Prometheus metrics with the request-duration histogram', async () => {
    await inject({ method: 'GET', url: '/health/live' });
    const res = await inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/http_request_duration_seconds_bucket\{.*route="\/health\/live".*status_code="200"/);
    expect(res.body).toContain('process_cpu_user_seconds_total');
  });
});

describe('graceful close', () => {
  it('finishes in-flight requests, then refuses new connections', async () => {
    const api = await startApi(({ overrides, logger }) => createApiApp(TestApiModule, { overrides, logger }));
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const url = await api.app.getUrl();
    const inFlight = Array.from({ length: 10 }, () => fetch(`${url}/api/v1/test-errors/slow`).then((r) => r.json()));
    await waitUntil(() => FailingController.slowEntered === 10, 'the 10 requests in the handler', 30_000, 5);
    const closed = api.close();
    // The requests finish only once the close is under way: the listener is shut.
    const server = api.app.getHttpServer();
    await waitUntil(() => !server.listening, 'the listener shut by the close', 30_000, 5);
    releaseSlow();
    await closed;
    expect(await Promise.all(inFlight)).toEqual(Array(10).fill({ done: true }));
    await expect(fetch(`${url}/health/live`)).rejects.toThrow();
  });
});

describe('readiness with Redis unreachable', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startTestApi({
      REDIS_URL: 'redis://127.0.0.1:1',
      // Also on a TEST_REDIS_CLUSTER run: the single, unreachable Redis.
      REDIS_CLUSTER_NODES: '',
    });
  });
  afterAll(async () => api?.close());

  it('answers 503 naming redis and nothing of why (that goes to the log), with Retry-After, and stays live', async () => {
    const warnings: string[] = [];
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    try {
      const res = await api.app.inject({
        method: 'GET',
        url: '/health/ready',
        headers: { 'x-request-id': 'ready-redis-1' },
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      const body = res.json();
      expect(Object.keys(body).sort()).toEqual(ERROR_KEYS);
      // No address, port or driver message of the store reaches whoever asks.
      expect(body.message).toBe('not ready: redis down');
      // The log has why (ioredis' error, or the check's timeout).
      expect(warnings.filter((line) => /^not ready: redis \(.+\) down$/.test(line))).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
    // A probe's 503 is an answer, not an error: its why is the Health warning above, and no
    // error line (terminus' own, the exception filter's) counts it on the errors panel.
    const lines = await linesOfRequest(api.env.LOG_DIR, 'ready-redis-1');
    expect(lines.filter((line) => line['log.level'] === 'error').map((line) => line.message)).toEqual([]);
    expect((await api.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });
});

describe('readiness with PostgreSQL unreachable', () => {
  let api: ApiHarness;
  let postgres: TcpProxy;

  beforeAll(async () => {
    postgres = await TcpProxy.create(5432);
    api = await startTestApi({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${postgres.port}/bo_test_ready_${Date.now().toString(36)}`,
    });
  });
  afterAll(async () => {
    await postgres?.restore();
    await api?.close();
    await postgres?.cut();
  });

  // Observability trial 2026-12-07: the log said `not ready: postgres (the service is temporarily
  // unavailable; retry shortly) down`, the message of the error wrapping pg's, not why.
  it('answers 503 naming postgres only, and logs what pg said (its connect error), then ready again', async () => {
    const ready = () => api.app.inject({ method: 'GET', url: '/health/ready' });
    expect((await ready()).statusCode).toBe(200);
    await postgres.cut();
    const warnings: string[] = [];
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    try {
      const res = await api.app.inject({
        method: 'GET',
        url: '/health/ready',
        headers: { 'x-request-id': 'ready-postgres-1' },
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json().message).toBe('not ready: postgres down');
      const why = warnings.filter((line) => line.startsWith('not ready: postgres'));
      expect(why).toHaveLength(1);
      // pg's own words (a refused connect, a connection ended), not the wrapping error's.
      expect(why[0]).toMatch(/^not ready: postgres \(.+\) down$/);
      expect(why[0]).not.toContain('the service is temporarily unavailable');
    } finally {
      warn.mockRestore();
    }
    const lines = await linesOfRequest(api.env.LOG_DIR, 'ready-postgres-1');
    expect(lines.filter((line) => line['log.level'] === 'error').map((line) => line.message)).toEqual([]);
    await postgres.restore();
    await waitUntil(async () => (await ready()).statusCode === 200, 'ready again with PostgreSQL', 20_000);
  }, 60_000);
});

describe('readiness with RabbitMQ unreachable', () => {
  let api: ApiHarness;
  let broker: TcpProxy;

  beforeAll(async () => {
    broker = await TcpProxy.create(5672);
    api = await startTestApi({
      RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${broker.port}`,
    });
  });
  afterAll(async () => {
    await broker?.restore();
    await api?.close();
    await broker?.cut();
  });

  const ready = () => api.app.inject({ method: 'GET', url: '/health/ready' });

  it('stays ready (200) and reports the broker as degraded while it is cut, then ok again', async () => {
    await waitUntil(async () => (await ready()).json().status === 'ok', 'ready with the broker', 10_000);

    await broker.cut();
    await waitUntil(async () => (await ready()).json().status === 'degraded', 'broker reported degraded', 10_000);
    const res = await ready();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'degraded',
      info: { postgres: { status: 'up' }, redis: { status: 'up' } },
      degraded: { rabbitmq: { status: 'down', message: 'not connected' } },
    });
    expect(res.json().info.rabbitmq).toBeUndefined();

    await broker.restore();
    await waitUntil(async () => (await ready()).json().status === 'ok', 'ok again once the broker is back', 20_000);
    expect((await ready()).json()).toMatchObject({ degraded: {}, info: { rabbitmq: { status: 'up' } } });
  });

  it('reports the broker degraded within three heartbeats while the connection is half-open (frozen both ways), then ok again', async () => {
    await waitUntil(async () => (await ready()).json().status === 'ok', 'ready with the broker', 20_000);
    // No reset and no close reach the api: only the heartbeat tells it the broker is gone. amqplib
    // drops a connection that heard nothing for two to three heartbeats.
    const frozenAt = Date.now();
    broker.freeze();
    try {
      const bound = 3 * AMQP_HEARTBEAT_SECONDS * 1000 + 2_000;
      await waitUntil(async () => (await ready()).json().status === 'degraded', 'broker reported degraded', bound);
      expect(Date.now() - frozenAt).toBeLessThan(bound);
      expect((await ready()).json()).toMatchObject({
        status: 'degraded',
        degraded: { rabbitmq: { status: 'down', message: 'not connected' } },
      });
    } finally {
      broker.thaw();
    }
    await waitUntil(async () => (await ready()).json().status === 'ok', 'ok again once the broker answers', 20_000);
    expect((await ready()).json()).toMatchObject({ degraded: {}, info: { rabbitmq: { status: 'up' } } });
  }, 60_000);
});
