import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor';
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
