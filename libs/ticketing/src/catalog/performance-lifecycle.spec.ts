import { describe, expect, it } from 'vitest';
import { assertLifecycle, assertMovedToFuture } from './performance.service';

const at = (iso: string) => new Date(iso);
const base = {
  startsAt: at('2030-03-01T19:00:00Z'),
  salesOpenAt: at('2030-02-01T10:00:00Z'),
  salesCloseAt: null,
  cancelUntil: at('2030-02-28T19:00:00Z'),
};

describe('assertLifecycle', () => {
  it('accepts the ordered times, and null salesCloseAt / cancelUntil', () => {
    expect(() => assertLifecycle(base)).not.toThrow();
    expect(() => assertLifecycle({ ...base, cancelUntil: null })).not.toThrow();
    expect(() => assertLifecycle({ ...base, salesCloseAt: base.startsAt })).not.toThrow();
  });

  it.each([
    [{ salesOpenAt: at('2030-03-02T00:00:00Z') }, 'salesOpenAt must not be after startsAt'],
    [{ salesCloseAt: at('2030-02-01T10:00:00Z') }, 'salesCloseAt must be after salesOpenAt'],
    [{ salesCloseAt: at('2030-03-01T19:00:01Z') }, 'salesCloseAt must not be after startsAt'],
    [{ cancelUntil: at('2030-03-01T19:00:01Z') }, 'cancelUntil must not be after startsAt'],
  ])('refuses %o with InvalidSalesWindow', (change, message) => {
    expect(() => assertLifecycle({ ...base, ...change })).toThrow(
      expect.objectContaining({ kind: 'invalid', code: 'InvalidSalesWindow', message }),
    );
  });

  it('names a time the change left as it was, and says to give it in the same request', () => {
    // A show moved earlier than the cancel window set at creation.
    const moved = { ...base, startsAt: at('2030-02-20T19:00:00Z') };
    expect(() => assertLifecycle(moved, new Set(['salesOpenAt', 'salesCloseAt', 'cancelUntil']))).toThrow(
      expect.objectContaining({
        message:
          'cancelUntil must not be after startsAt (cancelUntil is 2030-02-28T19:00:00.000Z, unchanged by this request: give a new cancelUntil in the same request)',
      }),
    );
    // A time the request itself gave gets the plain message.
    expect(() => assertLifecycle(moved, new Set(['salesOpenAt', 'salesCloseAt']))).toThrow(
      expect.objectContaining({ message: 'cancelUntil must not be after startsAt' }),
    );
  });
});

describe('assertMovedToFuture', () => {
  const now = at('2030-03-01T12:00:00Z');
  const current = at('2030-03-01T10:00:00Z');

  it('lets a start move to any time after now, and a start sent back unchanged even when it is past', () => {
    expect(() => assertMovedToFuture(current, at('2030-03-01T12:00:00.001Z'), now)).not.toThrow();
    expect(() => assertMovedToFuture(current, at('2030-03-01T10:00:00Z'), now)).not.toThrow();
    expect(() => assertMovedToFuture(current, undefined, now)).not.toThrow();
  });

  it('refuses a move to now or before, saying what now is', () => {
    for (const startsAt of [now, at('2030-03-01T11:00:00Z'), at('2020-01-01T00:00:00Z')]) {
      expect(() => assertMovedToFuture(current, startsAt, now)).toThrow(
        'startsAt must be in the future: a performance is not moved to a time already past (it is 2030-03-01T12:00:00.000Z)',
      );
    }
  });
});
