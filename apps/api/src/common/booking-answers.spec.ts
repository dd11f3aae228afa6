import { describe, expect, it } from 'vitest';
import { formatLocalDateTime } from '@app/ticketing';
import type { BookingDetails, Described, Hold, Purchase } from '@app/ticketing';
import { mapPurchase } from '../purchases/purchase.dto';
import { mapReservation } from '../reservations/reservation.dto';

const details: BookingDetails = {
  eventTitle: 'IU 2027 — Seoul "live"',
  venue: 'Olympic Stadium',
  timeZone: 'Asia/Seoul',
  startsAt: new Date('2027-03-01T10:30:00.000Z'),
  seats: [
    {
      id: 12,
      position: 12,
      section: 'Floor',
      row: 1,
      rowLabel: 'A',
      number: 12,
      grade: 'VIP',
      price: 220000,
      currency: 'KRW',
    },
    {
      id: 7,
      position: 7,
      section: 'Floor',
      row: 1,
      rowLabel: 'A',
      number: 7,
      grade: 'VIP',
      price: 220000,
      currency: 'KRW',
    },
  ],
  presale: null,
};

/** The answers' fields as the mappers built them before (details spread first): the bytes to keep. */
function detailFields(d: BookingDetails) {
  return {
    eventTitle: d.eventTitle,
    venue: d.venue,
    timeZone: d.timeZone,
    startsAt: d.startsAt.toISOString(),
    startsAtLocal: formatLocalDateTime(d.startsAt, d.timeZone),
    seats: d.seats.map((seat) => ({
      seatId: seat.id,
      section: seat.section,
      row: seat.row,
      rowLabel: seat.rowLabel,
      number: seat.number,
      grade: seat.grade,
      price: seat.price,
    })),
  };
}

describe('booking answers', () => {
  it.each([null, new Date('2027-01-02T03:04:05.678Z')])('a purchase (canceledAt %s) keeps its bytes', (canceledAt) => {
    const purchase: Described<Purchase> = {
      id: '7a1d9c3e-5b2f-8e8a-9c0d-1e2f3a4b5c6d',
      reservationId: '0b6f3a52-8d1e-8c4a-9a57-2f1b3c4d5e6f',
      userId: '11111111-2222-4333-8444-555555555555',
      performanceId: 42,
      seatIds: [7, 12],
      amount: 440000,
      currency: 'KRW',
      status: canceledAt ? 'CANCELED' : 'PAID',
      createdAt: new Date('2026-12-01T16:00:00.123Z'),
      canceledAt,
      chargeId: 'ch_1',
      refundedSeatIds: [],
      refundedAmount: 0,
      details,
    };
    expect(JSON.stringify(mapPurchase(purchase))).toBe(
      JSON.stringify({
        ...detailFields(details),
        id: purchase.id,
        reservationId: purchase.reservationId,
        performanceId: 42,
        seatIds: [7, 12],
        amount: 440000,
        currency: 'KRW',
        status: purchase.status,
        createdAt: '2026-12-01T16:00:00.123Z',
        // Added with comps (complimentary tickets): false for a purchase the buyer made.
        comp: false,
        // Added with box office sales: where it was sold, and how the window was paid (none online).
        saleChannel: 'ONLINE',
        paymentMethod: null,
        // Added with purchases' presales: none here (a sale of the general on-sale).
        presale: null,
        // Added with partial refunds (an operator refunds some seats): none here.
        refundedSeatIds: [],
        refundedAmount: 0,
        ...(canceledAt ? { canceledAt: canceledAt.toISOString() } : {}),
      }),
    );
  });

  it("names a presale purchase's presale, and leaves a presale's details out of a hold's answer", () => {
    const presale = { id: '12', name: 'Fan club' };
    const purchase: Described<Purchase> = {
      id: '7a1d9c3e-5b2f-8e8a-9c0d-1e2f3a4b5c6d',
      reservationId: '0b6f3a52-8d1e-8c4a-9a57-2f1b3c4d5e6f',
      userId: '11111111-2222-4333-8444-555555555555',
      performanceId: 42,
      seatIds: [7, 12],
      amount: 440000,
      currency: 'KRW',
      status: 'PAID',
      createdAt: new Date('2026-12-01T16:00:00.123Z'),
      canceledAt: null,
      chargeId: 'ch_1',
      refundedSeatIds: [],
      refundedAmount: 0,
      presaleId: '12',
      details: { ...details, presale },
    };
    const answer = mapPurchase(purchase);
    expect(answer.presale).toEqual(presale);
    // A copy, not the details' object: the answer never shares state with the describer's.
    expect(answer.presale).not.toBe(presale);
    expect(mapPurchase({ ...purchase, details: { ...details, presale: { id: '12', name: null } } }).presale).toEqual({
      id: '12',
      name: null,
    });
    const hold: Described<Hold> = {
      id: '0b6f3a52-8d1e-8c4a-9a57-2f1b3c4d5e6f',
      performanceId: 42,
      userId: '11111111-2222-4333-8444-555555555555',
      seatIds: [12, 7],
      amount: 440000,
      currency: 'KRW',
      status: 'HELD',
      expiresAt: new Date('2026-12-01T16:10:00.000Z'),
      details: { ...details, presale },
    };
    expect(mapReservation(hold)).not.toHaveProperty('presale');
  });

  it.each([undefined, 'TOGETHER' as const])('a hold (arrangement %s) keeps its bytes', (arrangement) => {
    const hold: Described<Hold> = {
      id: '0b6f3a52-8d1e-8c4a-9a57-2f1b3c4d5e6f',
      performanceId: 42,
      userId: '11111111-2222-4333-8444-555555555555',
      seatIds: [12, 7],
      amount: 440000,
      currency: 'KRW',
      status: 'HELD',
      expiresAt: new Date('2026-12-01T16:10:00.000Z'),
      ...(arrangement ? { arrangement } : {}),
      details,
    };
    expect(JSON.stringify(mapReservation(hold))).toBe(
      JSON.stringify({
        ...detailFields(details),
        id: hold.id,
        performanceId: 42,
        seatIds: [12, 7],
        status: 'HELD',
        amount: 440000,
        currency: 'KRW',
        expiresAt: '2026-12-01T16:10:00.000Z',
        ...(arrangement ? { arrangement } : {}),
      }),
    );
  });
});
