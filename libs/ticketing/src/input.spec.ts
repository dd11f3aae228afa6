import { describe, expect, it } from 'vitest';
import { InvalidInputError } from './errors';
import {
  assertCurrency,
  assertIdempotencyKey,
  assertPerformanceId,
  assertPrice,
  assertSeatIds,
  assertUserId,
  isUuid,
} from './input';

describe('assertSeatIds', () => {
  it('accepts 1..max distinct positive integers', () => {
    expect(() => assertSeatIds([1], 4)).not.toThrow();
    expect(() => assertSeatIds([4, 3, 2, 1], 4)).not.toThrow();
  });

  it.each([
    ['an empty list', []],
    ['too many seats', [1, 2, 3, 4, 5]],
    ['a repeated seat', [1, 2, 1]],
    ['zero', [0]],
    ['a negative id', [-3]],
    ['a fraction', [2.5]],
    ['a string', ['1']],
    ['NaN', [Number.NaN]],
    ['an unsafe integer', [2 ** 53]],
    ['no list at all', '1,2'],
  ])('refuses %s', (_, seatIds) => {
    expect(() => assertSeatIds(seatIds, 4)).toThrow(InvalidInputError);
  });

  it('names the repeated seats', () => {
    expect(() => assertSeatIds([1, 2, 1, 2, 3], 10)).toThrow(
      expect.objectContaining({ kind: 'invalid', details: { duplicates: [1, 2] } }),
    );
  });
});

describe('other input checks', () => {
  it('performance ids are positive integers', () => {
    expect(() => assertPerformanceId(1)).not.toThrow();
    for (const bad of [0, -1, 1.5, '1', null]) expect(() => assertPerformanceId(bad)).toThrow(InvalidInputError);
  });

  it('user ids are short non-empty strings', () => {
    expect(() => assertUserId('u-1')).not.toThrow();
    for (const bad of ['', 'x'.repeat(101), 5]) expect(() => assertUserId(bad)).toThrow(InvalidInputError);
  });

  it('prices are non-negative integers in minor units, taken as they are', () => {
    for (const good of [0, 1050, 2100, Number.MAX_SAFE_INTEGER]) expect(() => assertPrice(good)).not.toThrow();
    for (const bad of [-1, 20.1, 1.005, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '5']) {
      expect(() => assertPrice(bad)).toThrow(InvalidInputError);
    }
  });

  it('currencies are known ISO 4217 codes', () => {
    for (const good of ['KRW', 'EUR', 'JPY', 'BHD']) expect(() => assertCurrency(good)).not.toThrow();
    for (const bad of ['krw', 'EURO', 'XYZ', '', null, 410]) {
      expect(() => assertCurrency(bad)).toThrow(InvalidInputError);
    }
  });

  it('recognizes hold ids', () => {
    expect(isUuid('6f1c0d3e-1b2a-4c3d-8e4f-5a6b7c8d9e0f')).toBe(true);
    for (const bad of ['6f1c0d3e', '../x', '', 7]) expect(isUuid(bad)).toBe(false);
  });
});

describe('assertIdempotencyKey', () => {
  it('accepts 1 to 200 printable ASCII characters', () => {
    expect(() => assertIdempotencyKey('k')).not.toThrow();
    expect(() => assertIdempotencyKey('order 42: {retry} ~!')).not.toThrow();
    expect(() => assertIdempotencyKey('x'.repeat(200))).not.toThrow();
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(201)],
    ['a control character', 'a\tb'],
    ['a non-ASCII character', 'clé'],
    ['not a string', ['a', 'b']],
  ])('refuses %s', (_, key) => {
    expect(() => assertIdempotencyKey(key)).toThrow(InvalidInputError);
  });
});
