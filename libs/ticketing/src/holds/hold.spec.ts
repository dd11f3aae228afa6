import { describe, expect, it } from 'vitest';
import { holdFromRecord } from './hold';

const record = {
  userId: 'alice',
  performanceId: '42',
  seats: '3,1,2',
  amount: '12050',
  currency: 'KRW',
  status: 'HELD',
  createdAt: '1000',
  expiresAt: '301000',
};

describe('holdFromRecord', () => {
  it('reads a live hold', () => {
    expect(holdFromRecord('h1', record, 300_999)).toEqual({
      id: 'h1',
      performanceId: 42,
      userId: 'alice',
      seatIds: [3, 1, 2],
      amount: 12050,
      currency: 'KRW',
      status: 'HELD',
      expiresAt: new Date(301_000),
    });
  });

  it('calls a HELD hold EXPIRED from its expiry on, before any sweep', () => {
    expect(holdFromRecord('h1', record, 301_000).status).toBe('EXPIRED');
  });

  it('keeps a finished status as stored', () => {
    expect(holdFromRecord('h1', { ...record, status: 'RELEASED' }, 0).status).toBe('RELEASED');
    expect(holdFromRecord('h1', { ...record, status: 'PURCHASED' }, 999_999).status).toBe('PURCHASED');
  });
});
