import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors';
import { decodeCursor, encodeCursor } from './cursor';

describe('keyset cursors', () => {
  it('round-trips a key', () => {
    const cursor = encodeCursor({ s: '2026-12-01T19:00:00.000Z', i: 42 });
    expect(decodeCursor(cursor, { s: 'date', i: 'int4' })).toEqual({ s: '2026-12-01T19:00:00.000Z', i: 42 });
  });

  it('treats a missing cursor as the start', () => {
    expect(decodeCursor(undefined, { i: 'int4' })).toBeNull();
    expect(decodeCursor('', { i: 'int4' })).toBeNull();
  });

  it.each([
    ['garbage', 'not a cursor!'],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['wrong shape', encodeCursor({ x: 1 })],
    ['negative id', encodeCursor({ i: -1 })],
    ['fractional id', Buffer.from('{"i":1.5}').toString('base64url')],
    ['too long', 'a'.repeat(500)],
    ['array', Buffer.from('[1]').toString('base64url')],
    ['an id beyond a PostgreSQL integer', 'eyJpIjoyMTQ3NDgzNjQ4fQ'],
    ['an inherited name', Buffer.from('{"toString":1}').toString('base64url')],
  ])('rejects %s as invalid', (_name, cursor) => {
    expect(() => decodeCursor(cursor, { i: 'int4' })).toThrow(DomainError);
  });

  it('accepts the largest PostgreSQL integer', () => {
    expect(decodeCursor(encodeCursor({ i: 2_147_483_647 }), { i: 'int4' })).toEqual({ i: 2_147_483_647 });
  });

  it.each([
    ['not a date', 'yesterday'],
    ['a bare number', '1'],
    ['no offset', '2026-12-01T19:00:00'],
    ['a day that does not exist', '2027-02-30T19:00:00Z'],
    ['a year PostgreSQL cannot hold', '+275760-09-13T00:00:00.000Z'],
    ['a year before 0001', '-000001-01-01T00:00:00.000Z'],
  ])('rejects a date part that is %s', (_name, s) => {
    expect(() => decodeCursor(encodeCursor({ s, i: 1 }), { s: 'date', i: 'int4' })).toThrow(DomainError);
  });

  it.each([
    ['beyond the JavaScript date range', 8.64e15 + 1],
    ['beyond year 9999', Date.parse('9999-12-31T23:59:59.999Z') + 1],
    ['fractional', 1.5],
  ])('rejects an instant part that is %s', (_name, t) => {
    const id = '7a1d9c3e-5b2f-4e8a-9c0d-1e2f3a4b5c6d';
    expect(() => decodeCursor(encodeCursor({ t, i: id }), { t: 'millis', i: 'uuid' })).toThrow(DomainError);
  });

  it('checks uuid parts', () => {
    const id = '7a1d9c3e-5b2f-4e8a-9c0d-1e2f3a4b5c6d';
    expect(decodeCursor(encodeCursor({ t: 5, i: id }), { t: 'millis', i: 'uuid' })).toEqual({ t: 5, i: id });
    expect(() => decodeCursor(encodeCursor({ t: 5, i: 'not-a-uuid' }), { t: 'millis', i: 'uuid' })).toThrow(
      DomainError,
    );
  });
});
