import { describe, expect, it } from 'vitest';
import {
  MAX_UNBLOCKABLE_LISTED,
  NoSeatsFitError,
  QueueTicketEndedError,
  SeatsNotBlockableError,
  SeatsUnavailableError,
} from './errors';

describe('NoSeatsFitError', () => {
  it('tells a scope without wheelchair spaces from spaces all taken (noAccessibleSeats)', () => {
    const none = new NoSeatsFitError(1, true, true, 'NO_ACCESSIBLE', { kind: 'section', section: 'Gallery' });
    expect(none.message).toBe(
      'no accessible seat (a wheelchair space) exists in this performance in section Gallery: it has none at all, sold or free (another section or grade may have some)',
    );
    expect(none.details).toEqual({ quantity: 1, together: true, accessible: true, noAccessibleSeats: true });
    const taken = new NoSeatsFitError(1, true, true);
    expect(taken.message).not.toBe(none.message);
    expect(taken.details).toEqual({ quantity: 1, together: true, accessible: true });
  });

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
  ])(
    'names what was asked, with the wheelchair note: %i seats, together %s, accessible %s',
    (quantity, together, accessible, message) => {
      const error = new NoSeatsFitError(quantity, together, accessible, 'ACCESSIBLE_ONLY');
      expect(error).toMatchObject({
        kind: 'conflict',
        code: 'NoSeatsFit',
        message,
        details: accessible
          ? { quantity, together, accessible }
          : { quantity, together, accessible, accessibleOnly: true },
      });
      expect('accessibleOnly' in error.details!).toBe(!accessible);
    },
  );

  it('leaves the wheelchair note out when no free seat is kept for accessible requests', () => {
    expect(new NoSeatsFitError(1, true).message).toBe('no seat is available for this request');
    expect(new NoSeatsFitError(4, true, false, null).message).toBe(
      'no 4 seats together (one row, or adjacent rows of one section) are available for this request',
    );
  });

  it.each([
    [
      { kind: 'all' } as const,
      'no seats are free: every seat of this performance is sold, held or blocked (off sale) (held seats come back when their holds end)',
    ],
    [
      { kind: 'grade', grade: 'R' } as const,
      'no seats are free: every seat of this performance in grade R is sold, held or blocked (off sale) (held seats come back when their holds end)',
    ],
    [
      { kind: 'section', section: 'Floor' } as const,
      'no seats are free: every seat of this performance in section Floor is sold, held or blocked (off sale) (held seats come back when their holds end)',
    ],
  ])('says sold out, of the scope %o', (scope, message) => {
    for (const accessible of [false, true]) {
      expect(new NoSeatsFitError(2, true, accessible, 'SOLD_OUT', scope)).toMatchObject({
        code: 'NoSeatsFit',
        message,
        details: { quantity: 2, together: true, accessible, soldOut: true },
      });
    }
  });

  it('noOrphanSeats refusal: singleLeft in details, no soldOut', () => {
    const error = new NoSeatsFitError(3, false, false, 'SINGLE_LEFT');
    expect(error.message).toMatch(/^best available found no placement of 3 seats that leaves no single empty seat/);
    expect(error.details).toEqual({ quantity: 3, together: false, accessible: false, singleLeft: true });
  });
});

describe('SeatsNotBlockableError', () => {
  it('names every seat up to the bound, by state, in the one shape of details', () => {
    const error = new SeatsNotBlockableError([5, 2], [3]);
    expect(error.details).toEqual({
      seatIds: [2, 3, 5],
      held: [2, 5],
      sold: [3],
      truncated: false,
      heldCount: 2,
      soldCount: 1,
    });
    expect(error.message).toBe(
      'seats held or sold cannot be blocked: 2, 3, 5 (nothing blocked; onlyFree: true blocks the others)',
    );
  });

  it('names at most MAX_UNBLOCKABLE_LISTED seats (the lowest), with the counts of all', () => {
    const held = Array.from({ length: 150 }, (_, i) => 2 * i + 1);
    const sold = Array.from({ length: 150 }, (_, i) => 2 * i + 2);
    const error = new SeatsNotBlockableError(held, sold);
    const listed = Array.from({ length: MAX_UNBLOCKABLE_LISTED }, (_, i) => i + 1);
    expect(error.details).toEqual({
      seatIds: listed,
      held: listed.filter((id) => id % 2 === 1),
      sold: listed.filter((id) => id % 2 === 0),
      truncated: true,
      heldCount: 150,
      soldCount: 150,
    });
    expect(error.message).toMatch(/^seats held or sold cannot be blocked: 300 seats, the first 100: 1, 2, /);
  });
});

describe('SeatsUnavailableError', () => {
  it("names the caller's own holds of the seats, and nothing more without any", () => {
    expect(new SeatsUnavailableError([7, 8])).toMatchObject({
      message: 'seats not available: 7, 8',
      details: { seatIds: [7, 8] },
    });
    expect(new SeatsUnavailableError([7, 8]).details).not.toHaveProperty('heldByYou');
    const one = new SeatsUnavailableError([7], [{ reservationId: 'h1', seatIds: [7] }]);
    expect(one.message).toBe('seats not available: 7 (already in your hold h1)');
    expect(one.details).toEqual({ seatIds: [7], heldByYou: [{ reservationId: 'h1', seatIds: [7] }] });
    const some = new SeatsUnavailableError(
      [7, 8, 9],
      [
        { reservationId: 'h1', seatIds: [7] },
        { reservationId: 'h2', seatIds: [9] },
      ],
    );
    expect(some.message).toBe('seats not available: 7, 8, 9 (already yours: 7 in your hold h1; 9 in your hold h2)');
  });
});

describe('QueueTicketEndedError', () => {
  it.each([
    ['LEFT', 'you left the queue'],
    ['DROPPED', 'it dropped out of the line (not polled in time)'],
    ['EXPIRED', 'its admission slot expired'],
    ['DONE', 'its session ended with a purchase'],
  ] as const)('says why the ticket ended: %s', (endReason, why) => {
    const error = new QueueTicketEndedError('t1', endReason);
    expect(error).toMatchObject({
      kind: 'conflict',
      code: 'QueueTicketEnded',
      message: `queue ticket has already ended: ${why}`,
      details: { ticketId: 't1', endReason },
    });
  });
});
