import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, createTestEnv, destroyTestEnv, freePort, PROCESS_TEST_TIMEOUT_MS, TestEnv } from '@app/testing';
import {
  moneyNotInt64,
  moneyValues,
  nullablesRefusingNull,
  numbersNotDecimal,
  OpenApiDocument,
  successesWithoutSchema,
  timesWithoutDateTime,
  TypedValue,
  typedValues,
} from './support/openapi-types';
import { routeRows, rowMismatches } from './support/route-tables';

/**
 * The values of the document that are true decimals, by where `typedValues` finds them; every
 * other `number` must be `integer` (ids, counts, amounts in minor units, seconds, limits).
 */
const DECIMALS = new Set([
  // Seat-map coordinates and distances, in map units: layouts may place seats between whole units.
  'MapPointDto.x',
  'MapPointDto.y',
  'MapSeatDto.x',
  'MapSeatDto.y',
  'MapBoundsDto.minX',
  'MapBoundsDto.minY',
  'MapBoundsDto.maxX',
  'MapBoundsDto.maxY',
  'SectionLayoutDto.seatPitch',
  'SectionLayoutDto.rowSpacing',
  // Degrees of rotation, any fraction.
  'SectionLayoutDto.angle',
  // A measured rate, averaged over a window.
  'WaitingRoomFiguresDto.measuredAdmitPerSecond',
]);

/** Strings that look like times but are not one. */
// A start on the venue's wall clock, deliberately without an offset (a `pattern` instead): not an
// RFC 3339 date-time, which has one.
const NOT_TIMES = new Set<string>(['PerformanceCreateDto.startsAtLocal', 'PerformanceUpdateDto.startsAtLocal']);

