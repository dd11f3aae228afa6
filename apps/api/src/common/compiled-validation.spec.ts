import { ArgumentMetadata, BadRequestException, ValidationPipe } from '@nestjs/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdminPurchaseQueryDto } from '../admin-purchases/admin-purchase.dto';
import { SeatQueryDto } from '../performances/performance.dto';
import { PurchaseCreateDto } from '../purchases/purchase.dto';
import { ReservationCreateDto } from '../reservations/reservation.dto';
import {
  acceptedBody,
  checkedBody,
  CompiledValidationPipe,
  compiledSchemaOf,
  FieldValidationPipe,
  VALIDATION_OPTIONS,
} from './compiled-validation';

const classValidator = new FieldValidationPipe(VALIDATION_OPTIONS);
const compiled = new CompiledValidationPipe(VALIDATION_OPTIONS);

type Outcome = { ok: true; value: unknown } | { ok: false; status: number; body: unknown };

async function outcome(
  pipe: ValidationPipe,
  value: unknown,
  metatype: ArgumentMetadata['metatype'],
  type: ArgumentMetadata['type'] = 'body',
): Promise<Outcome> {
  try {
    // The pipes may change what they are given (stripping, closing gaps): each gets its own copy.
    const result = await pipe.transform(structuredClone(value), { type, metatype });
    return { ok: true, value: JSON.parse(JSON.stringify(result)) as unknown };
  } catch (error) {
    if (!(error instanceof BadRequestException)) throw error;
    return { ok: false, status: error.getStatus(), body: error.getResponse() };
  }
}

const MAX_ID = 2_147_483_647;
const number = fc.oneof(
  fc.integer({ min: -3, max: 5 }),
  fc.integer({ min: MAX_ID - 2, max: MAX_ID + 2 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0.5, -0, 1e21, Number.MAX_SAFE_INTEGER + 2),
);
const uuid = fc.oneof(
  fc.uuid(),
  fc.uuid().map((id) => id.toUpperCase()),
  fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
  fc.uuid().map((id) => id.slice(1)),
  fc.uuid().map((id) => `${id.slice(0, 14)}9${id.slice(15)}`),
);
const scalar = fc.oneof(number, uuid, fc.string({ maxLength: 4 }), fc.boolean(), fc.constant(null));
const value = fc.oneof(
  { weight: 3, arbitrary: scalar },
  { weight: 3, arbitrary: fc.array(number, { maxLength: 6 }) },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 99, maxLength: 102 }) },
  { weight: 1, arbitrary: fc.uniqueArray(fc.integer({ min: 1, max: 999 }), { minLength: 99, maxLength: 102 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 3 }), scalar, { maxKeys: 2 }) },
);
/** A purchase's `paymentToken`: well-formed ones, the bounds (500, 501 characters), spaces, non-ASCII, other types. */
const paymentToken = fc.oneof(
  fc.constantFrom('tok_decline', 'tok_timeout', 'pm_card_visa', '!', '~'.repeat(500), 'a'.repeat(501), ''),
  fc.constantFrom(' pm_1', 'pm 1', 'pm_1\n', 'pm_\u00e9', 'pm_\u0000', '\u00a0'),
  fc.stringMatching(/^[\x21-\x7E]{1,20}$/),
  fc.string({ maxLength: 6 }),
  value,
);
const body = fc.oneof(
  fc.record(
    {
      performanceId: value,
      seatIds: value,
      reservationId: value,
      paymentToken: value,
      extra: value,
      constructor: value,
    },
    { requiredKeys: [] },
  ),
  fc.record({ performanceId: number, seatIds: fc.uniqueArray(number, { minLength: 1, maxLength: 5 }) }),
  fc.record({ performanceId: number, seatIds: value }),
  fc.record(
    {
      performanceId: number,
      quantity: fc.oneof(number, value),
      grade: fc.oneof(fc.constantFrom('R', 'VIP', 'Ä', '', 'x'.repeat(21)), value),
      section: fc.oneof(fc.constantFrom('Floor', 'Stand 1', 'Ü', '', 'Floor ', ' Floor', 'A\u202E'), value),
      together: fc.oneof(fc.boolean(), value),
      accessible: fc.oneof(fc.boolean(), value),
      seatIds: value,
    },
    { requiredKeys: ['performanceId', 'quantity'] },
  ),
  fc.record({ reservationId: uuid }),
  fc.record({ reservationId: uuid, paymentToken }, { requiredKeys: ['reservationId'] }),
  fc.record({ reservationId: uuid, paymentToken, extra: value }, { requiredKeys: ['reservationId', 'extra'] }),
  value,
  fc.constant(undefined),
);

