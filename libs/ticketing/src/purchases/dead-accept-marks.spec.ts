import { describe, expect, it, vi } from 'vitest';
import type { AcceptUnreachableSeats, TicketTransfersRepository } from '@app/database';
import { DeadAcceptMarks } from './dead-accept-marks';
import type { PurchaseStore } from './purchase.store';

function deadAcceptMarks(unreachable: AcceptUnreachableSeats | null) {
  const transfers = { seatsNoAcceptCanReach: vi.fn(async () => unreachable) };
  const store = { unmarkTransfers: vi.fn(async () => {}) };
  const subject = new DeadAcceptMarks(
    transfers as unknown as TicketTransfersRepository,
    store as unknown as PurchaseStore,
  );
  return { subject, transfers, store };
}

describe('DeadAcceptMarks', () => {
  it('takes back the marks of the seats no accept can reach, in one call, and answers them', async () => {
    const { subject, transfers, store } = deadAcceptMarks({ performanceId: 7, purchaseId: 'p1', seatIds: [1, 3] });
    expect(await subject.takeBack({ purchaseId: 'p1', seatIds: [1, 2, 3] })).toEqual([1, 3]);
    expect(transfers.seatsNoAcceptCanReach).toHaveBeenCalledWith({ purchaseId: 'p1', seatIds: [1, 2, 3] });
    expect(store.unmarkTransfers).toHaveBeenCalledWith(7, 'p1', [1, 3]);
  });

  it('takes nothing back while an accept stands or may come', async () => {
    const { subject, store } = deadAcceptMarks(null);
    expect(await subject.takeBack({ transferId: 't1' })).toEqual([]);
    expect(store.unmarkTransfers).not.toHaveBeenCalled();
  });
});