describe('the OpenAPI document of the built API process', () => {
  // The built api: the Swagger CLI plugin of the Nest build, which Vitest does not run, makes the
  // properties and answer schemas a client is generated from.
  let env: TestEnv;
  let api: AppProcess;
  let document: OpenApiDocument;
  let values: TypedValue[];

  beforeAll(async () => {
    env = await createTestEnv({ PORT: String(await freePort()) });
    api = new AppProcess('api', env);
    await api.waitForLine('api listening');
    document = (await (await fetch(`http://127.0.0.1:${env.PORT}/docs-json`)).json()) as OpenApiDocument;
    values = typedValues(document);
  }, PROCESS_TEST_TIMEOUT_MS);

  afterAll(async () => {
    api?.kill('SIGTERM');
    await api?.exited;
    if (env) await destroyTestEnv(env);
  });

  it('declares every time as format date-time', () => {
    expect(values.length).toBeGreaterThan(200);
    expect(timesWithoutDateTime(values, NOT_TIMES)).toEqual([]);
    const times = values.filter(({ schema }) => schema.format === 'date-time').map(({ where }) => where);
    expect(times).toEqual(
      expect.arrayContaining([
        'ErrorBodyDto.timestamp',
        'ReservationResponseDto.expiresAt',
        'PerformanceCancellationResponseDto.requestedAt',
        'PerformanceCancellationResponseDto.completedAt',
      ]),
    );
  });

  it('declares every whole number as integer, numbers only on the listed decimals', () => {
    expect(numbersNotDecimal(values, DECIMALS)).toEqual([]);
    // Each listed decimal is still in the document: the list names no value that is gone.
    const numbers = new Set(values.filter(({ schema }) => schema.type === 'number').map(({ where }) => where));
    expect([...DECIMALS].filter((where) => !numbers.has(where))).toEqual([]);
  });

  it('declares every money value (prices, amounts, revenue: minor units) as integer with format int64', () => {
    expect(moneyNotInt64(values)).toEqual([]);
    // The values are found by name or by their docs; these are among them, in bodies, answers and queries.
    expect(moneyValues(values).map(({ where }) => where)).toEqual(
      expect.arrayContaining([
        'SectionLayoutDto.price',
        'SectionPriceUpdateDto.price',
        'SeatResponseDto.price',
        'BookedSeatDto.price',
        'ReservationResponseDto.amount',
        'PurchaseResponseDto.amount',
        'AdminRefundResponseDto.amount',
        'SalesFiguresDto.revenue',
        'GET /api/v1/performances/{id}/seats query:minPrice',
        'GET /api/v1/performances/{id}/seats query:maxPrice',
      ]),
    );
    // Counts beside them stay plain integers: "refunded" counts purchases.
    expect(moneyValues(values).map(({ name }) => name)).not.toContain('refunded');
  });

  it('lets every value marked nullable be null for a validator reading OpenAPI 3.0.3 (enums and named objects too)', () => {
    const validatorFor = (doc: OpenApiDocument) => {
      // Ajv reads OpenAPI's `nullable` keyword; `strict: false` for the document's other keywords (example, …).
      const ajv = new Ajv({ strict: false, validateFormats: false });
      ajv.addSchema({ components: doc.components }, 'doc');
      return (schema: unknown) => {
        const validate = ajv.compile(schema as object);
        return (value: unknown) => validate(value) === true;
      };
    };
    expect(nullablesRefusingNull(document, values, validatorFor)).toEqual([]);
    // Among the values checked: nullable enums and nullable named objects, the kinds the check is for.
    const nullable = values
      .filter(({ schema }) => (schema as { nullable?: boolean }).nullable)
      .map(({ where }) => where);
    expect(nullable.length).toBeGreaterThan(20);
    expect(nullable).toEqual(
      expect.arrayContaining(['PurchaseResponseDto.paymentMethod', 'TicketTransferResponseDto.cancelReason']),
    );
    const queueJoin = document.paths['/api/v1/performances/{id}/queue'].post.responses?.['201'];
    const joined = queueJoin?.content?.['application/json'].schema as { $ref?: string } | undefined;
    const preQueue = document.components.schemas[joined?.$ref?.split('/').pop() ?? '']?.properties?.preQueue;
    expect(preQueue).toMatchObject({ type: 'object', nullable: true });
  });

  it('gives every success answer with a body a schema, the health routes included', () => {
    expect(successesWithoutSchema(document)).toEqual([]);
    const live = document.paths['/health/live'].get.responses?.['200'].content?.['application/json'].schema;
    expect(live).toEqual({ $ref: '#/components/schemas/LivenessDto' });
  });

  it('says of every account answer whether its e-mail is confirmed (emailVerified: boolean, always there)', () => {
    const user = document.components.schemas.UserResponseDto;
    expect(user.properties?.emailVerified).toMatchObject({ type: 'boolean' });
    expect(user.required).toContain('emailVerified');
    for (const path of ['/api/v1/auth/signup', '/api/v1/users/me']) {
      const operation = document.paths[path][path.endsWith('signup') ? 'post' : 'get'];
      const success = operation.responses?.[path.endsWith('signup') ? '201' : '200'];
      expect(success?.content?.['application/json'].schema, path).toEqual({
        $ref: '#/components/schemas/UserResponseDto',
      });
    }
  });

  it("takes the e-mail confirm's proof of the account: an optional Bearer, or the body's optional password", () => {
    const confirm = document.paths['/api/v1/auth/email-verification/confirm'].post as {
      security?: Record<string, string[]>[];
    };
    expect(confirm.security).toEqual(expect.arrayContaining([{}, { bearer: [] }]));
    const body = document.components.schemas.AuthEmailVerificationConfirmDto;
    expect(body.properties?.password).toMatchObject({ type: 'string', maxLength: 128 });
    expect(body.required).toEqual(['token']);
  });

  it("describes the seat-block 400s the service answers: the id form's work bound and a row named twice", () => {
    for (const path of [
      '/api/v1/admin/performances/{id}/seat-blocks',
      '/api/v1/admin/performances/{id}/seat-blocks/release',
    ]) {
      const answer = document.paths[path].post.responses?.['400'] as { description?: string } | undefined;
      const description = answer?.description ?? '';
      expect(description, path).toContain('sectionSlots');
      expect(description, path).toContain('one row twice');
    }
  });

  it("agrees with every route table row of README.md and the API guides on each route's statuses", () => {
    const root = join(__dirname, '..', '..', '..');
    const files = ['README.md', ...readdirSync(join(root, 'docs', 'guide')).map((name) => `docs/guide/${name}`)];
    const rows = files.flatMap((file) => routeRows(readFileSync(join(root, file), 'utf8'), file));
    expect(rows.length).toBeGreaterThan(40);
    expect(rowMismatches(rows, document.paths)).toEqual([]);
  });
});
