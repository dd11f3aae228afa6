import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import type { DomainError } from '@app/core';
import { FakeClock } from '@app/testing';
import { CheckInResult, PerformanceRepository, TicketRecord, TicketsRepository, TicketStatus } from '@app/database';
import { NotFoundError, PerformanceCanceledError } from '../errors';
import type { Purchase } from '../purchases/purchase';
import type { PurchaseReader } from '../purchases/purchase-reader';
import { CheckInStore } from './check-in.store';
import type { TicketCodes } from './ticket-codes';
import type { CheckInMarkResult } from './ticket-scripts';
import {
  CheckInClosedError,
  CheckInNotOpenError,
  TicketAlreadyCheckedInError,
  TicketCanceledError,
  TicketForAnotherPerformanceError,
  TicketNotWrittenYetError,
  TicketsNotIssuedError,
  TicketTransferredError,
} from './ticket.errors';
import { CHECK_IN_MARK_LIFETIME_SECONDS, TicketService } from './ticket.service';

const identity = { ticketId: '11', purchaseId: 'p1', performanceId: 7, seatId: 3, codeVersion: 0 };
const seat = { section: 'A', row: 1, rowLabel: 'A', number: 3 };
const record = (status: TicketStatus, checkedInAt: Date | null = null): TicketRecord => ({
  ...identity,
  ...seat,
  status,
  checkedInAt,
  holderId: null,
});
/** A ticket as the buyer's list shows it: without its holder and code version. */
const listed = (status: TicketStatus) => {
  const { holderId: _holder, codeVersion: _version, ...rest } = record(status);
  return rest;
};
const checkedInAt = new Date('2026-12-02T15:00:00Z');
/** `checkedInAt` on the venue's clock (Berlin, +01:00), as "already checked in" names it. */
const CHECKED_IN_LOCALLY = 'Wed 2026-12-02 16:00 UTC+01:00 (Europe/Berlin)';
/** The door's account that checked it in. */
const GATE_2 = { id: 'gate-2-id', email: 'gate-2@arena.example', name: 'Gate 2' };
/** Performance 7 starts on Saturday 2026-12-05 at 20:00 in Berlin (+01:00). */
const STARTS_AT = new Date('2026-12-05T19:00:00Z');
const HOUR_MS = 3_600_000;

