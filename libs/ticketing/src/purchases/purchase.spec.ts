import { describe, expect, it } from 'vitest';
import {
  newestFirst,
  Purchase,
  purchaseFromRecord,
  purchaseToRecord,
  seatIdsFromList,
  seatsFromLists,
} from './purchase';

const PURCHASE: Purchase = {
  id: '7a1d9c3e-5b2f-4e8a-9c0d-1e2f3a4b5c6d',
  reservationId: '0b6f3a52-8d1e-4c4a-9a57-2f1b3c4d5e6f',
  userId: '11111111-2222-4333-8444-555555555555',
  performanceId: 42,
  seatIds: [3, 7, 12],
  amount: 123450,
  currency: 'EUR',
  status: 'PAID',
  createdAt: new Date(1_800_000_000_123),
  canceledAt: null,
  chargeId: 'ch_1',
  refundedSeatIds: [],
  refundedAmount: 0,
};

describe('purchase records', () => {
  it('round-trips through the hash fields the scripts write', () => {
    const record = purchaseToRecord(PURCHASE);
    expect(record).toMatchObject({ amount: '123450', currency: 'EUR', seats: '3,7,12', createdAt: '1800000000123' });
    expect(record).not.toHaveProperty('canceledAt');
    expect(purchaseFromRecord(record)).toEqual(PURCHASE);

    const canceled = { ...PURCHASE, status: 'CANCELED' as const, canceledAt: new Date(1_800_000_500_000) };
    expect(purchaseFromRecord(purchaseToRecord(canceled))).toEqual(canceled);
  });

  it('lists seats in ascending order, as numbers', () => {
    expect(seatIdsFromList('12,3,7')).toEqual([3, 7, 12]);
  });

  it('keeps each seat with its price when it sorts the seats; a record without prices has none', () => {
    expect(seatsFromLists('12,3,7', '900,500,700')).toEqual({ seatIds: [3, 7, 12], seatPrices: [500, 700, 900] });
    expect(seatsFromLists('12,3', '')).toEqual({ seatIds: [3, 12] });
    expect(seatsFromLists('12,3', undefined)).toEqual({ seatIds: [3, 12] });
    const priced = { ...PURCHASE, seatPrices: [40000, 40000, 43450] };
    expect(purchaseToRecord(priced)).toMatchObject({ prices: '40000,40000,43450' });
    expect(purchaseFromRecord(purchaseToRecord(priced))).toEqual(priced);
    expect(purchaseToRecord(PURCHASE)).not.toHaveProperty('prices');
  });

  it('orders newest first, then by id descending for the same millisecond', () => {
    const at = (ms: number, id: string) => ({ createdAt: new Date(ms), id });
    const sorted = [at(1, 'a'), at(2, 'a'), at(2, 'b'), at(0, 'z')].sort(newestFirst);
    expect(sorted).toEqual([at(2, 'b'), at(2, 'a'), at(1, 'a'), at(0, 'z')]);
  });
});
