import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import {
  PerformanceRepository,
  TicketCheckInState,
  TicketsRepository,
  TicketStatus,
  TransactionRunner,
} from '@app/database';
import { NotFoundError, PerformanceCanceledError } from '../errors';
import { CheckInStore } from './check-in.store';
import { CHECK_IN_UNDO_ACTION, CheckInUndo } from './check-in-undo';
import { CheckInUndoForbiddenError, TicketCanceledError, TicketNotCheckedInError } from './ticket.errors';
import type { UndoCheckInResult } from './ticket-scripts';

const checkedInAt = new Date('2026-12-05T18:42:07.318Z');
const DOOR = { id: 'staff-1', email: 'door-1@example.com', admin: false };
const ADMIN = { id: 'admin-1', email: 'admin@example.com', admin: true };

function state(overrides: Partial<TicketCheckInState> = {}, checkIn: Partial<TicketCheckInState['checkIn']> = {}) {
  return {
    ticket: {
      ticketId: '11',
      purchaseId: 'p1',
      performanceId: 7,
      seatId: 3,
      codeVersion: 0,
      status: TicketStatus.Active,
      section: 'A',
      row: 1,
      rowLabel: 'A',
      number: 3,
      checkedInAt,
      holderId: null,
    },
    purchaseCanceled: false,
    performanceCanceled: false,
    checkIn: {
      at: checkedInAt,
      byId: DOOR.id,
      byEmail: DOOR.email,
      byName: 'Gate 1',
      identity: 'tok',
      markToken: 'tok',
      withinStaffWindow: true,
      ...checkIn,
    },
    ...overrides,
  } as TicketCheckInState;
}

function undo(read: TicketCheckInState | null, options: { cleared?: boolean; redis?: UndoCheckInResult } = {}) {
  const manager = { query: vi.fn(async () => []) };
  const tickets = {
    checkInOf: vi.fn(async () => read),
    clearCheckIn: vi.fn(async () => options.cleared ?? true),
  };
  const marks = { undo: vi.fn(async () => options.redis ?? ({ outcome: 'UNDONE' } as const)) };
  const transactions = { run: vi.fn(async (work: (m: typeof manager) => Promise<unknown>) => work(manager)) };
  const performances = { findById: vi.fn(async () => ({ timeZone: 'Europe/Berlin' })) };
  const subject = new CheckInUndo(
    tickets as unknown as TicketsRepository,
    marks as unknown as CheckInStore,
    transactions as unknown as TransactionRunner,
    performances as unknown as PerformanceRepository,
    { CHECK_IN_UNDO_MINUTES: 10 } as Env,
  );
  return { subject, tickets, marks, manager, transactions };
}

describe('CheckInUndo', () => {
  it('clears the check-in, records the audit row, then takes its Redis mark back, all in one transaction', async () => {
    const { subject, tickets, marks, manager } = undo(state());
    const undone = await subject.undo(DOOR, '11');
    expect(undone).toMatchObject({
      ticket: { ticketId: '11', checkedInAt: null },
      undone: { checkedInAt, checkedInBy: { id: DOOR.id, email: DOOR.email } },
    });
    expect(tickets.checkInOf).toHaveBeenCalledWith('11', 10);
    expect(tickets.clearCheckIn).toHaveBeenCalledWith(manager, '11', 'tok');
    expect(manager.query).toHaveBeenCalledWith(expect.stringContaining('INSERT INTO admin_audit_log'), [
      DOOR.id,
      DOOR.email,
      CHECK_IN_UNDO_ACTION,
      'p1',
      expect.stringContaining('"checkedInAt":"2026-12-05T18:42:07.318Z"'),
    ]);
    expect(marks.undo).toHaveBeenCalledWith(
      7,
      'p1',
      expect.objectContaining({ seatId: 3, codeVersion: 0 }),
      expect.objectContaining({ identity: 'tok', markToken: 'tok' }),
      86_400,
    );
    // Redis last: the row is locked by the clear until the commit.
    expect(tickets.clearCheckIn.mock.invocationCallOrder[0]).toBeLessThan(marks.undo.mock.invocationCallOrder[0]);
  });

  it.each([
    ['no such ticket', null, NotFoundError],
    ['its purchase canceled in PostgreSQL', state({ purchaseCanceled: true }), TicketCanceledError],
    ['its performance canceled', state({ performanceCanceled: true }), PerformanceCanceledError],
    ['not checked in', state({ checkIn: null }), TicketNotCheckedInError],
  ] as const)('refuses %s before anything is written', async (_, read, error) => {
    const { subject, transactions, marks } = undo(read);
    await expect(subject.undo(ADMIN, '11')).rejects.toBeInstanceOf(error);
    expect(transactions.run).not.toHaveBeenCalled();
    expect(marks.undo).not.toHaveBeenCalled();
  });

  it("refuses a staff account someone else's check-in and its own past the window (403); an admin undoes both", async () => {
    for (const [read, reason] of [
      [state({}, { byId: 'staff-2' }), 'NOT_YOUR_CHECK_IN'],
      [state({}, { withinStaffWindow: false }), 'UNDO_WINDOW_PASSED'],
      [state({}, { byId: null }), 'NOT_YOUR_CHECK_IN'],
    ] as const) {
      const refused = undo(read);
      const error = await refused.subject.undo(DOOR, '11').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckInUndoForbiddenError);
      expect(error).toMatchObject({ details: { reason, undoMinutes: 10 } });
      expect((error as Error).message).toContain('Sat 2026-12-05 19:42:07 UTC+01:00 (Europe/Berlin)');
      expect(refused.transactions.run).not.toHaveBeenCalled();
      await expect(undo(read).subject.undo(ADMIN, '11')).resolves.toBeDefined();
    }
  });

  it('answers "undone meanwhile" when the check-in is no longer the one read, asking Redis nothing', async () => {
    const { subject, marks } = undo(state(), { cleared: false });
    await expect(subject.undo(ADMIN, '11')).rejects.toThrow('its check-in was undone meanwhile');
    expect(marks.undo).not.toHaveBeenCalled();
  });

  it.each([
    ['CANCELED', TicketCanceledError],
    ['PERFORMANCE_CANCELED', PerformanceCanceledError],
  ] as const)('rolls the clear back (throws inside the transaction) when Redis answers %s', async (outcome, error) => {
    const { subject, transactions } = undo(state(), { redis: { outcome } });
    await expect(subject.undo(ADMIN, '11')).rejects.toBeInstanceOf(error);
    await expect(transactions.run.mock.results[0].value).rejects.toBeInstanceOf(error);
  });
});
