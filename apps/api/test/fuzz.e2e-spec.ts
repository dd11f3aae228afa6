import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiContract,
  AppProcess,
  createTestEnv,
  destroyTestEnv,
  freePort,
  OpenApiContract,
  TestEnv,
} from '@app/testing';
import { NO_BODY } from '../src/common/no-body';
import { ERROR_KEYS, nonCanonicalSpellings } from './support/http';

/**
 * Requests derived from the app's own OpenAPI document, for every operation: wrong types, extreme
 * numbers, long and malformed strings, control characters, deep nesting, duplicate and prototype
 * keys, wrong content types, odd headers, as an admin, a user, or nobody. The built API runs as
 * its own process (the document it serves is the one the Swagger compiler plugin made). No answer
 * may be a 5xx or a status the document does not list for its operation (431 aside), every error
 * must have the uniform body, and another user's data stays as it was. Every path of the document
 * is also sent every method (OPTIONS, TRACE and ones no route takes too), as a browser of the
 * configured CORS origin, of another origin, or no browser at all, preflight or not.
 * Every operation runs from the same seed; fast-check prints it with the counterexample, and
 * FUZZ_SEED=<seed> reproduces the run.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const RUNS_PER_OPERATION = 100;
const TIME_PER_OPERATION_MS = 1500;
/**
 * The derived-request sweep's own timeout (ms): on a loaded host every operation may use its whole
 * TIME_PER_OPERATION_MS (fast-check's interrupt), so the sweep takes up to operations × that; the
 * test asserts the document's operations fit with a minute to spare (81 operations: 121.5 s, which
 * outran the old 120 s on a loaded CI host).
 */
const DERIVED_SWEEP_TIMEOUT_MS = 360_000;
const ADMIN = { email: 'fuzz-admin@example.test', password: 'fuzz-admin-password' };
const PASSWORD = 'fuzz-user-password';
/** The API's one CORS origin (CORS_ORIGINS): @fastify/cors then sees every request. */
const ORIGIN = 'https://shop.fuzz.example';

interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}

/**
 * `&name=value` for each query parameter `op` requires (a range's `from` and `to`), its schema's
 * example as the value, but `except` (the parameter a case is about): a case about one parameter
 * sends the others a route needs, so its answer is about that one.
 */
function requiredQuery(op: Operation, except: string): string {
  return op.parameters
    .filter((p) => p.in === 'query' && p.required && p.name !== except)
    .map((p) => `&${p.name}=${encodeURIComponent(String(p.schema.example))}`)
    .join('');
}
interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body?: Schema;
  /** The statuses the document lists for it, `default` left out. */
  statuses: string[];
}
interface FuzzRequest {
  session: 'admin' | 'user' | 'none' | 'garbage';
  path: Record<string, string>;
  query: string;
  headers: Record<string, string>;
  contentType: string | null;
  body: string | null;
}

