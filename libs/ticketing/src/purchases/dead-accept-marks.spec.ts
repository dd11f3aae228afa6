import { describe, expect, it, vi } from 'vitest';
import type { AcceptMarkScope, AcceptUnreachableSeats, TicketTransfersRepository } from '@app/database';
import { DeadAcceptMarks } from './dead-accept-marks';
import type { PurchaseStore } from './purchase.store';
import type { TransferMark } from '../tickets/ticket-scripts';

/**
 * A DeadAcceptMarks whose PostgreSQL answers `unreachable` in turn (the candidates, then the check
 * of the marked seats) and whose Redis holds `marks`.
 */
function deadAcceptMarks(unreachable: (AcceptUnreachableSeats | null)[], marks: TransferMark[] = []) {
  const answers = [...unreachable];
  const transfers = { seatsNoAcceptCanReach: vi.fn(async (_scope: AcceptMarkScope) => answers.shift() ?? null) };
  const store = {
    transferMarks: vi.fn(async (_performanceId: number, _purchaseId: string, seatIds: readonly number[]) =>
      marks.filter((mark) => seatIds.includes(mark.seatId)),
    ),
    unmarkTransfers: vi.fn(async (_performanceId: number, _purchaseId: string, taken: readonly TransferMark[]) =>
      taken.map((mark) => mark.seatId),
    ),
  };
  const subject = new DeadAcceptMarks(
    transfers as unknown as TicketTransfersRepository,
    store as unknown as PurchaseStore,
  );
  return { subject, transfers, store };
}

const seats = (...seatIds: number[]): AcceptUnreachableSeats => ({ performanceId: 7, purchaseId: 'p1', seatIds });

describe('DeadAcceptMarks', () => {
  it('reads the marks of the unreachable seats, checks those again, and takes back exactly the marks read', async () => {
    const marks = [
      { seatId: 1, transferId: 't1' },
      { seatId: 3, transferId: null },
    ];
    const { subject, transfers, store } = deadAcceptMarks([seats(1, 2, 3), seats(1, 3)], marks);
    expect(await subject.takeBack({ purchaseId: 'p1', seatIds: [1, 2, 3] })).toEqual([1, 3]);
    expect(transfers.seatsNoAcceptCanReach.mock.calls).toEqual([
      [{ purchaseId: 'p1', seatIds: [1, 2, 3] }],
      [{ purchaseId: 'p1', seatIds: [1, 3] }],
    ]);
    expect(store.transferMarks).toHaveBeenCalledWith(7, 'p1', [1, 2, 3]);
    // Read before the second check: after it, the seats are PostgreSQL's to say again.
    expect(store.transferMarks.mock.invocationCallOrder[0]).toBeLessThan(
      transfers.seatsNoAcceptCanReach.mock.invocationCallOrder[1],
    );
    expect(store.unmarkTransfers).toHaveBeenCalledWith(7, 'p1', marks);
  });

  it('keeps the mark of a seat an offer reached between the two checks', async () => {
    const marks = [
      { seatId: 1, transferId: 't1' },
      { seatId: 2, transferId: 't2' },
    ];
    const { subject, store } = deadAcceptMarks([seats(1, 2), seats(2)], marks);
    expect(await subject.takeBack({ transferId: 't1' })).toEqual([2]);
    expect(store.unmarkTransfers).toHaveBeenCalledWith(7, 'p1', [{ seatId: 2, transferId: 't2' }]);
  });

  it('answers what Redis took back: a mark a newer accept set since the read is not among them', async () => {
    const { subject, store } = deadAcceptMarks([seats(1), seats(1)], [{ seatId: 1, transferId: 't1' }]);
    store.unmarkTransfers.mockResolvedValueOnce([]);
    expect(await subject.takeBack({ transferId: 't1' })).toEqual([]);
  });

  it('takes nothing back while an accept stands or may come, or when no seat is marked', async () => {
    for (const [unreachable, marks] of [
      [[null], [{ seatId: 1, transferId: 't1' }]],
      [[seats(1)], []],
      [[seats(1), null], [{ seatId: 1, transferId: 't1' }]],
    ] as [(AcceptUnreachableSeats | null)[], TransferMark[]][]) {
      const { subject, store } = deadAcceptMarks(unreachable, marks);
      expect(await subject.takeBack({ transferId: 't1' })).toEqual([]);
      expect(store.unmarkTransfers).not.toHaveBeenCalled();
    }
  });
});
