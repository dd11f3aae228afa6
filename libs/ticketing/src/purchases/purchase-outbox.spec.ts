import { describe, expect, it } from 'vitest';
import { PurchaseRecord, PurchaseStatus } from '@app/database';
import { parsePurchaseCompleted } from '@app/messaging/contracts';
import { withCompletedMessages } from './purchase-outbox';

const record: PurchaseRecord = {
  id: '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f',
  reservationId: '1c7a4f6e-7e3d-4b54-8e66-3a1c1d2e3f40',
  userId: '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  performanceId: 7,
  seatIds: [11, 12],
  amount: 1050,
  currency: 'KRW',
  chargeId: 'ch-1',
  status: PurchaseStatus.Paid,
  createdAt: new Date('2026-11-25T12:00:00.000Z'),
  canceledAt: null,
};

describe('withCompletedMessages', () => {
  it('gives each purchase its purchase-completed row, which the consumer’s contract reads back', () => {
    const [ready] = withCompletedMessages([record]);
    expect(ready).toMatchObject(record);
    expect(ready.completed.messageId).toBe(`purchase-completed:${record.id}`);
    expect(ready.completed.routingKey).toBe('purchase.completed');
    expect(parsePurchaseCompleted(Buffer.from(JSON.stringify(ready.completed.payload)))).toEqual({
      purchaseId: record.id,
      userId: record.userId,
      performanceId: 7,
      seatIds: [11, 12],
      amount: 1050,
      currency: 'KRW',
      createdAt: '2026-11-25T12:00:00.000Z',
    });
  });
});