function nested(depth: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

/** Values no schema of the API accepts, of every kind a client can send in JSON. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    0,
    -1,
    1.5,
    2_147_483_648,
    -2_147_483_649,
    2 ** 53 + 2,
    1e308,
    -1e308,
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udc00',
    '\u001b[31m',
    '\u202e',
    '%00',
    '../..',
    'eyJpIjoyMTQ3NDgzNjQ4fQ',
    '2027-03-01T19:00:00',
    '2027-W09-1T19:00:00Z',
    '2027-060T19:00:00Z',
    '2027-03-01T19:00:00,5Z',
    '+275760-09-13T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '1e400',
    '00000000-0000-0000-0000-000000000000',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer({ min: 1, max: 20_000 }).map((n) => 'x'.repeat(n)),
  fc.double(),
  fc.integer({ min: 33, max: 3000 }).map(nested),
  fc.dictionary(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'x'),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 3 },
  ),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A JSON body over the API's body limit (64 KiB, `BODY_LIMIT_BYTES` in bootstrap.ts). */
const oversized: fc.Arbitrary<unknown> = fc
  .integer({ min: 64 * 1024, max: 80 * 1024 })
  .map((n) => ({ x: 'x'.repeat(n) }));

describe('schema-driven fuzzing of every operation (built API process)', () => {
  let env: TestEnv;
  let api: AppProcess;
  let base: string;
  /** Every answer of the fuzzing, held against `doc` (libs/testing/src/openapi-contract.ts). */
  let contract: OpenApiContract;
  let doc: {
    paths: Record<string, Record<string, Record<string, unknown>>>;
    components: { schemas: Record<string, Schema> };
  };
  const tokens: Record<'admin' | 'user' | 'victim', string> = { admin: '', user: '', victim: '' };
  /** Ids the fuzzing sessions may act on: their own, and the victim's (which they must not reach). */
  const ids = {
    ownEvent: 0,
    ownPerformance: 0,
    victimEvent: 0,
    victimPerformance: 0,
    victimHold: '',
    victimPurchase: '',
  };

  async function send(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async function session(email: string, password: string, signup: boolean): Promise<string> {
    if (signup)
      expect((await send('POST', '/api/v1/auth/signup', { body: { email, password, name: 'Fuzz' } })).status).toBe(201);
    const login = await send('POST', '/api/v1/auth/login', { body: { email, password } });
    expect(login.status).toBe(200);
    return login.body.accessToken;
  }

  async function createPerformance(token: string): Promise<[number, number]> {
    const event = await send('POST', '/api/v1/events', { token, body: { title: 'Fuzz', venue: 'Hall' } });
    expect(event.status).toBe(201);
    const performance = await send('POST', `/api/v1/events/${event.body.id}/performances`, {
      token,
      body: {
        startsAt: '2030-03-01T19:00:00Z',
        sections: [{ name: 'A', grade: 'R', price: 1000, rows: 2, seatsPerRow: 10 }],
      },
    });
    expect(performance.status).toBe(201);
    return [event.body.id, performance.body.id];
  }

  /** Everything of the victim's that nobody else may change (live seat counts may move). */
  async function victimSnapshot(): Promise<unknown> {
    const get = async (path: string) => (await send('GET', `/api/v1${path}`, { token: tokens.victim })).body;
    const performance = (await get(`/performances/${ids.victimPerformance}`)) as Record<string, unknown>;
    const seats = (await get(`/performances/${ids.victimPerformance}/seats?limit=100`)) as {
      items: { id: number; status: string }[];
    };
    const hold = (await get(`/reservations/${ids.victimHold}`)) as { seatIds: number[] };
    const purchase = (await get(`/purchases/${ids.victimPurchase}`)) as { seatIds: number[] };
    const mine = new Set([...hold.seatIds, ...purchase.seatIds]);
    return {
      event: await get(`/events/${ids.victimEvent}`),
      performance: { ...performance, available: undefined, held: undefined, sold: undefined },
      performances: await get(`/events/${ids.victimEvent}/performances`),
      seats: seats.items.filter((seat) => mine.has(seat.id)),
      hold,
      purchase,
      purchases: await get('/purchases'),
    };
  }

  beforeAll(async () => {
    env = await createTestEnv();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    api = new AppProcess('api', {
      ...env,
      PORT: String(port),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      CORS_ORIGINS: ORIGIN,
    });
    await api.waitForLine('api listening');
    doc = (await send('GET', '/docs-json')).body;
    contract = apiContract(doc);

    // Admins may change any event: the fuzzing admin's requests never name the victim's (see shield).
    tokens.admin = await session(ADMIN.email, ADMIN.password, false);
    [ids.victimEvent, ids.victimPerformance] = await createPerformance(tokens.admin);
    tokens.victim = await session('fuzz-victim@example.test', PASSWORD, true);
    const seats = (await send('GET', `/api/v1/performances/${ids.victimPerformance}/seats?limit=3`)).body.items as {
      id: number;
    }[];
    const reserve = (seatIds: number[]) =>
      send('POST', '/api/v1/reservations', {
        token: tokens.victim,
        body: { performanceId: ids.victimPerformance, seatIds },
      });
    const bought = await reserve([seats[0].id]);
    const purchase = await send('POST', '/api/v1/purchases', {
      token: tokens.victim,
      body: { reservationId: bought.body.id },
    });
    expect(purchase.status).toBe(201);
    ids.victimPurchase = purchase.body.id;
    const held = await reserve([seats[1].id, seats[2].id]);
    expect(held.status).toBe(201);
    ids.victimHold = held.body.id;

    [ids.ownEvent, ids.ownPerformance] = await createPerformance(tokens.admin);
    tokens.user = await session('fuzz-user@example.test', PASSWORD, true);
  }, 120_000);

  afterAll(async () => {
    if (api) {
      api.kill('SIGTERM');
      await api.exited;
    }
    if (env) await destroyTestEnv(env);
  });

  function operations(): Operation[] {
    return Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        parameters: ((op.parameters as Parameter[] | undefined) ?? []).map((p) => ({
          ...p,
          schema: resolve(p.schema),
        })),
        body: (op.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)?.content?.[
          'application/json'
        ]?.schema,
        statuses: Object.keys((op.responses as Record<string, unknown> | undefined) ?? {}).filter(
          (s) => s !== 'default',
        ),
      })),
    );
  }

  function resolve(schema: Schema): Schema {
    return schema?.$ref ? doc.components.schemas[schema.$ref.split('/').pop()!] : (schema ?? {});
  }

  /** A value of the schema's shape, each part of which may be hostile instead. */
  function fromSchema(raw: Schema, depth = 0): fc.Arbitrary<unknown> {
    const schema = resolve(raw);
    return fc.oneof({ weight: 4, arbitrary: validOf(schema, depth) }, { weight: 1, arbitrary: hostile });
  }

  function validOf(schema: Schema, depth: number): fc.Arbitrary<unknown> {
    if (schema.enum) return fc.constantFrom(...schema.enum);
    switch (schema.type) {
      case 'integer':
        return fc.oneof(
          fc.integer({ min: schema.minimum ?? -(2 ** 31), max: schema.maximum ?? 2 ** 31 - 1 }),
          fc.constantFrom(ids.ownEvent, ids.ownPerformance, ids.victimPerformance, 1, 2),
          // Just past the bounds, with the rest of the body valid: code that runs before
          // validation (guards) must not take these to PostgreSQL's integer columns.
          fc.constantFrom((schema.maximum ?? 2 ** 31 - 1) + 1, 2 ** 32 - 1, (schema.minimum ?? -(2 ** 31)) - 1),
        );
      case 'number':
        return fc.double({ noNaN: true, noDefaultInfinity: true });
      case 'boolean':
        return fc.boolean();
      case 'array':
        return fc.array(depth > 4 ? hostile : fromSchema(schema.items ?? {}, depth + 1), {
          minLength: schema.minItems ?? 0,
          maxLength: Math.min(schema.maxItems ?? 5, 5),
        });
      case 'object': {
        const properties = schema.properties ?? {};
        const model = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, fromSchema(s, depth + 1)]));
        return fc.record(model, { requiredKeys: schema.required ?? [] });
      }
      default:
        return stringOf(schema);
    }
  }

  function stringOf(schema: Schema): fc.Arbitrary<unknown> {
    const examples = schema.example === undefined ? [] : [fc.constant(schema.example)];
    switch (schema.format) {
      case 'email':
        return fc.oneof(fc.emailAddress(), ...examples);
      case 'uuid':
        return fc.oneof(
          fc.uuid(),
          fc.constantFrom(ids.victimHold, ids.victimPurchase),
          // Ids in the layout that carries a performance (libs/ticketing ids.ts), its field past a
          // PostgreSQL integer, and 0.
          fc.constantFrom(
            'b0f18000-0000-8000-8000-000000000000',
            'b0f1ffff-ffff-8abc-9def-0123456789ab',
            'b0f10000-0000-8000-8000-000000000000',
          ),
        );
      case 'date-time':
        return fc.oneof(
          fc
            .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
            .map((d) => d.toISOString()),
          ...examples,
        );
      default:
        return fc.oneof(
          fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 50, 50) }),
          ...examples,
          ...(schema.maxLength === undefined ? [] : [atLengthLimit(schema.maxLength)]),
        );
    }
  }

  /**
   * Text just under, at and just over `maxLength` in characters whose counts differ from one
   * library to another: a letter with the emoji presentation selector U+FE0F (two code points,
   * counted as one by validator.js), a letter outside the BMP (two UTF-16 units), a letter with a
   * combining accent (two code points, one after NFC). PostgreSQL counts code points: a check that
   * counts otherwise lets a value through to a 500.
   */
  function atLengthLimit(maxLength: number): fc.Arbitrary<string> {
    return fc
      .tuple(
        fc.constantFrom('\u2764\uFE0F', '\u{1D400}', 'e\u0301', '\u{1F600}\uFE0F', 'a'),
        fc.integer({ min: -1, max: 1 }),
      )
      .chain(([unit, delta]) =>
        fc.constantFrom(
          unit.repeat(Math.max(1, maxLength + delta)),
          unit.repeat(Math.max(1, Math.ceil(maxLength / 2) + delta)),
        ),
      );
  }

  function pathValue(): fc.Arbitrary<string> {
    return fc.oneof(
      fc.constantFrom(
        String(ids.ownEvent),
        String(ids.ownPerformance),
        String(ids.victimPerformance),
        String(ids.victimEvent),
        ids.victimHold,
        ids.victimPurchase,
        '0',
        '-1',
        '2147483648',
        '99999999999999999999',
        '1.5',
        '1e3',
        '%00',
        '%E0%A4%A',
        '%ED%A0%80',
        '%2e%2e',
        'constructor',
        '__proto__',
      ),
      fc.uuid(),
      fc.string({ maxLength: 120 }).map(encodeLoosely),
    );
  }

  function queryOf(parameters: Parameter[]): fc.Arbitrary<string> {
    const parts = parameters
      .filter((p) => p.in === 'query')
      .map((p) =>
        fc.option(
          fc
            .oneof(validOf(p.schema, 0), hostile)
            .map((v) => `${p.name}=${encodeLoosely(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}`),
          { nil: '' },
        ),
      );
    const extra = fc.constantFrom(
      '',
      '',
      '__proto__=1',
      'constructor=x',
      'limit=1&limit=2',
      'toString=1',
      'a[b]=1',
      '%zz=1',
      'x=%E0%A4%A',
      'status=SOLD&status=HELD',
      'minPrice=9&maxPrice=1',
      'minPrice=1e3&maxPrice=0x10',
      'section=A&section=B',
      'grade=%3Cb%3E&section=',
    );
    return fc.tuple(fc.tuple(...parts), extra).map(([values, more]) => [...values, more].filter(Boolean).join('&'));
  }

  function requestOf(op: Operation): fc.Arbitrary<FuzzRequest> {
    const pathParams = Object.fromEntries(
      op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, pathValue()]),
    );
    const printable = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 300,
    });
    // A route that takes no body still reads one, and refuses one over the API's 64 KiB limit (413).
    const body = op.body ? fromSchema(op.body) : fc.option(fc.oneof(hostile, oversized), { nil: undefined });
    return fc.record({
      session: fc.constantFrom('admin', 'user', 'none', 'garbage'),
      path: fc.record(pathParams),
      query: queryOf(op.parameters),
      headers: fc.record(
        {
          'x-request-id': printable,
          'idempotency-key': printable,
          accept: fc.constantFrom('*/*', 'text/html', 'application/xml'),
          'x-forwarded-for': printable,
        },
        { requiredKeys: [] },
      ),
      contentType: fc.constantFrom(
        'application/json',
        'application/json',
        'application/json',
        'application/json; charset=utf-16',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        null,
      ),
      body: fc
        .tuple(body, fc.constantFrom('none', 'proto', 'constructor', 'duplicate', 'truncate'))
        .map(([value, mutation]) => (value === undefined ? null : mutate(JSON.stringify(value) ?? 'null', mutation))),
    }) as fc.Arbitrary<FuzzRequest>;
  }

  /** The admin may change any catalog: its requests never name the victim's event or performance. */
  function shield(request: FuzzRequest): FuzzRequest {
    if (request.session !== 'admin') return request;
    const victims = new Set([String(ids.victimEvent), String(ids.victimPerformance)]);
    const path = Object.fromEntries(
      Object.entries(request.path).map(([k, v]) => [k, victims.has(v) ? String(ids.ownEvent) : v]),
    );
    return { ...request, path };
  }

  async function exercise(op: Operation, request: FuzzRequest): Promise<void> {
    const url =
      op.path.replace(/\{(\w+)\}/g, (_m, name: string) => request.path[name]) +
      (request.query ? `?${request.query}` : '');
    const token = { admin: tokens.admin, user: tokens.user, none: undefined, garbage: 'x.y.z' }[request.session];
    const headers: Record<string, string> = { ...request.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    const withBody = request.body !== null && op.method !== 'GET';
    if (withBody && request.contentType) headers['content-type'] = request.contentType;
    // Framed by its length, as fetch frames it (Node frames a DELETE's body only when told).
    if (withBody) headers['content-length'] = String(Buffer.byteLength(request.body!));
    // The path as written: fetch resolves a dot segment ("/queue/%2e%2e/events" would reach GET /events).
    const res = await sendRaw(op.method, url, headers, withBody ? request.body! : undefined);
    const text = res.text;
    const what = `${op.method} ${url} -> ${res.status} ${text.slice(0, 300)}`;
    expect(res.status, what).toBeLessThan(500);
    // Every status a client can meet is in the document (apps/api/src/common/openapi-errors.ts),
    // but 431, which any route answers and the document's description names.
    if (res.status !== 431) expect(op.statuses, `${what}: status not in the document`).toContain(String(res.status));
    if (res.status >= 400) {
      const body = JSON.parse(text) as Record<string, unknown>;
      expect(
        Object.keys(body)
          .filter((k) => k !== 'details')
          .sort(),
        what,
      ).toEqual(ERROR_KEYS);
      expect(body.statusCode, what).toBe(res.status);
    }
    // The answer as a generated client reads it: content type and body against the operation's schema.
    const contentType = res.headers['content-type'] as string | undefined;
    // The operation asked for, not the one the path matches: a fuzzed path value may match none.
    const answer = { method: op.method, path: url, status: res.status, contentType, body: text };
    expect(contract.check(answer, op.path).problems, what).toEqual([]);
  }

  it(
    "answers every derived request below 500 with the uniform error body, leaving another user's data alone",
    async () => {
      const before = await victimSnapshot();
      const ops = operations();
      expect(ops.length).toBeGreaterThanOrEqual(20);
      expect(ops.length * TIME_PER_OPERATION_MS, 'raise DERIVED_SWEEP_TIMEOUT_MS').toBeLessThanOrEqual(
        DERIVED_SWEEP_TIMEOUT_MS - 60_000,
      );
      for (const op of ops) {
        // Every path parameter a dot segment: as written, "/queue/%2e%2e/events" is no GET /events.
        const names = op.parameters.filter((p) => p.in === 'path').map((p) => p.name);
        const dots: FuzzRequest = {
          session: 'admin',
          path: Object.fromEntries(names.map((name) => [name, '%2e%2e'])),
          query: '',
          headers: {},
          contentType: null,
          body: null,
        };
        await fc.assert(
          fc.asyncProperty(requestOf(op), (request) => exercise(op, shield(request))),
          {
            seed: SEED,
            numRuns: RUNS_PER_OPERATION,
            interruptAfterTimeLimit: TIME_PER_OPERATION_MS,
            markInterruptAsFailure: false,
            examples: names.length > 0 ? [[dots]] : [],
          },
        );
      }
      expect(await victimSnapshot()).toEqual(before);
    },
    DERIVED_SWEEP_TIMEOUT_MS,
  );

  /**
   * `method path` with `headers` and `body`, over a socket of its own, the path as written (fetch
   * refuses TRACE and a GET's body, and resolves dot segments).
   */
  function sendRaw(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
    return new Promise((resolve, reject) => {
      const { hostname, port } = new URL(base);
      const req = httpRequest({ hostname, port, path, method, headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it('answers every method on every path, OPTIONS and TRACE included, below 500 with the uniform error body; only a preflight of the configured origin is one (generated from the document)', async () => {
    const paths = [...new Set(operations().map((op) => op.path.replace(/\{\w+\}/g, '1'))), '/nowhere', '/api/v1'];
    expect(paths.length).toBeGreaterThanOrEqual(20);
    const methods = ['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE', 'PROPFIND', 'SEARCH'];
    const browsers: Record<string, string>[] = [
      {},
      { origin: ORIGIN },
      { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET' },
      { 'access-control-request-method': 'DELETE' },
    ];
    const before = await victimSnapshot();
    for (const path of paths) {
      for (const method of methods) {
        for (const browser of browsers) {
          const res = await sendRaw(method, path, browser);
          const what = `${method} ${path} ${JSON.stringify(browser)} -> ${res.status} ${res.text.slice(0, 200)}`;
          expect(res.status, what).toBeLessThan(500);
          const preflight =
            method === 'OPTIONS' && browser.origin === ORIGIN && 'access-control-request-method' in browser;
          if (preflight) {
            expect(res.status, what).toBe(204);
            expect(String(res.headers['access-control-allow-methods']), what).toContain('POST');
          } else if (method === 'OPTIONS') {
            // As without CORS_ORIGINS: no route takes OPTIONS.
            expect(res.status, what).toBe(404);
            expect(res.headers['access-control-allow-methods'], what).toBeUndefined();
          }
          // Readable by a page of the configured origin, whatever the answer; by no other.
          expect(res.headers['access-control-allow-origin'], what).toBe(browser.origin === ORIGIN ? ORIGIN : undefined);
          if (res.status >= 400 && method !== 'HEAD') {
            expect(String(res.headers['content-type']), what).toMatch(/^application\/json/);
            const body = JSON.parse(res.text) as Record<string, unknown>;
            expect(
              Object.keys(body)
                .filter((k) => k !== 'details')
                .sort(),
              what,
            ).toEqual(ERROR_KEYS);
            expect(body.statusCode, what).toBe(res.status);
          }
        }
      }
    }
    expect(await victimSnapshot()).toEqual(before);
  }, 120_000);

  it('takes an integer path or query parameter of every GET only in canonical decimal (generated from the document)', async () => {
    const targets = operations()
      .filter((op) => op.method === 'GET')
      .flatMap((op) =>
        op.parameters
          .filter((p) => p.in !== 'header' && (p.schema.type === 'integer' || p.schema.type === 'number'))
          .map((parameter) => ({ op, parameter })),
      );
    expect(targets.length).toBeGreaterThanOrEqual(8);
    const get = async (op: Operation, name: string, value: string) => {
      const path = op.path.replace(/\{(\w+)\}/g, (_m, p: string) => (p === name ? value : String(ids.ownPerformance)));
      const query = op.parameters.some((p) => p.in === 'query' && p.name === name)
        ? `?${name}=${value}${requiredQuery(op, name)}`
        : '';
      const res = await fetch(`${base}${path}${query}`, { headers: { authorization: `Bearer ${tokens.admin}` } });
      return { status: res.status, what: `GET ${path}${query} -> ${res.status} ${(await res.text()).slice(0, 200)}` };
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), fc.nat(), async ({ op, parameter }, pick) => {
        const { minimum = 1, maximum = 2 ** 31 - 1 } = parameter.schema;
        const n = parameter.in === 'path' ? ids.ownPerformance : Math.min(Math.max(minimum, 7), maximum);
        const canonical = await get(op, parameter.name, String(n));
        expect(canonical.status, canonical.what).not.toBe(400);
        const spellings = nonCanonicalSpellings(n);
        const other = await get(op, parameter.name, spellings[pick % spellings.length]);
        expect(other.status, other.what).toBe(400);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("answers a query value outside its schema (an enum's, a maximum's) with the field errors list, beside the other fields' (generated from the document)", async () => {
    const targets = operations()
      .filter((op) => op.method === 'GET')
      .flatMap((op) =>
        op.parameters
          .filter((p) => p.in === 'query' && (p.schema.enum || p.schema.maximum !== undefined))
          .map((parameter) => ({ op, parameter })),
      );
    expect(targets.length).toBeGreaterThanOrEqual(8);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...targets),
        fc.stringMatching(/^[A-Za-z_.]{1,20}$/),
        fc.nat(1000),
        fc.boolean(),
        async ({ op, parameter }, word, past, withBadLimit) => {
          const { enum: values, maximum } = parameter.schema;
          fc.pre(!values?.includes(word));
          const value = values ? word : String(maximum! + 1 + past);
          const path = op.path.replace(/\{(\w+)\}/g, () => String(ids.ownPerformance));
          // A second bad field: a field error is listed with every other one, not answered alone.
          const badLimit = withBadLimit && parameter.name !== 'limit' && op.parameters.some((p) => p.name === 'limit');
          const query = `?${parameter.name}=${value}${badLimit ? '&limit=0' : ''}`;
          const res = await fetch(`${base}${path}${query}`, { headers: { authorization: `Bearer ${tokens.admin}` } });
          const text = await res.text();
          const what = `GET ${path}${query} -> ${res.status} ${text.slice(0, 300)}`;
          expect(res.status, what).toBe(400);
          const { message } = JSON.parse(text) as { message: unknown };
          expect(Array.isArray(message), what).toBe(true);
          const names = (message as string[]).map((m) => m.split(' ')[0]);
          expect(names, what).toContain(parameter.name);
          if (badLimit) expect(names, what).toContain('limit');
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
  });

  /**
   * Every UUID input of the document (a path or query parameter, or a top-level body property,
   * of format uuid), each with the rest of its request valid: the route's own session (an admin's
   * under /admin, else a buyer's), other path parameters from the fixtures.
   */
  function uuidInputs(): { op: Operation; in: 'path' | 'query' | 'body'; name: string }[] {
    return operations().flatMap((op) => [
      ...op.parameters
        .filter((p) => p.in !== 'header' && p.schema.format === 'uuid')
        .map((p) => ({ op, in: p.in as 'path' | 'query', name: p.name })),
      ...Object.entries(op.body ? (resolve(op.body).properties ?? {}) : {})
        .filter(([, schema]) => resolve(schema).format === 'uuid')
        .map(([name]) => ({ op, in: 'body' as const, name })),
    ]);
  }

  it('takes every UUID input only in its 36-character form, either case alike (generated from the document)', async () => {
    const inputs = uuidInputs();
    const where = (input: (typeof inputs)[number]) => `${input.op.method} ${input.op.path} ${input.in} ${input.name}`;
    // What the pipes and DTOs read as UUIDs is declared so; a string path parameter is a UUID, a
    // ticket id (pattern) or a section name.
    expect(inputs.length).toBeGreaterThanOrEqual(16);
    const untyped = operations().flatMap((op) =>
      op.parameters
        .filter((p) => p.in === 'path' && p.schema.type === 'string' && !p.schema.format && !('pattern' in p.schema))
        .map((p) => `${op.method} ${op.path} ${p.name}`),
    );
    expect(untyped).toEqual(['PATCH /api/v1/performances/{id}/sections/{name} name']);

    const send = async (input: (typeof inputs)[number], value: string) => {
      const { op } = input;
      const path = op.path.replace(/\{(\w+)\}/g, (_m, p: string) =>
        p === input.name && input.in === 'path' ? encodeURIComponent(value) : String(ids.ownPerformance),
      );
      const query =
        input.in === 'query' ? `?${input.name}=${encodeURIComponent(value)}${requiredQuery(op, input.name)}` : '';
      // Operators' routes (admin, the box office window) refuse a buyer (403) before reading a field.
      const operators = op.path.startsWith('/api/v1/admin/') || op.path.startsWith('/api/v1/box-office/');
      const token = operators ? tokens.admin : tokens.user;
      const body = input.in === 'body' ? JSON.stringify({ [input.name]: value }) : undefined;
      const res = await fetch(`${base}${path}${query}`, {
        method: op.method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body,
      });
      // No stream: a random id names no queue ticket, so the events route answers 404 at once.
      const text = await res.text();
      return {
        status: res.status,
        text,
        what: `${where(input)} = ${JSON.stringify(value)} -> ${res.status} ${text.slice(0, 200)}`,
      };
    };
    const spellings = (id: string) => [
      `{${id}}`,
      `urn:uuid:${id}`,
      id.replaceAll('-', ''),
      ` ${id}`,
      `${id}\n`,
      `(${id})`,
      `${id.slice(0, 8)}${id.slice(9, 13)}-${id.slice(14)}`,
    ];
    await fc.assert(
      // Random ids: no fixture's data, the victim's above all, is named (a refund, a release).
      fc.asyncProperty(fc.constantFrom(...inputs), fc.uuid(), fc.nat(), async (input, id, pick) => {
        const lower = await send(input, id);
        expect(lower.status, lower.what).not.toBe(400);
        expect(lower.status, lower.what).toBeLessThan(500);
        const upper = await send(input, id.toUpperCase());
        expect(upper.status, upper.what).toBe(lower.status);
        const other = spellings(id);
        const refused = await send(input, other[pick % other.length]);
        expect(refused.status, refused.what).toBe(400);
        const body = JSON.parse(refused.text) as Record<string, unknown>;
        expect(Object.keys(body).sort(), refused.what).toEqual(ERROR_KEYS);
        expect(JSON.stringify(body.message), refused.what).toMatch(new RegExp(`${input.name} must be a UUID`));
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  /** `op`'s path with its parameters filled from the fixtures (a made-up UUID, section `A`). */
  function filledPath(op: Operation): string {
    return op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
      const schema = op.parameters.find((p) => p.in === 'path' && p.name === name)?.schema;
      if (schema?.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
      if (name === 'name') return 'A';
      return String(/event/i.test(op.path) && name === 'id' ? ids.ownEvent : ids.ownPerformance);
    });
  }

  /**
   * Sends `method path` as the admin, or as the buyer where the admin's role is refused (a 403
   * before any field is read), path parameters filled from the fixtures.
   */
  async function asPermitted(
    op: Operation,
    query: string,
    init: { body?: string; contentType?: string } = {},
  ): Promise<{ status: number; text: string; what: string }> {
    const path = filledPath(op);
    let last = { status: 0, text: '', what: '' };
    for (const token of [tokens.admin, tokens.user]) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (init.contentType) headers['content-type'] = init.contentType;
      const res = await fetch(`${base}${path}${query}`, { method: op.method, headers, body: init.body });
      const text = await res.text();
      last = { status: res.status, text, what: `${op.method} ${path}${query} -> ${res.status} ${text.slice(0, 200)}` };
      if (res.status !== 403 || !text.includes('role')) break;
    }
    return last;
  }

  it('refuses a query parameter an operation does not declare with the uniform 400, and never refuses a declared one so (generated from the document)', async () => {
    const ops = operations().filter((op) => op.method !== 'HEAD');
    expect(ops.length).toBeGreaterThanOrEqual(20);
    for (const op of ops) {
      const declared = new Set(op.parameters.filter((p) => p.in === 'query').map((p) => p.name));
      const name = declared.has('performanceId') ? 'bogus' : 'performanceId';
      const refused = await asPermitted(op, `?${name}=3${requiredQuery(op, name)}`);
      expect(refused.status, refused.what).toBe(400);
      const body = JSON.parse(refused.text) as Record<string, unknown>;
      expect(Object.keys(body).sort(), refused.what).toEqual(ERROR_KEYS);
      expect(body.message, refused.what).toEqual([`property ${name} should not exist`]);
      // Who is asking is checked first, as on the routes with a query DTO.
      const anonymous = (query: string) =>
        fetch(`${base}${op.path.replace(/\{\w+\}/g, '1')}${query}`, { method: op.method }).then((res) => res.status);
      if ((await anonymous('')) === 401) expect(await anonymous(`?${name}=3`), `${op.method} ${op.path}`).toBe(401);
      // Each declared parameter is taken as one (its value may still be refused for what it is).
      for (const parameter of declared) {
        const taken = await asPermitted(op, `?${parameter}=1${requiredQuery(op, parameter)}`);
        expect(taken.text, taken.what).not.toContain(`property ${parameter} should not exist`);
      }
    }
  }, 120_000);

  it('refuses any body, `{}` and `[]` included, in any content type, on every operation that takes none, before doing anything (generated from the document)', async () => {
    const bodiless = operations().filter((op) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(op.method) && !op.body);
    expect(bodiless.length).toBeGreaterThanOrEqual(12);
    const before = await victimSnapshot();
    for (const op of bodiless) {
      const bodies: [string, string][] = [
        ['{}', 'application/json'],
        ['[]', 'application/json'],
        ['{"x":1}', 'application/json; charset=utf-8'],
        ['x', 'text/plain'],
        ['a=1', 'application/x-www-form-urlencoded'],
      ];
      for (const [body, contentType] of bodies) {
        const refused = await asPermitted(op, '', { body, contentType });
        expect(refused.status, `${refused.what} (body ${body})`).toBe(400);
        const parsed = JSON.parse(refused.text) as Record<string, unknown>;
        expect(Object.keys(parsed).sort(), refused.what).toEqual(ERROR_KEYS);
      }
    }
    expect(await victimSnapshot()).toEqual(before);
  }, 120_000);

  it('refuses any body, `{}` included, in any content type, on every GET of the document, and takes an empty one (generated from the document)', async () => {
    const gets = operations().filter((op) => op.method === 'GET');
    expect(gets.length).toBeGreaterThanOrEqual(20);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...gets),
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
        fc.oneof(
          fc.constantFrom('{}', '[]', '{"limit":1}', 'x'),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        fc.boolean(),
        async (op, contentType, body, chunked) => {
          const path = `${filledPath(op)}${requiredQuery(op, '').replace(/^&/, '?')}`;
          const headers: Record<string, string> = {
            authorization: `Bearer ${tokens.admin}`,
            'content-type': contentType,
            ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(Buffer.byteLength(body)) }),
          };
          const refused = await sendRaw('GET', path, headers, body);
          const what = `GET ${path} (${contentType}, ${chunked ? 'chunked' : 'length'}) ${body.slice(0, 40)} -> ${refused.status} ${refused.text.slice(0, 200)}`;
          expect(refused.status, what).toBe(400);
          const parsed = JSON.parse(refused.text) as Record<string, unknown>;
          expect(Object.keys(parsed).sort(), what).toEqual(ERROR_KEYS);
          expect(parsed.message, what).toEqual([NO_BODY]);
          const empty = await sendRaw(
            'GET',
            path,
            { authorization: headers.authorization, 'content-type': contentType, 'content-length': '0' },
            '',
          );
          expect(empty.status, `${what}; empty: ${empty.status} ${empty.text.slice(0, 200)}`).not.toBe(400);
        },
      ),
      { seed: SEED, numRuns: 120 },
    );
  }, 120_000);

  describe('the OpenAPI document', () => {
    it('lists Idempotency-Key and Admission-Token (waiting room) once each, optional, on POST /purchases', () => {
      const headers = (doc.paths['/api/v1/purchases'].post.parameters as Parameter[]).filter((p) => p.in === 'header');
      expect(headers).toHaveLength(2);
      expect(headers).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'Idempotency-Key', required: false }),
          expect.objectContaining({ name: 'Admission-Token', required: false }),
        ]),
      );
    });

    it('marks limit optional on every list', () => {
      const limits = operations().flatMap((op) => op.parameters.filter((p) => p.name === 'limit'));
      expect(limits.length).toBeGreaterThanOrEqual(4);
      for (const limit of limits) expect((limit as Parameter & { required?: boolean }).required).toBe(false);
    });

    it('gives every operation a summary', () => {
      const missing = Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.entries(methods)
          .filter(([, op]) => !op.summary)
          .map(([method]) => `${method.toUpperCase()} ${path}`),
      );
      expect(missing).toEqual([]);
    });

    it("gives every operation a one-line summary of at most 120 characters, the handler's whole comment its description", () => {
      const long = Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.entries(methods)
          .filter(([, op]) => typeof op.summary !== 'string' || !/^[^\n]{1,120}$/.test(op.summary) || !op.description)
          .map(([method]) => `${method.toUpperCase()} ${path}`),
      );
      expect(long).toEqual([]);
    });
  });
});

/** Percent-encodes a string; a lone surrogate (which encodeURIComponent refuses) becomes its raw UTF-8 bytes. */
function encodeLoosely(value: string): string {
  return [...value]
    .map((ch) => {
      const code = ch.charCodeAt(0);
      return ch.length === 1 && code >= 0xd800 && code <= 0xdfff
        ? `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`
        : encodeURIComponent(ch);
    })
    .join('');
}

/** Text-level mutations JSON.stringify cannot make: prototype keys, a repeated key, a cut body. */
function mutate(json: string, mutation: string): string {
  const object = json.startsWith('{') && json.length > 2;
  switch (mutation) {
    case 'proto':
      return object ? `{"__proto__":{"admin":true},${json.slice(1)}` : json;
    case 'constructor':
      return object ? `{"constructor":{"prototype":{"admin":true}},${json.slice(1)}` : json;
    case 'duplicate': {
      const first = /^\{("(?:[^"\\]|\\.)*":)/.exec(json)?.[1];
      return object && first ? `{${first}null,${json.slice(1)}` : json;
    }
    case 'truncate':
      return json.slice(0, Math.max(1, json.length - 1));
    default:
      return json;
  }
}
