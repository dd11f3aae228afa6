import { describe, expect, it } from 'vitest';
import { MalformedMessageError } from './purchase-completed';
import { PURCHASE_CANCELED_TYPE, toPurchaseCanceled } from './purchase-canceled';

const body = {
  type: PURCHASE_CANCELED_TYPE,
  purchaseId: '0B6F3F5E-6D2C-4A43-9D55-2F0B0C1D2E3F',
  canceledAt: '2026-12-01T10:00:00.000Z',
};

describe('purchase-canceled contract', () => {
  it.each(['buyer', 'operator', 'performance'] as const)('reads who canceled: %s', (canceledBy) => {
    expect(toPurchaseCanceled({ ...body, canceledBy })).toEqual({
      ...body,
      purchaseId: body.purchaseId.toLowerCase(),
      canceledBy,
    });
  });

  it('reads a message an older version wrote, without canceledBy, as it is', () => {
    expect(toPurchaseCanceled(body)).toEqual({ ...body, purchaseId: body.purchaseId.toLowerCase() });
    expect(toPurchaseCanceled(body)).not.toHaveProperty('canceledBy');
  });

  it('reads the seats a cancel kept sold; a message without them has none', () => {
    expect(toPurchaseCanceled({ ...body, canceledBy: 'operator', keptSeatIds: [4005, 4007] })).toEqual({
      ...body,
      purchaseId: body.purchaseId.toLowerCase(),
      canceledBy: 'operator',
      keptSeatIds: [4005, 4007],
    });
    expect(toPurchaseCanceled({ ...body, canceledBy: 'operator' })).not.toHaveProperty('keptSeatIds');
  });

  it.each([['4005'], [[0]], [['4005']], [[1.5]], [null]])('refuses keptSeatIds %j', (keptSeatIds) => {
    expect(() => toPurchaseCanceled({ ...body, keptSeatIds })).toThrow('keptSeatIds');
  });

  it.each([['someone'], [null], [1]])('refuses canceledBy %j', (canceledBy) => {
    expect(() => toPurchaseCanceled({ ...body, canceledBy })).toThrow(MalformedMessageError);
    expect(() => toPurchaseCanceled({ ...body, canceledBy })).toThrow('canceledBy');
  });
});