function service(
  options: {
    purchase?: Partial<Purchase>;
    persisted?: TicketRecord[] | null;
    mark?: CheckInMarkResult;
    result?: CheckInResult | Error;
    checkedInBefore?: Date | null;
    /** The row's code version (0 unless transferred). */
    codeVersion?: number;
    /** The ticket's status in PostgreSQL (default ACTIVE); null = no such ticket. */
    ticketStatus?: TicketStatus | null;
    /** Its purchase is CANCELED in Redis (default not): a cancellation PostgreSQL may not have yet. */
    canceledInRedis?: boolean;
    /** The Clock's now; default an hour before the start (doors open). */
    now?: Date;
    /** The sale time (epoch ms) Redis has for a sale not written yet (CheckInStore.saleAwaitingWrite); default none. */
    soldAtInRedis?: number;
    performanceStatus?: string;
    /** CHECK_IN_WAIT_FOR_SALE_SECONDS (default 0: no wait). */
    waitForSaleSeconds?: number;
  } = {},
) {
  const purchase = { performanceId: 7, seatIds: [3], status: 'PAID', userId: 'buyer', ...options.purchase };
  const purchases = { get: vi.fn(async () => purchase) };
  const tickets = {
    ofPurchase: vi.fn(async () =>
      options.persisted === null
        ? null
        : { userId: 'buyer', tickets: options.persisted ?? [record(TicketStatus.Active)] },
    ),
    seatsOf: vi.fn(async () => [{ seatId: 3, ...seat }]),
    doorState: vi.fn(async () =>
      options.ticketStatus === null
        ? null
        : {
            status: options.ticketStatus ?? TicketStatus.Active,
            checkedInAt: options.checkedInBefore ?? null,
            checkedInBy: options.checkedInBefore ? GATE_2 : null,
            codeVersion: options.codeVersion ?? 0,
          },
    ),
    checkIn: vi.fn(async () => {
      const result = options.result ?? {
        outcome: 'CHECKED_IN',
        ticket: record(TicketStatus.Active, checkedInAt),
        holder: { name: 'Buyer', email: 'buyer@example.com' },
      };
      if (result instanceof Error) throw result;
      return result;
    }),
  };
  const codes = { sign: vi.fn(() => 'signed'), verify: vi.fn(() => identity) };
  const marks = {
    mark: vi.fn(async () => options.mark ?? { outcome: 'MARKED' as const, added: true }),
    unmark: vi.fn(async () => undefined),
    ticketCanceled: vi.fn(async () => options.canceledInRedis ?? false),
    saleAwaitingWrite: vi.fn(async () => options.soldAtInRedis ?? null),
  };
  const env = {
    PURCHASE_FLUSH_AGE_SECONDS: 5,
    CHECK_IN_OPENS_BEFORE_MINUTES: 180,
    CHECK_IN_CLOSES_AFTER_MINUTES: 240,
    CHECK_IN_WAIT_FOR_SALE_SECONDS: options.waitForSaleSeconds ?? 0,
  } as Env;
  const performance = {
    id: 7,
    startsAt: STARTS_AT,
    timeZone: 'Europe/Berlin',
    status: options.performanceStatus ?? 'ON_SALE',
  };
  const performances = {
    findById: vi.fn(async (id: number) => (id === 404 ? null : id === 7 ? performance : { id })),
  };
  const clock = new FakeClock((options.now ?? new Date(STARTS_AT.getTime() - HOUR_MS)).getTime());
  const subject = new TicketService(
    tickets as unknown as TicketsRepository,
    codes as unknown as TicketCodes,
    purchases as unknown as PurchaseReader,
    marks as unknown as CheckInStore,
    env,
    performances as unknown as PerformanceRepository,
    clock,
  );
  return { subject, tickets, marks, codes };
}

