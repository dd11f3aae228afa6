import { describe, expect, it } from 'vitest';
import { MalformedMessageError, parsePurchaseCompleted, purchaseCompletedMessageId } from './purchase-completed';

const valid = {
  purchaseId: '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f',
  userId: '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  performanceId: 7,
  seatIds: [11, 12],
  amount: 1050,
  currency: 'KRW',
  createdAt: '2026-11-25T12:00:00.000Z',
};

const encode = (body: unknown) => Buffer.from(JSON.stringify(body));

describe('purchase-completed contract', () => {
  it('reads a valid message', () => {
    expect(parsePurchaseCompleted(encode(valid))).toEqual(valid);
  });

  it('names the message after its purchase', () => {
    expect(purchaseCompletedMessageId(valid.purchaseId)).toBe(`purchase-completed:${valid.purchaseId}`);
  });

  it.each([
    ['not JSON', Buffer.from('{nope')],
    ['an array', encode([valid])],
    ['a bad purchase id', encode({ ...valid, purchaseId: 'p-1' })],
    ['no seats', encode({ ...valid, seatIds: [] })],
    ['a fractional seat id', encode({ ...valid, seatIds: [1.5] })],
    ['a negative amount', encode({ ...valid, amount: -1 })],
    ['a fractional amount (not minor units)', encode({ ...valid, amount: 10.5 })],
    ['an amount past 2^53', encode({ ...valid, amount: 2 ** 53 })],
    ['no currency', encode({ ...valid, currency: undefined })],
    ['an unknown currency', encode({ ...valid, currency: 'XYZ' })],
    ['a lower-case currency', encode({ ...valid, currency: 'krw' })],
    ['a bad time', encode({ ...valid, createdAt: 'yesterday' })],
    ['a missing field', encode({ ...valid, performanceId: undefined })],
  ])('refuses %s', (_name, content) => {
    expect(() => parsePurchaseCompleted(content)).toThrow(MalformedMessageError);
  });
});
