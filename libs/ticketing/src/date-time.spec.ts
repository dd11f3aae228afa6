import { describe, expect, it } from 'vitest';
import { parseDateTime, toDateTime } from './date-time';
import { InvalidInputError } from './errors';

describe('RFC 3339 date-times', () => {
  it.each([
    ['2027-03-01T19:00:00+09:00', '2027-03-01T10:00:00.000Z'],
    ['2027-03-01T10:00:00Z', '2027-03-01T10:00:00.000Z'],
    ['2027-03-01T10:00:00.5Z', '2027-03-01T10:00:00.500Z'],
    ['2027-03-01T10:00:00.123456-02:30', '2027-03-01T12:30:00.123Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('reads %s', (text, iso) => {
    expect(parseDateTime(text)?.toISOString()).toBe(iso);
  });

  it.each([
    ['no offset', '2027-03-01T19:00:00'],
    ['a date only', '2027-03-01'],
    ['a week date', '2027-W09-1T19:00:00Z'],
    ['an ordinal date', '2027-060T19:00:00Z'],
    ['a comma fraction', '2027-03-01T19:00:00,5Z'],
    ['a day that does not exist', '2027-02-29T19:00:00Z'],
    ['hour 24', '2027-03-01T24:00:00Z'],
    ['a leap second', '2027-03-01T23:59:60Z'],
    ['an offset without colon', '2027-03-01T19:00:00+0900'],
    ['an extended year', '+275760-09-13T00:00:00Z'],
    ['year 0000', '0000-06-01T00:00:00Z'],
    ['an instant after year 9999', '9999-12-31T23:00:00-05:00'],
    ['a lower-case separator', '2027-03-01t19:00:00z'],
    ['a space before the time', '2027-03-01 19:00:00Z'],
    ['a NUL inside', '2027-03-01T19:00:00\u0000Z'],
    ['a number', 1_700_000_000_000],
    ['null', null],
  ])('refuses %s', (_name, value) => {
    expect(parseDateTime(value)).toBeNull();
  });

  it('names the field when a value slipped past the edge', () => {
    expect(() => toDateTime('2027-03-01T19:00:00', 'startsAt')).toThrow(InvalidInputError);
    expect(() => toDateTime('2027-03-01T19:00:00', 'startsAt')).toThrow(/startsAt/);
  });
});
