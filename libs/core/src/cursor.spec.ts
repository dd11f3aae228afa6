import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeCursor, encodeCursor, isInstantKey } from './cursor';
import { DomainError } from './domain-error';

const isWord = (value: unknown) => typeof value === 'string' && /^[a-z]+$/.test(value);

describe('decodeCursor (core)', () => {
  it('round-trips a key whose parts pass their checks', () => {
    expect(decodeCursor(encodeCursor({ w: 'abc' }), { w: isWord })).toEqual({ w: 'abc' });
  });

  it('treats a missing cursor as the start', () => {
    expect(decodeCursor(undefined, { w: isWord })).toBeNull();
    expect(decodeCursor('', { w: isWord })).toBeNull();
  });

  it.each([
    ['a part failing its check', encodeCursor({ w: 'ABC' })],
    ['a missing part', encodeCursor({})],
    ['an extra part', encodeCursor({ w: 'abc', x: 'abc' })],
    ['another part of the same count', encodeCursor({ x: 'abc' })],
    ['an inherited name', Buffer.from('{"toString":"abc"}').toString('base64url')],
    ['not base64url', 'not a cursor!'],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['JSON null', Buffer.from('null').toString('base64url')],
    ['an array', Buffer.from('["abc"]').toString('base64url')],
    ['more than 200 characters', 'a'.repeat(201)],
  ])('refuses %s with InvalidCursor', (_name, cursor) => {
    let error: unknown;
    try {
      decodeCursor(cursor, { w: isWord });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ kind: 'invalid', code: 'InvalidCursor' });
  });
});

describe('isInstantKey', () => {
  it('takes what Date#toISOString writes, over the whole range PostgreSQL holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('0001-01-01T00:00:00.000Z'), max: Date.parse('9999-12-31T23:59:59.999Z') }),
        (ms) => isInstantKey(new Date(ms).toISOString()),
      ),
    );
  });

  it.each([
    ['a month 13', '2026-13-05T12:11:59.993Z'],
    ['an hour 25', '2026-12-05T25:00:00.000Z'],
    ['Feb 30 (Date rolls it over to Mar 2)', '2026-02-30T12:00:00.000Z'],
    ['a minute 60', '2026-12-05T12:60:00.000Z'],
    ['year 0', '0000-01-01T00:00:00.000Z'],
    ['no milliseconds', '2026-12-05T12:11:59Z'],
    ['an offset', '2026-12-05T12:11:59.993+09:00'],
    ['a number', 1764936719993],
  ])('refuses %s', (_name, value) => {
    expect(isInstantKey(value)).toBe(false);
  });
});
