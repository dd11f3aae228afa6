import { describe, expect, it } from 'vitest';
import { auditValue, auditValues, changedFields } from './audit-details';

describe('audit details', () => {
  it('keeps a time as its ISO 8601 string in UTC, absent as null, anything else as it is', () => {
    expect(auditValue(new Date('2030-03-02T19:00:00+09:00'))).toBe('2030-03-02T10:00:00.000Z');
    expect(auditValue(undefined)).toBeNull();
    expect(auditValue(null)).toBeNull();
    expect(auditValue(0)).toBe(0);
    expect(auditValue(false)).toBe(false);
    expect(auditValues({ a: 'x', b: undefined, c: 3 }, ['c', 'a', 'b'])).toEqual({ c: 3, a: 'x', b: null });
  });

  it('tells only the fields whose values changed, times compared as instants; none when nothing changed', () => {
    const before = { startsAt: new Date('2030-03-01T19:00:00Z'), status: 'ON_SALE', limit: null as number | null };
    const same = { startsAt: new Date('2030-03-02T04:00:00+09:00'), status: 'ON_SALE', limit: null };
    expect(changedFields(before, same, ['startsAt', 'status', 'limit'])).toEqual({});
    expect(changedFields(before, { ...same, status: 'PAUSED', limit: 4 }, ['startsAt', 'status', 'limit'])).toEqual({
      status: { before: 'ON_SALE', after: 'PAUSED' },
      limit: { before: null, after: 4 },
    });
    // A field not asked about is not told, changed or not.
    const paused = { ...same, status: 'PAUSED' };
    expect(changedFields(before, paused, ['startsAt'])).toEqual({});
  });
});