describe('TicketService', () => {
  describe('ticketsOf', () => {
    it('lists a ticket transferred to someone else TRANSFERRED, without a code; one transferred back with it', async () => {
      const { subject, codes } = service({
        persisted: [{ ...record(TicketStatus.Active), holderId: 'friend', codeVersion: 1 }],
      });
      expect(await subject.ticketsOf('buyer', 'p1')).toEqual([
        { ...listed(TicketStatus.Active), status: 'TRANSFERRED', code: null },
      ]);
      expect(codes.sign).not.toHaveBeenCalled();
      const back = service({ persisted: [{ ...record(TicketStatus.Active), holderId: 'buyer', codeVersion: 2 }] });
      expect(await back.subject.ticketsOf('buyer', 'p1')).toEqual([{ ...listed(TicketStatus.Active), code: 'signed' }]);
      expect(back.codes.sign).toHaveBeenCalledWith(expect.objectContaining({ codeVersion: 2 }));
    });

    it('gives the written tickets with their signed codes', async () => {
      const { subject } = service();
      expect(await subject.ticketsOf('buyer', 'p1')).toEqual([{ ...listed(TicketStatus.Active), code: 'signed' }]);
    });

    it('answers TicketsNotIssued, retry after the flush age, while the purchase is not written yet', async () => {
      const { subject } = service({ persisted: null });
      const refusal = subject.ticketsOf('buyer', 'p1');
      await expect(refusal).rejects.toBeInstanceOf(TicketsNotIssuedError);
      await expect(refusal).rejects.toThrow('retry in 6 s');
    });

    it('lists written tickets CANCELED without codes once the purchase is canceled, also only in Redis', async () => {
      const { subject, codes } = service({ purchase: { status: 'CANCELED' } });
      expect(await subject.ticketsOf('buyer', 'p1')).toEqual([{ ...listed(TicketStatus.Canceled), code: null }]);
      expect(codes.sign).not.toHaveBeenCalled();
    });

    it('lists the seats of a purchase canceled before it was written, CANCELED and without ids', async () => {
      const { subject } = service({ purchase: { status: 'CANCELED' }, persisted: null });
      expect(await subject.ticketsOf('buyer', 'p1')).toEqual([
        {
          ticketId: null,
          purchaseId: 'p1',
          performanceId: 7,
          seatId: 3,
          ...seat,
          status: TicketStatus.Canceled,
          checkedInAt: null,
          code: null,
        },
      ]);
    });
  });

  describe('checkIn', () => {
    it('marks the seat in Redis before PostgreSQL records the check-in with the same scan token, and keeps the mark', async () => {
      const { subject, marks, tickets } = service();
      const admitted = await subject.checkIn('code', 'staff');
      expect(admitted).toMatchObject({ holder: { name: 'Buyer' }, checkedInAt });
      expect(marks.mark).toHaveBeenCalledWith(
        7,
        'p1',
        expect.objectContaining({ seatId: 3, codeVersion: 0, token: expect.stringMatching(/^[A-Za-z0-9_-]{12}$/) }),
        CHECK_IN_MARK_LIFETIME_SECONDS,
      );
      const token = (marks.mark.mock.calls[0] as unknown as [number, string, { token: string }])[2].token;
      expect(tickets.checkIn).toHaveBeenCalledWith(
        identity,
        'staff',
        { at: new Date(STARTS_AT.getTime() - HOUR_MS), opensBeforeMinutes: 180, closesAfterMinutes: 240 },
        token,
      );
      // Every scan has a token of its own.
      await subject.checkIn('code', 'staff');
      expect((marks.mark.mock.calls[1] as unknown as [number, string, { token: string }])[2].token).not.toBe(token);
      expect(marks.mark.mock.invocationCallOrder[0]).toBeLessThan(tickets.checkIn.mock.invocationCallOrder[0]);
      expect(marks.unmark).not.toHaveBeenCalled();
    });

    it("refuses a ticket at another performance's door (409), but at a door naming no performance says so (404)", async () => {
      const { subject, marks } = service();
      await expect(subject.checkIn('code', 'staff', 8)).rejects.toBeInstanceOf(TicketForAnotherPerformanceError);
      await expect(subject.checkIn('code', 'staff', 404)).rejects.toBeInstanceOf(NotFoundError);
      expect(marks.mark).not.toHaveBeenCalled();
      await expect(subject.checkIn('code', 'staff', 7)).resolves.toMatchObject({ checkedInAt });
    });

    it('refuses a code from before a transfer (PostgreSQL: another code version) and takes its mark back', async () => {
      const { subject, marks } = service({ result: { outcome: 'TRANSFERRED' } });
      await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(TicketTransferredError);
      expect(marks.unmark).toHaveBeenCalledWith(7, 'p1', expect.objectContaining({ seatId: 3, codeVersion: 0 }));
    });

    it('refuses a code from before a transfer whose purchase was canceled since (Redis), before "already checked in"', async () => {
      const { subject } = service({ mark: { outcome: 'CANCELED' }, checkedInBefore: checkedInAt, codeVersion: 1 });
      await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(TicketTransferredError);
    });

    it('refuses a code from before a transfer outside the window, before anything else of the ticket', async () => {
      const { subject, marks } = service({ now: new Date(STARTS_AT.getTime() + 24 * HOUR_MS), codeVersion: 2 });
      await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(TicketTransferredError);
      expect(marks.mark).not.toHaveBeenCalled();
    });

    it('refuses a ticket whose purchase was canceled in Redis, without asking PostgreSQL to check it in', async () => {
      const { subject, tickets } = service({ mark: { outcome: 'CANCELED' } });
      await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(TicketCanceledError);
      expect(tickets.checkIn).not.toHaveBeenCalled();
    });

    it('refuses a ticket of a canceled performance, without asking PostgreSQL to check it in', async () => {
      const { subject, tickets } = service({ mark: { outcome: 'PERFORMANCE_CANCELED' } });
      await expect(subject.checkIn('code', 'staff')).rejects.toThrow('performance 7 has been canceled');
      expect(tickets.checkIn).not.toHaveBeenCalled();
    });

    it('answers "already checked in" for a seat checked in before its purchase was canceled', async () => {
      const { subject } = service({ mark: { outcome: 'CANCELED' }, checkedInBefore: checkedInAt });
      await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(TicketAlreadyCheckedInError);
    });

    it.each([
      ['CANCELED', { outcome: 'CANCELED' }, TicketCanceledError],
      ['NOT_FOUND', { outcome: 'NOT_FOUND' }, NotFoundError],
      ['PERFORMANCE_CANCELED', { outcome: 'PERFORMANCE_CANCELED' }, PerformanceCanceledError],
    ] as const)('takes its own mark back when PostgreSQL answers %s', async (_, result, error) => {
      const { subject, marks } = service({ result });
      await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(error);
      expect(marks.unmark).toHaveBeenCalledWith(7, 'p1', expect.objectContaining({ seatId: 3, codeVersion: 0 }));
    });

    it('answers a genuine code of a sale Redis has and PostgreSQL not yet TicketNotWrittenYet, Retry-After until its flush is due and a pass', async () => {
      const now = new Date(STARTS_AT.getTime() - HOUR_MS);
      const { subject, marks } = service({
        result: { outcome: 'NOT_FOUND' },
        now,
        soldAtInRedis: now.getTime() - 2_500,
      });
      const refusal = await subject.checkIn('code', 'staff').catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(TicketNotWrittenYetError);
      // Due 2.5 s from now (flush age 5 s): 3 s, and one more for the flusher's pass.
      expect((refusal as TicketNotWrittenYetError).retryAfterSeconds).toBe(4);
      expect(marks.saleAwaitingWrite).toHaveBeenCalledWith(7, 'p1', 3);
      expect(marks.unmark).toHaveBeenCalled();
      const overdue = service({ result: { outcome: 'NOT_FOUND' }, now, soldAtInRedis: now.getTime() - 60_000 });
      const late = await overdue.subject.checkIn('code', 'staff').catch((error: unknown) => error);
      expect((late as TicketNotWrittenYetError).retryAfterSeconds).toBe(1);
    });

    it('waits, within CHECK_IN_WAIT_FOR_SALE_SECONDS, for the write of a sale not written yet, then admits it as a written ticket', async () => {
      const now = new Date(STARTS_AT.getTime() - HOUR_MS);
      const { subject, tickets, marks } = service({
        now,
        soldAtInRedis: now.getTime() - 2_500,
        waitForSaleSeconds: 10,
      });
      // Not written at the first try and the first look; the flush writes it meanwhile.
      tickets.checkIn.mockResolvedValueOnce({ outcome: 'NOT_FOUND' });
      tickets.doorState.mockResolvedValueOnce(null);
      const admitted = await subject.checkIn('code', 'staff');
      expect(admitted.checkedInAt).toEqual(checkedInAt);
      expect(tickets.checkIn).toHaveBeenCalledTimes(2);
      // The first try's mark taken back; the second's stands with the check-in.
      expect(marks.unmark).toHaveBeenCalledTimes(1);
    });

    it('stops waiting for a sale refunded or canceled meanwhile: the refusal a written ticket gets', async () => {
      const now = new Date(STARTS_AT.getTime() - HOUR_MS);
      const { subject, tickets, marks } = service({ now, ticketStatus: null, waitForSaleSeconds: 10 });
      tickets.checkIn.mockResolvedValueOnce({ outcome: 'NOT_FOUND' });
      marks.saleAwaitingWrite.mockResolvedValueOnce(now.getTime() - 1_000).mockResolvedValue(null);
      marks.mark.mockResolvedValueOnce({ outcome: 'MARKED', added: true }).mockResolvedValue({ outcome: 'CANCELED' });
      await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(TicketCanceledError);
    });

    it('never leaves an ended wait for later scans to join: a wait whose deadline passed before its first look', async () => {
      const now = new Date(STARTS_AT.getTime() - HOUR_MS);
      const { subject, tickets } = service({
        now,
        soldAtInRedis: now.getTime() - 2_500,
        waitForSaleSeconds: 10,
      });
      tickets.checkIn.mockResolvedValueOnce({ outcome: 'NOT_FOUND' });
      // The shared wait's loop reads the clock once past every deadline as it starts (the scan's
      // budget ran out between its own check and the wait's): that wait ends at once, unpolled.
      const realNow = performance.now.bind(performance);
      let skipped = false;
      const clock = vi.spyOn(performance, 'now').mockImplementation(() => {
        if (!skipped && new Error().stack?.includes('saleWritten')) {
          skipped = true;
          return realNow() + 60_000;
        }
        return realNow();
      });
      try {
        // The scan waits again with a wait of its own, which looks and finds the row written.
        const admitted = await subject.checkIn('code', 'staff');
        expect(admitted.checkedInAt).toEqual(checkedInAt);
        expect(skipped).toBe(true);
        expect(tickets.doorState).toHaveBeenCalled();
      } finally {
        clock.mockRestore();
      }
    });

    it('answers TicketNotWrittenYet once the wait passes its bound, and does not wait for a write due after it', async () => {
      const now = new Date(STARTS_AT.getTime() - HOUR_MS);
      const bounded = service({
        result: { outcome: 'NOT_FOUND' },
        now,
        soldAtInRedis: now.getTime() - 60_000,
        ticketStatus: null,
        waitForSaleSeconds: 1,
      });
      await expect(bounded.subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(TicketNotWrittenYetError);
      expect(bounded.tickets.doorState).toHaveBeenCalled();
      // Due in 4 s, the bound 2 s: refused at once, no look for the row.
      const later = service({
        result: { outcome: 'NOT_FOUND' },
        now,
        soldAtInRedis: now.getTime() - 2_500,
        ticketStatus: null,
        waitForSaleSeconds: 2,
      });
      await expect(later.subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(TicketNotWrittenYetError);
      expect(later.tickets.doorState).not.toHaveBeenCalled();
    });

    it('answers a genuine code of a sale not written yet, scanned outside the window, with the window refusal', async () => {
      const early = new Date(STARTS_AT.getTime() - 5 * HOUR_MS);
      const { subject } = service({ ticketStatus: null, now: early, soldAtInRedis: early.getTime() - 1_000 });
      await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(CheckInNotOpenError);
    });

    it('takes its own mark back when PostgreSQL fails, and passes the failure on', async () => {
      const { subject, marks } = service({ result: new Error('connection lost') });
      await expect(subject.checkIn('code', 'staff')).rejects.toThrow('connection lost');
      expect(marks.unmark).toHaveBeenCalledWith(7, 'p1', expect.objectContaining({ seatId: 3, codeVersion: 0 }));
    });

    it('leaves the mark of a concurrent scan of the same seat when PostgreSQL refuses', async () => {
      const { subject, marks } = service({
        mark: { outcome: 'MARKED', added: false },
        result: { outcome: 'CANCELED' },
      });
      await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(TicketCanceledError);
      expect(marks.unmark).not.toHaveBeenCalled();
    });

    it('takes its own mark back and answers "already checked in", with when, after the first check-in', async () => {
      const { subject, marks } = service({
        result: { outcome: 'ALREADY_CHECKED_IN', checkedInAt, checkedInBy: GATE_2 },
      });
      await expect(subject.checkIn('code', 'staff')).rejects.toThrow(
        `already checked in at ${CHECKED_IN_LOCALLY} by Gate 2 (gate-2@arena.example)`,
      );
      // The check-in that stands has a mark of its own (its scan's token): only this scan's goes.
      expect(marks.unmark).toHaveBeenCalledWith(7, 'p1', (marks.mark.mock.calls[0] as unknown[])[2]);
    });

    it.each([
      [
        'PostgreSQL answers ALREADY_CHECKED_IN',
        { result: { outcome: 'ALREADY_CHECKED_IN', checkedInAt, checkedInBy: GATE_2 } },
      ],
      ['its purchase was canceled since (Redis)', { mark: { outcome: 'CANCELED' }, checkedInBefore: checkedInAt }],
      [
        'it is scanned after the window',
        { now: new Date(STARTS_AT.getTime() + 6 * HOUR_MS), checkedInBefore: checkedInAt },
      ],
    ] as const)(
      "names when it was checked in on the venue's clock, with the offset, and by which door's account, when %s; details as the API writes instants",
      async (_, options) => {
        const refusal = await service(options)
          .subject.checkIn('code', 'staff')
          .catch((error: unknown) => error);
        expect(refusal).toBeInstanceOf(TicketAlreadyCheckedInError);
        expect((refusal as TicketAlreadyCheckedInError).message).toBe(
          `already checked in at ${CHECKED_IN_LOCALLY} by Gate 2 (gate-2@arena.example)`,
        );
        expect((refusal as TicketAlreadyCheckedInError).details).toEqual({
          checkedInAt: '2026-12-02T15:00:00.000Z',
          checkedInBy: GATE_2,
        });
      },
    );

    it('says the account that checked it in is gone when it was deleted since', async () => {
      const { subject } = service({ result: { outcome: 'ALREADY_CHECKED_IN', checkedInAt, checkedInBy: null } });
      const refusal = (await subject.checkIn('code', 'staff').catch((error: unknown) => error)) as DomainError;
      expect(refusal.message).toBe(`already checked in at ${CHECKED_IN_LOCALLY} (by an account since deleted)`);
      expect(refusal.details).toEqual({ checkedInAt: '2026-12-02T15:00:00.000Z', checkedInBy: null });
    });
  });

  describe('checkIn outside the window', () => {
    const at = (offsetMs: number) => new Date(STARTS_AT.getTime() + offsetMs);

    it.each([
      ['3 h before the start (doors open)', -3 * HOUR_MS],
      ['at the start', 0],
      ['1 ms before check-in closes', 4 * HOUR_MS - 1],
    ])('admits %s', async (_, offset) => {
      const { subject } = service({ now: at(offset) });
      await expect(subject.checkIn('code', 'staff')).resolves.toMatchObject({ checkedInAt });
    });

    it.each([
      ['a day early', -24 * HOUR_MS, CheckInNotOpenError],
      ['1 ms before doors open', -3 * HOUR_MS - 1, CheckInNotOpenError],
      ['when check-in closes, 4 h after the start', 4 * HOUR_MS, CheckInClosedError],
      ['the next day', 24 * HOUR_MS, CheckInClosedError],
    ])('refuses %s without marking or writing anything', async (_, offset, error) => {
      const { subject, marks, tickets } = service({ now: at(offset) });
      await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(error);
      expect(marks.mark).not.toHaveBeenCalled();
      expect(tickets.checkIn).not.toHaveBeenCalled();
    });

    it("names the performance's start on the venue's clock, with the weekday, and the window", async () => {
      const { subject } = service({ now: at(-24 * HOUR_MS) });
      const refusal = await subject.checkIn('code', 'staff').catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(CheckInNotOpenError);
      expect((refusal as CheckInNotOpenError).message).toBe(
        'check-in has not opened: this ticket is for the performance on Sat 2026-12-05 20:00 UTC+01:00 (Europe/Berlin); ' +
          'its doors open at 2026-12-05T17:00:00+01:00',
      );
      expect((refusal as CheckInNotOpenError).details).toEqual({
        reason: 'NOT_OPEN',
        performanceId: 7,
        startsAt: '2026-12-05T20:00:00+01:00',
        timeZone: 'Europe/Berlin',
        checkInOpensAt: '2026-12-05T17:00:00+01:00',
        checkInClosesAt: '2026-12-06T00:00:00+01:00',
      });
      const closed = await service({ now: at(5 * HOUR_MS) })
        .subject.checkIn('code', 'staff')
        .catch((error: unknown) => error);
      expect((closed as CheckInClosedError).message).toBe(
        'check-in has closed: this ticket is for the performance on Sat 2026-12-05 20:00 UTC+01:00 (Europe/Berlin); ' +
          'its check-in closed at 2026-12-06T00:00:00+01:00',
      );
      expect((closed as CheckInClosedError).details).toMatchObject({ reason: 'CLOSED' });
    });

    it('still answers "already checked in", with when, for a used ticket scanned after the window', async () => {
      const { subject, marks } = service({ now: at(6 * HOUR_MS), checkedInBefore: checkedInAt });
      await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(TicketAlreadyCheckedInError);
      expect(marks.mark).not.toHaveBeenCalled();
    });

    it('answers "performance canceled" for a canceled performance, whatever the time', async () => {
      const { subject } = service({ now: at(-24 * HOUR_MS), performanceStatus: 'CANCELED' });
      await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(PerformanceCanceledError);
    });

    it('refuses a ticket for another door before the window is looked at', async () => {
      const { subject } = service({ now: at(-24 * HOUR_MS) });
      await expect(subject.checkIn('code', 'staff', 8)).rejects.toBeInstanceOf(TicketForAnotherPerformanceError);
    });

    it.each([
      ['refunded or canceled', { ticketStatus: TicketStatus.Canceled }, TicketCanceledError],
      ['no longer existing', { ticketStatus: null }, NotFoundError],
      [
        'checked in before it was canceled',
        { ticketStatus: TicketStatus.Canceled, checkedInBefore: checkedInAt },
        TicketAlreadyCheckedInError,
      ],
      ['canceled only in Redis so far (not flushed)', { canceledInRedis: true }, TicketCanceledError],
      [
        'checked in before it was canceled, only in Redis so far',
        { canceledInRedis: true, checkedInBefore: checkedInAt },
        TicketAlreadyCheckedInError,
      ],
    ] as const)(
      'answers a ticket %s as inside the window, before the window refusal, on either side of it',
      async (_, ticket, error) => {
        for (const offset of [-24 * HOUR_MS, 24 * HOUR_MS]) {
          const { subject, marks, tickets } = service({ now: at(offset), ...ticket });
          await expect(subject.checkIn('code', 'staff')).rejects.toBeInstanceOf(error);
          expect(tickets.doorState).toHaveBeenCalledTimes(1);
          expect(marks.mark).not.toHaveBeenCalled();
        }
      },
    );

    it('names CLOSED when a PATCH shrank the window (not the start) during the scan', async () => {
      // 1 h after the start: OPEN for the read settings (240 after); a PATCH of
      // checkInClosesAfterMinutes to 0 commits before PostgreSQL's UPDATE, which refuses and
      // answers the window it applied.
      const { subject } = service({
        now: at(HOUR_MS),
        result: { outcome: 'OUTSIDE_WINDOW', startsAt: STARTS_AT, opensAt: at(-3 * HOUR_MS), closesAt: STARTS_AT },
      });
      const refusal = await subject.checkIn('code', 'staff').catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(CheckInClosedError);
      expect((refusal as CheckInClosedError).details).toMatchObject({
        reason: 'CLOSED',
        checkInClosesAt: '2026-12-05T20:00:00+01:00',
      });
    });

    it('takes its mark back when PostgreSQL finds the start moved out of reach (a PATCH meanwhile)', async () => {
      const movedTo = new Date(STARTS_AT.getTime() + 24 * HOUR_MS);
      const { subject, marks } = service({
        result: {
          outcome: 'OUTSIDE_WINDOW',
          startsAt: movedTo,
          opensAt: new Date(movedTo.getTime() - 3 * HOUR_MS),
          closesAt: new Date(movedTo.getTime() + 4 * HOUR_MS),
        },
      });
      const refusal = await subject.checkIn('code', 'staff').catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(CheckInNotOpenError);
      expect((refusal as CheckInNotOpenError).details).toMatchObject({ startsAt: '2026-12-06T20:00:00+01:00' });
      expect(marks.unmark).toHaveBeenCalledWith(7, 'p1', expect.objectContaining({ seatId: 3, codeVersion: 0 }));
    });
  });
});