// Query strings as Fastify decodes them: strings, arrays of strings for a repeated name.
const queryText = fc.oneof(
  fc.constantFrom('1', '20', '99', '100', '101', '0', '01', '1e2', ' 5', '5.0', '-1', '', 'x'),
  fc.constantFrom('AVAILABLE', 'HELD', 'SOLD', 'available', 'Floor', 'Stand 1', 'Ü', 'VIP', 'R'),
  fc.constantFrom('123456789', '1234567890', '100000000', 'eyJwIjoxMDB9', 'a'.repeat(200), 'a'.repeat(201), 'ab+/'),
  fc.string({ maxLength: 4 }),
);
const queryValue = fc.oneof({ weight: 5, arbitrary: queryText }, { weight: 1, arbitrary: fc.array(queryText) });
// Each name mostly with a value the fast path takes, so that both paths are compared often.
const queryField = (...valid: string[]) =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: queryValue });
const seatQuery = fc.record(
  {
    limit: queryField('1', '20', '99', '100'),
    cursor: queryField('', 'eyJwIjoxMDB9', 'a'.repeat(200)),
    status: queryField('AVAILABLE', 'HELD', 'SOLD', 'BLOCKED'),
    section: fc.oneof(queryField('Floor', 'Stand 1', 'x'.repeat(50)), fc.constantFrom('Floor ', ' Floor', 'A\u200F')),
    grade: queryField('VIP', 'R', 'x'.repeat(20)),
    minPrice: queryField('0', '150000', '999999999'),
    maxPrice: queryField('0', '220000', '100000000'),
    extra: queryValue,
  },
  { requiredKeys: [] },
);

describe('CompiledValidationPipe', () => {
  it('answers every seat page query exactly as class-validator does (same values, same 400 messages)', async () => {
    await fc.assert(
      fc.asyncProperty(seatQuery, async (input) => {
        expect(await outcome(compiled, input, SeatQueryDto, 'query')).toEqual(
          await outcome(classValidator, input, SeatQueryDto, 'query'),
        );
      }),
      { numRuns: 2000 },
    );
  }, 60_000);

  it('takes the fast path for a valid seat page query, with limit as a number (20 when absent)', async () => {
    const pipe = (query: object) => compiled.transform(query, { type: 'query', metatype: SeatQueryDto });
    expect(await pipe({ limit: '100', status: 'AVAILABLE', cursor: 'eyJwIjoxMDB9' })).toEqual({
      limit: 100,
      status: 'AVAILABLE',
      cursor: 'eyJwIjoxMDB9',
    });
    expect(await pipe({})).toEqual({ limit: 20 });
    // Off the fast path, class-validator refuses a spelling that is not canonical too.
    await expect(pipe({ limit: '01' })).rejects.toBeInstanceOf(BadRequestException);
  });

  it('tells a repeated query parameter only that it must be given once, on either path', async () => {
    for (const pipe of [compiled, classValidator]) {
      expect(
        await outcome(pipe, { email: ['a@example.com', 'b@example.com'] }, AdminPurchaseQueryDto, 'query'),
      ).toEqual({
        ok: false,
        status: 400,
        body: { statusCode: 400, error: 'Bad Request', message: ['email must be given once'] },
      });
      expect(await outcome(pipe, { limit: ['1', '2'], status: 'SOLD' }, SeatQueryDto, 'query')).toEqual({
        ok: false,
        status: 400,
        body: { statusCode: 400, error: 'Bad Request', message: ['limit must be given once'] },
      });
    }
  });

  for (const dto of [ReservationCreateDto, PurchaseCreateDto]) {
    it(`answers every ${dto.name} exactly as class-validator does (same acceptance, same 400 messages)`, async () => {
      await fc.assert(
        fc.asyncProperty(body, async (input) => {
          expect(await outcome(compiled, input, dto)).toEqual(await outcome(classValidator, input, dto));
        }),
        { numRuns: 1000 },
      );
    }, 60_000);

    it(`compiles for ${dto.name} a schema that accepts nothing class-validator refuses`, async () => {
      const check = compiledSchemaOf(dto)!;
      await fc.assert(
        fc.asyncProperty(body, async (input) => {
          if (check(input)) expect((await outcome(classValidator, input, dto)).ok).toBe(true);
        }),
        { numRuns: 1000 },
      );
    }, 60_000);
  }

  it('takes the fast path for a valid body: the value comes back as it came', async () => {
    const hold = { performanceId: 7, seatIds: [1, 2, MAX_ID] };
    const purchase = { reservationId: '0b6f3a52-8d1e-4c4a-9a57-2f1b3c4d5e6f' };
    const paid = { ...purchase, paymentToken: 'pm_card_visa' };
    expect(await compiled.transform(hold, { type: 'body', metatype: ReservationCreateDto })).toBe(hold);
    expect(await compiled.transform(purchase, { type: 'body', metatype: PurchaseCreateDto })).toBe(purchase);
    expect(await compiled.transform(paid, { type: 'body', metatype: PurchaseCreateDto })).toBe(paid);
  });

  it('tells a body that is JSON but not an object only that, on either path', async () => {
    for (const value of [[1, 2], 'x', 3, true]) {
      for (const pipe of [compiled, classValidator]) {
        await expect(pipe.transform(value, { type: 'body', metatype: ReservationCreateDto })).rejects.toMatchObject({
          response: { message: ['the request body must be a JSON object'] },
        });
      }
    }
    // One field of a body, or a primitive, is not a body.
    expect(await compiled.transform('x', { type: 'body', metatype: String, data: 'name' })).toBe('x');
  });

  it('leaves the rest to class-validator, with its messages', async () => {
    await expect(
      compiled.transform({ performanceId: 1.5, seatIds: [1, 1] }, { type: 'body', metatype: ReservationCreateDto }),
    ).rejects.toMatchObject({
      response: {
        message: ['performanceId must be an integer number', 'seatIds must not name a seat twice'],
      },
    });
    for (const paymentToken of ['', 'pm 1', 'x'.repeat(501), 'pm_\u00e9', null, 42]) {
      const refused = compiled.transform(
        { reservationId: '0b6f3a52-8d1e-4c4a-9a57-2f1b3c4d5e6f', paymentToken },
        { type: 'body', metatype: PurchaseCreateDto },
      );
      // The one message, never the value: a token is the buyer's secret.
      await expect(refused, String(paymentToken)).rejects.toMatchObject({
        response: {
          message: [
            typeof paymentToken === 'string'
              ? 'paymentToken must be 1-500 printable ASCII characters without spaces'
              : 'paymentToken must be a string',
          ],
        },
      });
    }
    const nil = { reservationId: '00000000-0000-0000-0000-000000000000' };
    expect(await compiled.transform(nil, { type: 'body', metatype: PurchaseCreateDto })).toBeInstanceOf(
      PurchaseCreateDto,
    );
  });
});

