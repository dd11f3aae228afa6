import { describe, expect, it } from 'vitest';
import { NoSeatsFitError } from './errors';

describe('NoSeatsFitError', () => {
  it.each([
    [
      1,
      true,
      false,
      'no seat is available for this request (wheelchair spaces and companion seats go to accessible requests only)',
    ],
    [1, false, true, 'no accessible seat (a wheelchair space) is available for this request'],
    [
      4,
      true,
      false,
      'no 4 seats together (one row, or adjacent rows of one section) are available for this request (wheelchair spaces and companion seats go to accessible requests only)',
    ],
    [
      3,
      false,
      false,
      'fewer than 3 seats are available for this request (wheelchair spaces and companion seats go to accessible requests only)',
    ],
    [
      2,
      false,
      true,
      'fewer than 2 accessible seats (wheelchair spaces with their companion seats) are available for this request',
    ],
  ])('names what was asked: %i seats, together %s, accessible %s', (quantity, together, accessible, message) => {
    const error = new NoSeatsFitError(quantity, together, accessible);
    expect(error).toMatchObject({
      kind: 'conflict',
      code: 'NoSeatsFit',
      message,
      details: { quantity, together, accessible },
    });
  });
});
