import { ArgumentMetadata, BadRequestException } from '@nestjs/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdminPurchaseQueryDto } from '../admin-purchases/admin-purchase.dto';
import { EventQueryDto } from '../events/event.dto';
import { SeatQueryDto } from '../performances/performance.dto';
import { CANONICAL_INTEGER } from './canonical-integer';
import { CompiledValidationPipe, VALIDATION_OPTIONS } from './compiled-validation';
import { PageQueryDto } from './page-query.dto';
import { ParseIdPipe } from './parse-id.pipe';

const MAX_ID = 2_147_483_647;

/** Spellings of `n` that `Number()` reads as a number (or near one) but that are not its name. */
function otherSpellings(n: number): string[] {
  const s = String(n);
  return [
    `0x${n.toString(16)}`,
    `0X${n.toString(16).toUpperCase()}`,
    `0b${n.toString(2)}`,
    `0o${n.toString(8)}`,
    `+${s}`,
    `-${s}`,
    `${s}.0`,
    `${s}.`,
    ` ${s}`,
    `${s} `,
    `\t${s}`,
    `${s}\n`,
    `0${s}`,
    `000${s}`,
    `${s}e0`,
    `${s}E0`,
    `${n * 10}e-1`,
    `${s}n`,
    `${s}_0`,
    `\uff11${s}`,
    '',
  ];
}

/** A non-canonical spelling of a number from `min` to `max`. */
function nonCanonical(min: number, max: number): fc.Arbitrary<string> {
  const count = otherSpellings(0).length;
  return fc.tuple(fc.integer({ min, max }), fc.nat({ max: count - 1 })).map(([n, i]) => otherSpellings(n)[i]);
}

const pipe = new CompiledValidationPipe(VALIDATION_OPTIONS);

async function query(metatype: ArgumentMetadata['metatype'], value: Record<string, string>): Promise<unknown> {
  return pipe.transform({ ...value }, { type: 'query', metatype });
}

describe('canonical integers in paths and query strings', () => {
  it('every generated spelling is indeed not canonical', () => {
    fc.assert(
      fc.property(nonCanonical(0, MAX_ID), (text) => {
        expect(CANONICAL_INTEGER.test(text)).toBe(false);
      }),
    );
  });

  it('ParseIdPipe takes canonical ids 1..2^31-1 and refuses every other spelling with 400', () => {
    const ids = new ParseIdPipe();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_ID }), (n) => {
        expect(ids.transform(String(n))).toBe(n);
      }),
    );
    fc.assert(
      fc.property(nonCanonical(0, MAX_ID), (text) => {
        expect(() => ids.transform(text)).toThrow(BadRequestException);
      }),
    );
    for (const text of ['0', '2147483648', '99999999999'])
      expect(() => ids.transform(text)).toThrow(BadRequestException);
  });

  it('the global pipe hands a numeric path parameter on as the string it came as', async () => {
    await fc.assert(
      fc.asyncProperty(nonCanonical(1, MAX_ID), async (text) => {
        expect(await pipe.transform(text, { type: 'param', metatype: Number, data: 'id' })).toBe(text);
      }),
    );
  });

  const integerQueries: [string, string, number, number, ArgumentMetadata['metatype']][] = [
    ['PageQueryDto', 'limit', 1, 100, PageQueryDto],
    ['EventQueryDto', 'limit', 1, 100, EventQueryDto],
    ['SeatQueryDto (compiled)', 'limit', 1, 100, SeatQueryDto],
    ['SeatQueryDto (compiled)', 'minPrice', 0, 100_000_000, SeatQueryDto],
    ['SeatQueryDto (compiled)', 'maxPrice', 0, 100_000_000, SeatQueryDto],
    ['AdminPurchaseQueryDto', 'performanceId', 1, MAX_ID, AdminPurchaseQueryDto],
    ['AdminPurchaseQueryDto', 'limit', 1, 100, AdminPurchaseQueryDto],
  ];

  it.each(integerQueries)(
    '%s ?%s= takes canonical %i..%i and refuses other spellings',
    async (_label, name, min, max, dto) => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min, max }), async (n) => {
          await expect(query(dto, { [name]: String(n) })).resolves.toBeDefined();
        }),
      );
      await fc.assert(
        fc.asyncProperty(nonCanonical(min, max), async (text) => {
          const error = await query(dto, { [name]: text }).then(
            () => null,
            (e: unknown) => e,
          );
          expect(error, `${name}=${JSON.stringify(text)}`).toBeInstanceOf(BadRequestException);
          const messages = (error as BadRequestException).getResponse() as { message: string[] };
          expect(messages.message.join(' ')).toContain(`${name} must`);
        }),
      );
    },
  );
});