/** What a handler gets from `acceptedBody(dto, value) ?? await checkedBody(dto, value)`, as `outcome` says it. */
async function handlerOutcome(value: unknown, dto: typeof ReservationCreateDto | typeof PurchaseCreateDto) {
  try {
    const input = structuredClone(value);
    const result = acceptedBody<object>(dto, input) ?? (await checkedBody<object>(dto, input));
    return { ok: true, value: JSON.parse(JSON.stringify(result)) as unknown, instance: result instanceof dto };
  } catch (error) {
    if (!(error instanceof BadRequestException)) throw error;
    return { ok: false, status: error.getStatus(), body: error.getResponse() };
  }
}

describe('acceptedBody and checkedBody (the hold and purchase handlers)', () => {
  for (const dto of [ReservationCreateDto, PurchaseCreateDto]) {
    it(`give for every ${dto.name} what the global pipe gives @Body() (same value, same 400 messages)`, async () => {
      await fc.assert(
        fc.asyncProperty(body, async (input) => {
          const piped = await outcome(compiled, input, dto);
          const { instance, ...checked } = await handlerOutcome(input, dto);
          expect(checked, `${dto.name} ${JSON.stringify(input)}`).toEqual(piped);
          // Off the fast path the pipe hands on a DTO instance; so does checkedBody.
          if (checked.ok && !compiledSchemaOf(dto)!(input)) expect(instance, JSON.stringify(input)).toBe(true);
        }),
        { numRuns: 1000 },
      );
    }, 60_000);
  }

  it('answers a valid body synchronously, as it came; undefined for one the schema refuses', () => {
    const hold = { performanceId: 7, seatIds: [1, 2, MAX_ID] };
    expect(acceptedBody(ReservationCreateDto, hold)).toBe(hold);
    expect(acceptedBody(ReservationCreateDto, { performanceId: 7, seatIds: [1, 1] })).toBeUndefined();
    expect(acceptedBody(PurchaseCreateDto, undefined)).toBeUndefined();
  });

  it('takes the fast path for either form of a hold, and neither for a body mixing them', () => {
    for (const hold of [
      { performanceId: 7, quantity: 2 },
      { performanceId: 7, quantity: 4, grade: 'VIP', together: false, accessible: true },
      { performanceId: 7, quantity: 1, section: 'Stand 1' },
      { performanceId: 7, seatIds: [1] },
    ]) {
      expect(acceptedBody(ReservationCreateDto, hold), JSON.stringify(hold)).toBe(hold);
    }
    for (const mixed of [
      { performanceId: 7, quantity: 2, seatIds: [1] },
      { performanceId: 7, seatIds: [1], together: true },
      { performanceId: 7, quantity: 2, grade: 'R', section: 'Floor' },
      [{ performanceId: 7, quantity: 2 }],
    ]) {
      expect(acceptedBody(ReservationCreateDto, mixed), JSON.stringify(mixed)).toBeUndefined();
    }
  });
});
