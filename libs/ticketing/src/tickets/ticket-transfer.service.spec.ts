import { Logger } from '@nestjs/common';
import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import type {
  AcceptResult,
  CancelTransferResult,
  DeclineTransferResult,
  OfferResult,
  TicketRecord,
  TicketsRepository,
  TicketTransferRecord,
  TicketTransfersRepository,
} from '@app/database';
import { TicketStatus, TicketTransferStatus } from '@app/database';
import { FakeClock } from '@app/testing';
import { NotFoundError, PerformanceCanceledError } from '../errors';
import type { DeadAcceptMarks } from '../purchases/dead-accept-marks';
import type { CheckInStore } from './check-in.store';
import type { TicketCodes } from './ticket-codes';
import type { CheckInMarkResult } from './ticket-scripts';
import { heldTicket, TRANSFER_MARK_LIFETIME_SECONDS, TicketTransferService } from './ticket-transfer.service';
import {
  PerformanceStartedError,
  TicketCanceledError,
  TicketCheckedInError,
  TooManyTransferOffersError,
  TransferNotPendingError,
  TransferPendingError,
  TransferToSelfError,
} from './ticket.errors';

const TRANSFER = '6c1f9a6e-2f1b-4d8e-9c3a-1b2c3d4e5f60';
const NOW = Date.parse('2026-12-05T12:00:00Z');
const ticket = { ticketId: '11', purchaseId: 'p1', performanceId: 7, seatId: 3, codeVersion: 0 };
const transfer: TicketTransferRecord = {
  id: TRANSFER,
  ticketId: '11',
  senderId: 'buyer',
  recipientEmail: 'friend@example.test',
  status: TicketTransferStatus.Pending,
  createdAt: new Date(NOW),
  expiresAt: new Date(NOW + 72 * 3_600_000),
  acceptedAt: null,
  canceledAt: null,
  declinedAt: null,
  cancelReason: null,
};

function service(
  options: {
    offer?: OfferResult;
    accept?: AcceptResult | Error;
    cancel?: CancelTransferResult;
    decline?: DeclineTransferResult;
    target?: (typeof ticket & { pending: boolean }) | null;
    mark?: CheckInMarkResult;
    /** DeadAcceptMarks.takeBack fails with it (PostgreSQL or Redis unreachable). */
    takeBackFails?: Error;
    /** UnmarkTransfer fails with it (Redis unreachable). */
    unmarkFails?: Error;
    canceledInRedis?: boolean;
    transferredSeats?: number[];
    heldRows?: TicketRecord[];
    /** Purchases CANCELED in Redis, as CheckInStore.canceledAmong answers. */
    canceledPurchases?: string[];
  } = {},
) {
  const transfers = {
    offer: vi.fn(async () => options.offer ?? { outcome: 'CREATED', transfer, ticket }),
    acceptTarget: vi.fn(async () => (options.target === undefined ? { ...ticket, pending: true } : options.target)),
    accept: vi.fn(async () => {
      const result = options.accept ?? { outcome: 'ACCEPTED', transfer, ticket: { ...ticket, codeVersion: 1 } };
      if (result instanceof Error) throw result;
      return result;
    }),
    cancel: vi.fn(async () => options.cancel ?? { outcome: 'CANCELED', transfer }),
    decline: vi.fn(async () => options.decline ?? { outcome: 'DECLINED', transfer }),
    listFor: vi.fn(async () => [] as TicketTransferRecord[]),
  };
  const heldRecord: TicketRecord = {
    ...ticket,
    status: TicketStatus.Active,
    section: 'A',
    row: 1,
    rowLabel: 'A',
    number: 3,
    checkedInAt: null,
    holderId: null,
  };
  const tickets = {
    locate: vi.fn(async () => ({ purchaseId: 'p1', performanceId: 7, seatId: 3 })),
    heldBy: vi.fn(async () => options.heldRows ?? [heldRecord]),
    transferredSeatIds: vi.fn(async () => options.transferredSeats ?? []),
  };
  const marks = {
    ticketCanceled: vi.fn(async () => options.canceledInRedis ?? false),
    canceledAmong: vi.fn(async () => (purchaseId: string) => options.canceledPurchases?.includes(purchaseId) ?? false),
    markTransfer: vi.fn(async () => options.mark ?? ({ outcome: 'MARKED', added: true } as const)),
    unmarkTransfer: vi.fn(async () => {
      if (options.unmarkFails) throw options.unmarkFails;
    }),
  };
  const codes = { sign: vi.fn(() => 'signed') };
  const deadMarks = {
    takeBack: vi.fn(async (): Promise<number[]> => {
      if (options.takeBackFails) throw options.takeBackFails;
      return [3];
    }),
  };
  const subject = new TicketTransferService(
    transfers as unknown as TicketTransfersRepository,
    tickets as unknown as TicketsRepository,
    marks as unknown as CheckInStore,
    codes as unknown as TicketCodes,
    new FakeClock(NOW),
    { TICKET_TRANSFER_OFFER_HOURS: 72, TICKET_TRANSFER_OFFERS_PER_HOUR: 10 } as Env,
    deadMarks as unknown as DeadAcceptMarks,
  );
  return { subject, transfers, tickets, marks, codes, deadMarks };
}

