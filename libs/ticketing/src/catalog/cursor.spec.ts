import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors';
import { decodeCursor, encodeCursor } from './cursor';

describe('keyset cursors', () => {
  it('round-trips a key', () => {
    const cursor = encodeCursor({ s: '2026-12-01T19:00:00.000Z', i: 42 });
    expect(decodeCursor(cursor, { s: 'date', i: 'int' })).toEqual({ s: '2026-12-01T19:00:00.000Z', i: 42 });
  });

  it('treats a missing cursor as the start', () => {
    expect(decodeCursor(undefined, { i: 'int' })).toBeNull();
    expect(decodeCursor('', { i: 'int' })).toBeNull();
  });

  it.each([
    ['garbage', 'not a cursor!'],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['wrong shape', encodeCursor({ x: 1 })],
    ['negative id', encodeCursor({ i: -1 })],
    ['fractional id', Buffer.from('{"i":1.5}').toString('base64url')],
    ['too long', 'a'.repeat(500)],
    ['array', Buffer.from('[1]').toString('base64url')],
  ])('rejects %s as invalid', (_name, cursor) => {
    expect(() => decodeCursor(cursor, { i: 'int' })).toThrow(DomainError);
  });

  it('checks uuid parts', () => {
    const id = '7a1d9c3e-5b2f-4e8a-9c0d-1e2f3a4b5c6d';
    expect(decodeCursor(encodeCursor({ t: 5, i: id }), { t: 'int', i: 'uuid' })).toEqual({ t: 5, i: id });
    expect(() => decodeCursor(encodeCursor({ t: 5, i: 'not-a-uuid' }), { t: 'int', i: 'uuid' })).toThrow(DomainError);
  });
});