describe('TicketTransferService', () => {
  describe('offer', () => {
    it('offers with the address folded for matching, the TTL from the setting and the clock', async () => {
      const { subject, transfers } = service();
      expect(await subject.offer('buyer', '11', 'straße@example.test')).toBe(transfer);
      expect(transfers.offer).toHaveBeenCalledWith(
        expect.objectContaining({
          ticketId: '11',
          senderId: 'buyer',
          recipientEmail: 'straße@example.test',
          recipientEmailKey: 'strasse@example.test',
          now: new Date(NOW),
          ttlMs: 72 * 3_600_000,
          maxOffersPerHour: 10,
          maxOffersToAddressPerHour: 30,
          offersToAddressPerSender: 3,
        }),
      );
    });

    it.each([
      [{ outcome: 'NOT_FOUND' }, NotFoundError],
      [{ outcome: 'SELF' }, TransferToSelfError],
      [{ outcome: 'TICKET_CANCELED' }, TicketCanceledError],
      [{ outcome: 'CHECKED_IN' }, TicketCheckedInError],
      [{ outcome: 'PERFORMANCE_CANCELED' }, PerformanceCanceledError],
      [{ outcome: 'PERFORMANCE_STARTED' }, PerformanceStartedError],
      [{ outcome: 'PENDING' }, TransferPendingError],
      [{ outcome: 'TOO_MANY_OFFERS' }, TooManyTransferOffersError],
    ] as [OfferResult, new (...args: never[]) => Error][])('maps %o to its refusal', async (offer, error) => {
      const { subject } = service({ offer });
      await expect(subject.offer('buyer', '11', 'friend@example.test')).rejects.toBeInstanceOf(error);
    });

    it('refuses a ticket whose purchase is canceled only in Redis so far, without writing an offer', async () => {
      const { subject, transfers } = service({ canceledInRedis: true });
      await expect(subject.offer('buyer', '11', 'friend@example.test')).rejects.toBeInstanceOf(TicketCanceledError);
      expect(transfers.offer).not.toHaveBeenCalled();
      // Not the caller's: 404, nothing told about it.
      await expect(subject.offer('stranger', '12', 'friend@example.test')).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('accept', () => {
    it('marks the seat in Redis before PostgreSQL records the accept, and keeps the mark', async () => {
      const { subject, transfers, marks } = service();
      expect(await subject.accept('friend', TRANSFER)).toBe(transfer);
      // The mark names its transfer, so only this accept's take-back removes it.
      expect(marks.markTransfer).toHaveBeenCalledWith(
        7,
        'p1',
        { seatId: 3, transferId: TRANSFER },
        TRANSFER_MARK_LIFETIME_SECONDS,
      );
      expect(marks.markTransfer.mock.invocationCallOrder[0]).toBeLessThan(transfers.accept.mock.invocationCallOrder[0]);
      expect(marks.unmarkTransfer).not.toHaveBeenCalled();
    });

    it('answers 404 for anyone but the confirmed recipient, and for a malformed id, marking nothing', async () => {
      const { subject, marks } = service({ target: null });
      await expect(subject.accept('stranger', TRANSFER)).rejects.toBeInstanceOf(NotFoundError);
      await expect(subject.accept('friend', 'nope')).rejects.toBeInstanceOf(NotFoundError);
      expect(marks.markTransfer).not.toHaveBeenCalled();
    });

    it('marks nothing for a transfer no longer pending: PostgreSQL answers it with its status', async () => {
      const { subject, transfers, marks } = service({
        target: { ...ticket, pending: false },
        accept: { outcome: 'NOT_PENDING', status: TicketTransferStatus.Canceled, cancelReason: null },
      });
      await expect(subject.accept('friend', TRANSFER)).rejects.toMatchObject({ code: 'TransferCanceled' });
      expect(transfers.acceptTarget).toHaveBeenCalledWith(TRANSFER, 'friend', new Date(NOW));
      expect(transfers.accept).toHaveBeenCalledWith(TRANSFER, 'friend', new Date(NOW));
      expect(marks.markTransfer).not.toHaveBeenCalled();
      expect(marks.unmarkTransfer).not.toHaveBeenCalled();
    });

    it('refuses a purchase canceled in Redis, or a canceled performance, without asking PostgreSQL', async () => {
      for (const [mark, error] of [
        [{ outcome: 'CANCELED' }, TicketCanceledError],
        [{ outcome: 'PERFORMANCE_CANCELED' }, PerformanceCanceledError],
      ] as const) {
        const { subject, transfers } = service({ mark });
        await expect(subject.accept('friend', TRANSFER)).rejects.toBeInstanceOf(error);
        expect(transfers.accept).not.toHaveBeenCalled();
      }
    });

    it.each([
      [{ outcome: 'NOT_PENDING', status: TicketTransferStatus.Canceled, cancelReason: null }, TransferNotPendingError],
      [{ outcome: 'TICKET_CANCELED' }, TicketCanceledError],
      [{ outcome: 'CHECKED_IN' }, TicketCheckedInError],
      [{ outcome: 'NOT_FOUND' }, NotFoundError],
    ] as [AcceptResult, new (...args: never[]) => Error][])(
      'takes its own mark back (the mark of its transfer) when PostgreSQL refuses (%o)',
      async (accept, error) => {
        const { subject, marks } = service({ accept });
        await expect(subject.accept('friend', TRANSFER)).rejects.toBeInstanceOf(error);
        expect(marks.unmarkTransfer).toHaveBeenCalledWith(7, 'p1', { seatId: 3, transferId: TRANSFER });
      },
    );

    it('leaves a mark it did not set, or one an accept that won stands behind, and after a database error too', async () => {
      const notOurs = service({
        mark: { outcome: 'MARKED', added: false },
        accept: { outcome: 'NOT_PENDING', status: TicketTransferStatus.Accepted, cancelReason: null },
      });
      await expect(notOurs.subject.accept('friend', TRANSFER)).rejects.toBeInstanceOf(TransferNotPendingError);
      expect(notOurs.marks.unmarkTransfer).not.toHaveBeenCalled();
      const won = service({
        accept: { outcome: 'NOT_PENDING', status: TicketTransferStatus.Accepted, cancelReason: null },
        transferredSeats: [3],
      });
      await expect(won.subject.accept('friend', TRANSFER)).rejects.toMatchObject({ code: 'TransferAccepted' });
      expect(won.marks.unmarkTransfer).not.toHaveBeenCalled();
      const failed = service({ accept: new Error('connection reset') });
      await expect(failed.subject.accept('friend', TRANSFER)).rejects.toThrow('connection reset');
      expect(failed.marks.unmarkTransfer).toHaveBeenCalledTimes(1);
    });
  });

  it("cancels the sender's transfer; 404 for anyone else, 409 with the status once settled", async () => {
    expect(await service().subject.cancel('buyer', TRANSFER)).toBe(transfer);
    await expect(
      service({ cancel: { outcome: 'NOT_FOUND' } }).subject.cancel('friend', TRANSFER),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      service({ cancel: { outcome: 'NOT_PENDING', status: TicketTransferStatus.Expired } }).subject.cancel(
        'buyer',
        TRANSFER,
      ),
    ).rejects.toMatchObject({ code: 'TransferExpired', details: { status: 'EXPIRED' } });
  });

  it("declines the recipient's transfer with the clock's now; 404 for anyone else or a bad id, 409 with the status once settled", async () => {
    const { subject, transfers, marks } = service();
    expect(await subject.decline('friend', TRANSFER)).toBe(transfer);
    expect(transfers.decline).toHaveBeenCalledWith(TRANSFER, 'friend', new Date(NOW));
    // A pending offer marks nothing in Redis: nothing is marked by a decline.
    expect(marks.markTransfer).not.toHaveBeenCalled();
    await expect(service().subject.decline('friend', 'not-a-uuid')).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      service({ decline: { outcome: 'NOT_FOUND' } }).subject.decline('buyer', TRANSFER),
    ).rejects.toBeInstanceOf(NotFoundError);
    for (const [status, code, message] of [
      [TicketTransferStatus.Declined, 'TransferDeclined', 'transfer is no longer pending: it was declined'],
      [TicketTransferStatus.Accepted, 'TransferAccepted', 'transfer is no longer pending: it was accepted already'],
      [TicketTransferStatus.Canceled, 'TransferCanceled', 'transfer is no longer pending: it was canceled'],
      [TicketTransferStatus.Expired, 'TransferExpired', 'transfer is no longer pending: it expired'],
    ] as const) {
      await expect(
        service({ decline: { outcome: 'NOT_PENDING', status } }).subject.decline('friend', TRANSFER),
      ).rejects.toMatchObject({ code, message, details: { status } });
    }
  });

  it.each(['cancel', 'decline'] as const)(
    'once a %s settled the transfer, takes back the dead accept marks of its ticket; a failure changes no answer',
    async (settle) => {
      const by = settle === 'cancel' ? 'buyer' : 'friend';
      const settled = service();
      expect(await settled.subject[settle](by, TRANSFER)).toBe(transfer);
      expect(settled.deadMarks.takeBack).toHaveBeenCalledWith({ transferId: TRANSFER });

      // The transfer is settled in PostgreSQL either way: a take-back that fails changes no answer.
      const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      try {
        const failing = service({ takeBackFails: new Error('connection reset') });
        expect(await failing.subject[settle](by, TRANSFER)).toBe(transfer);
        expect(warn).toHaveBeenCalledWith(expect.stringContaining('(connection reset)'));
      } finally {
        warn.mockRestore();
      }

      const refused = service({ [settle]: { outcome: 'NOT_FOUND' } });
      await expect(refused.subject[settle](by, TRANSFER)).rejects.toBeInstanceOf(NotFoundError);
      expect(refused.deadMarks.takeBack).not.toHaveBeenCalled();
    },
  );

  it('lists held tickets with the code of their current version, and refuses a cursor it did not write', async () => {
    const { subject, codes } = service();
    const page = await subject.held('buyer', undefined, 20);
    expect(page).toEqual({
      items: [expect.objectContaining({ ticketId: '11', code: 'signed', received: false })],
      nextCursor: null,
    });
    expect(codes.sign).toHaveBeenCalledWith(expect.objectContaining({ codeVersion: 0 }));
    await expect(subject.held('buyer', 'eyJ0IjoiMDEifQ', 20)).rejects.toMatchObject({ code: 'InvalidCursor' });
    await expect(subject.list('buyer', 'eyJ0IjoiMSJ9', 20)).rejects.toMatchObject({ code: 'InvalidCursor' });
  });

  it("lists a ticket whose purchase is canceled only in Redis CANCELED, without a code; asks Redis once, of the page's ACTIVE purchases", async () => {
    const row = (
      ticketId: string,
      purchaseId: string,
      status: TicketStatus,
      holderId: string | null,
    ): TicketRecord => ({
      ticketId,
      purchaseId,
      performanceId: purchaseId === 'p3' ? 8 : 7,
      seatId: Number(ticketId),
      codeVersion: holderId ? 1 : 0,
      status,
      section: 'A',
      row: 1,
      rowLabel: 'A',
      number: Number(ticketId),
      checkedInAt: null,
      holderId,
    });
    const { subject, marks, codes } = service({
      heldRows: [
        row('14', 'p1', TicketStatus.Active, null),
        row('13', 'p1', TicketStatus.Active, null),
        row('12', 'p2', TicketStatus.Canceled, null),
        row('11', 'p3', TicketStatus.Active, 'buyer'),
      ],
      canceledPurchases: ['p1', 'p2'],
    });
    const page = await subject.held('buyer', undefined, 20);
    expect(marks.canceledAmong).toHaveBeenCalledTimes(1);
    // The page's ACTIVE tickets: a partial refund voids some tickets of a purchase, not all.
    const asked = (marks.canceledAmong.mock.calls[0] as unknown as [TicketRecord[]])[0];
    expect(asked.map(({ ticketId, purchaseId }) => [ticketId, purchaseId])).toEqual([
      ['14', 'p1'],
      ['13', 'p1'],
      ['11', 'p3'],
    ]);
    expect(page.items.map(({ ticketId, status, code, received }) => ({ ticketId, status, code, received }))).toEqual([
      { ticketId: '14', status: 'CANCELED', code: null, received: false },
      { ticketId: '13', status: 'CANCELED', code: null, received: false },
      { ticketId: '12', status: 'CANCELED', code: null, received: false },
      { ticketId: '11', status: 'ACTIVE', code: 'signed', received: true },
    ]);
    expect(codes.sign).toHaveBeenCalledTimes(1);
    expect(codes.sign).toHaveBeenCalledWith(expect.objectContaining({ ticketId: '11', codeVersion: 1 }));
  });

  describe('heldTicket: either store saying CANCELED decides (every combination)', () => {
    const codes = { sign: () => 'signed' };
    const base = { ...ticket, section: 'A', row: 1, rowLabel: 'A', number: 3, checkedInAt: null };
    it.each([
      // PostgreSQL's status, canceled in Redis, holder → status, code, received
      [TicketStatus.Active, false, null, 'ACTIVE', 'signed', false],
      [TicketStatus.Active, true, null, 'CANCELED', null, false],
      [TicketStatus.Canceled, false, null, 'CANCELED', null, false],
      [TicketStatus.Canceled, true, null, 'CANCELED', null, false],
      [TicketStatus.Active, false, 'friend', 'ACTIVE', 'signed', true],
      [TicketStatus.Active, true, 'friend', 'CANCELED', null, true],
      [TicketStatus.Canceled, false, 'friend', 'CANCELED', null, true],
      [TicketStatus.Canceled, true, 'friend', 'CANCELED', null, true],
    ] as const)(
      '%s in PostgreSQL, canceled in Redis %s, holder %s → %s',
      (status, inRedis, holderId, shown, code, received) => {
        const held = heldTicket({ ...base, status, holderId }, 'friend', inRedis, codes);
        expect(held).toMatchObject({ status: shown, code, received, ticketId: '11' });
        expect(held).not.toHaveProperty('holderId');
        expect(held).not.toHaveProperty('codeVersion');
      },
    );
  });
});
