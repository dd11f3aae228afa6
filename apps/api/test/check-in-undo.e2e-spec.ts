import Redis from 'ioredis';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { TicketsRepository } from '@app/database';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { PurchaseStore } from '../../../libs/ticketing/src/purchases/purchase.store';
import { caller, createPerformance, doorsOpenNow, flushPurchases } from './purchase-helpers';
import { startTestApi } from './support/api';
import { buyTickets as buyTicketsOf, createStaffSession, startSecondApi } from './support/door';

interface TicketBody {
  id: string;
  seat: { id: number };
  code: string;
  checkedInAt: string | null;
}

/**
 * Undoing a check-in (`DELETE /check-in/:ticketId`) on real PostgreSQL and Redis, the door on a
 * second api instance: who may undo what, the refusals, the audit row, the ticket admitting again
 * once and its purchase cancelable again; and the races: undos against scans of one ticket, an undo
 * against a refund (keeping checked-in seats or not) and a cancel that read the check-in before
 * the undo.
 */
describe('undoing a check-in (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  /** A second api on the same database and Redis: the door. */
  let door: NestFastifyApplication;
  let admin: TestSession;
  let buyer: TestSession;
  let staff: TestSession;
  let otherStaff: TestSession;
  let call: ReturnType<typeof caller>;
  let performance: { id: number; seatIds: number[] };
  let db: Client;
  let nextSeat = 0;
  const seats = (count: number) => performance.seatIds.slice(nextSeat, (nextSeat += count));

  const buyTickets = (count: number) => buyTicketsOf<TicketBody>(api.app, buyer, performance.id, seats(count));

  const scan = (code: string, by = staff, app = door) =>
    caller(app)('POST', '/check-in', { body: { code, performanceId: performance.id }, session: by });
  const undo = (ticketId: string, by: TestSession, app = api.app) =>
    caller(app)('DELETE', `/check-in/${ticketId}`, { session: by });

  const staffSession = (email: string) => createStaffSession(api.app, admin, email);

  async function seatStatus(seatId: number): Promise<string> {
    for (let cursor: string | null = null; ;) {
      const page: { items: { id: number; status: string }[]; nextCursor: string | null } = (
        await call('GET', `/performances/${performance.id}/seats?limit=100${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      const seat = page.items.find((item) => item.id === seatId);
      if (seat) return seat.status;
      cursor = page.nextCursor;
      if (!cursor) throw new Error(`seat ${seatId} not listed`);
    }
  }

  /** The ticket's check-in in PostgreSQL and the Redis marks of its seat. */
  async function checkInState(purchaseId: string, ticket: TicketBody) {
    const {
      rows: [row],
    } = await db.query(
      'SELECT checked_in_at, checked_in_by, check_in_mark, code_version, status FROM tickets WHERE id = $1',
      [ticket.id],
    );
    const members = await api.app.get(Redis).smembers(performanceKeys(performance.id).checkedIn(purchaseId));
    return { row, marks: members.filter((member) => member.startsWith(`${ticket.seat.id}:`)) };
  }

  /**
   * The check-in as PostgreSQL has it and the Redis marks of its seat tell one story: checked in,
   * with exactly the mark of the scan PostgreSQL recorded; or not, with no mark. Returns whether it is.
   */
  async function expectMarksConsistent(purchaseId: string, ticket: TicketBody): Promise<boolean> {
    const { row, marks } = await checkInState(purchaseId, ticket);
    if (row.checked_in_at === null) {
      expect(marks, 'no mark of a ticket not checked in').toEqual([]);
      expect(row.check_in_mark).toBeNull();
      return false;
    }
    expect(marks, 'the mark of the scan PostgreSQL recorded, alone').toEqual([
      `${ticket.seat.id}:${row.code_version}:${row.check_in_mark}`,
    ]);
    return true;
  }

  beforeAll(async () => {
    api = await startTestApi({ PURCHASE_FLUSH_AGE_SECONDS: '0', DATABASE_ACQUIRE_TIMEOUT_MS: '30000' });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app, { name: 'Ada Lovelace' });
    performance = await createPerformance(api.app, admin, 300, doorsOpenNow());
    staff = await staffSession('door-1@example.test');
    otherStaff = await staffSession('door-2@example.test');
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    door = await startSecondApi(api);
  });
  afterAll(async () => {
    await db?.end();
    await door?.close();
    await api?.close();
  });

  it('lets the staff account that scanned undo it at once: the ticket admits again once, the purchase cancels again, the audit log tells', async () => {
    const { purchaseId, tickets } = await buyTickets(1);
    const [ticket] = tickets;
    const admitted = await scan(ticket.code);
    expect(admitted.statusCode, admitted.body).toBe(200);
    expect((await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer })).statusCode).toBe(409);

    const undone = await undo(ticket.id, staff, door);
    expect(undone.statusCode, undone.body).toBe(200);
    expect(undone.json()).toEqual({
      ticketId: ticket.id,
      purchaseId,
      performanceId: performance.id,
      seat: expect.objectContaining({ id: ticket.seat.id, section: 'Floor' }),
      checkedInAt: null,
      undoneCheckIn: { checkedInAt: admitted.json().checkedInAt, checkedInBy: { id: staff.id, email: staff.email } },
    });
    expect(await expectMarksConsistent(purchaseId, ticket)).toBe(false);
    const listed = await call('GET', `/purchases/${purchaseId}/tickets`, { session: buyer });
    expect(listed.json().items[0]).toMatchObject({ checkedInAt: null, status: 'ACTIVE', code: ticket.code });

    // Undone twice: nothing to undo.
    const again = await undo(ticket.id, admin);
    expect(again.statusCode, again.body).toBe(409);
    expect(again.json()).toMatchObject({ error: 'Conflict', message: expect.stringContaining('not checked in') });

    // The audit row: who undid it, the ticket, the purchase, and the check-in (when, by whom).
    const audit = await call('GET', `/admin/audit-log?purchaseId=${purchaseId}&action=check-in.undo`, {
      session: admin,
    });
    expect(audit.statusCode, audit.body).toBe(200);
    expect(audit.json().items).toEqual([
      expect.objectContaining({
        actorId: staff.id,
        actorEmail: staff.email,
        action: 'check-in.undo',
        subjectId: purchaseId,
        details: expect.objectContaining({
          ticketId: ticket.id,
          purchaseId,
          performanceId: performance.id,
          seatId: ticket.seat.id,
          checkedInAt: admitted.json().checkedInAt,
          checkedInById: staff.id,
          checkedInByEmail: staff.email,
        }),
      }),
    ]);
    const byPerformance = await call('GET', `/admin/audit-log?performanceId=${performance.id}&action=check-in.undo`, {
      session: admin,
    });
    expect(byPerformance.json().items.map((row: { subjectId: string }) => row.subjectId)).toContain(purchaseId);

    // The ticket admits again, once.
    expect((await scan(ticket.code, otherStaff)).statusCode).toBe(200);
    const third = await scan(ticket.code);
    expect(third.statusCode).toBe(409);
    expect(third.json().message).toContain('already checked in');
    expect(await expectMarksConsistent(purchaseId, ticket)).toBe(true);

    // Undone again (by an admin), the buyer may cancel: the seat is for sale again.
    expect((await undo(ticket.id, admin)).statusCode).toBe(200);
    const canceled = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
    expect(canceled.statusCode, canceled.body).toBe(200);
    expect(await seatStatus(ticket.seat.id)).toBe('AVAILABLE');
  });

  it("refuses a staff account someone else's check-in, and its own past CHECK_IN_UNDO_MINUTES (403); an admin undoes both", async () => {
    const { purchaseId, tickets } = await buyTickets(2);
    expect((await scan(tickets[0].code, otherStaff)).statusCode).toBe(200);
    expect((await scan(tickets[1].code, staff)).statusCode).toBe(200);

    const notYours = await undo(tickets[0].id, staff);
    expect(notYours.statusCode, notYours.body).toBe(403);
    expect(notYours.json()).toMatchObject({
      statusCode: 403,
      error: 'Forbidden',
      // Which account, the door that scanned it, so the admin knows whom to ask.
      message: expect.stringContaining(
        'made by another account, door-2 (door-2@example.test): a staff account may undo only its own; ask an admin',
      ),
      details: {
        reason: 'NOT_YOUR_CHECK_IN',
        undoMinutes: 10,
        checkedInBy: { id: otherStaff.id, email: 'door-2@example.test', name: 'door-2' },
      },
    });
    // Its own, 11 minutes later (the row's time moved back as if it had been).
    await db.query(`UPDATE tickets SET checked_in_at = checked_in_at - interval '11 minutes' WHERE id = $1`, [
      tickets[1].id,
    ]);
    const late = await undo(tickets[1].id, staff);
    expect(late.statusCode, late.body).toBe(403);
    expect(late.json()).toMatchObject({
      message: expect.stringContaining('is more than 10 minutes old'),
      details: { reason: 'UNDO_WINDOW_PASSED', undoMinutes: 10 },
    });
    // Nothing changed by the refusals.
    expect(await expectMarksConsistent(purchaseId, tickets[0])).toBe(true);
    expect(await expectMarksConsistent(purchaseId, tickets[1])).toBe(true);

    expect((await undo(tickets[0].id, admin)).statusCode).toBe(200);
    expect((await undo(tickets[1].id, admin)).statusCode).toBe(200);
    expect(await expectMarksConsistent(purchaseId, tickets[1])).toBe(false);
  });

  it('refuses a user (403), a bad id (400), an unknown ticket (404), one not checked in and a refunded one (409), changing nothing', async () => {
    const { purchaseId, tickets } = await buyTickets(2);
    expect((await undo(tickets[0].id, buyer)).statusCode).toBe(403);
    const malformed = await undo('01', admin);
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().message).toEqual([expect.stringContaining('ticketId must be a ticket id')]);
    const unknown = await undo('999999999999', admin);
    expect(unknown.statusCode, unknown.body).toBe(404);
    expect(unknown.json().message).toBe('ticket not found');
    const notCheckedIn = await undo(tickets[0].id, admin);
    expect(notCheckedIn.statusCode).toBe(409);
    expect(notCheckedIn.json().message).toBe('ticket is not checked in: there is no check-in to undo');

    // Refunded keeping the checked-in seat sold: the check-in stands (also before the refund is
    // written behind, and after).
    expect((await scan(tickets[0].code)).statusCode).toBe(200);
    const refunded = await call('POST', `/admin/purchases/${purchaseId}/refund`, {
      body: { resellCheckedInSeats: false },
      session: admin,
    });
    expect(refunded.statusCode, refunded.body).toBe(200);
    expect(refunded.json().keptSeatIds).toEqual([tickets[0].seat.id]);
    for (const when of ['before the flush', 'after the flush']) {
      const refused = await undo(tickets[0].id, admin);
      expect(refused.statusCode, when).toBe(409);
      expect(refused.json().message).toBe(
        'ticket is canceled (its purchase was canceled or refunded, or this seat refunded)',
      );
      expect((await checkInState(purchaseId, tickets[0])).row.checked_in_at, when).not.toBeNull();
      await flushPurchases(api.app);
    }
    expect(await seatStatus(tickets[0].seat.id)).toBe('SOLD');
  });

  it('a cancel that read the check-in from PostgreSQL before its undo does not count it (keeps no seat)', async () => {
    const { purchaseId, tickets } = await buyTickets(2);
    expect((await scan(tickets[0].code)).statusCode).toBe(200);
    // What a cancel reads first, then the undo, then the cancel's script with that stale read.
    const staleRead = await api.app.get(TicketsRepository).checkedInSeats(purchaseId);
    expect(staleRead.map((seat) => seat.seatId)).toEqual([tickets[0].seat.id]);
    expect((await undo(tickets[0].id, admin)).statusCode).toBe(200);
    const canceled = await api.app.get(PurchaseStore).cancel(performance.id, purchaseId, buyer.id, null, {
      mode: 'operator-keep-checked-in',
      checkedIn: staleRead,
    });
    expect(canceled).toMatchObject({ outcome: 'CANCELED', keptSeatIds: [] });
    expect(await seatStatus(tickets[0].seat.id)).toBe('AVAILABLE');
  });

  it('50 undos and scans of one ticket at once, across two api instances: they alternate, and PostgreSQL and Redis agree', async () => {
    for (let round = 0; round < 4; round++) {
      const { purchaseId, tickets } = await buyTickets(1);
      const [ticket] = tickets;
      expect((await scan(ticket.code)).statusCode).toBe(200);
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 === 0
            ? undo(ticket.id, admin, i % 4 === 0 ? api.app : door).then((r) => ({ kind: 'undo', r }))
            : scan(ticket.code, staff, i % 4 === 1 ? api.app : door).then((r) => ({ kind: 'scan', r })),
        ),
      );
      let undos = 0;
      let scans = 0;
      for (const { kind, r } of answers) {
        if (r.statusCode === 200) {
          if (kind === 'undo') undos++;
          else scans++;
          continue;
        }
        expect(r.statusCode, r.body).toBe(409);
        expect(r.json().message).toMatch(kind === 'undo' ? /^ticket is not checked in/ : /^already checked in/);
      }
      expect(undos, `round ${round}`).toBeGreaterThanOrEqual(1);
      // Checked in at the start: every admitted scan follows an undo.
      expect(undos - scans, `round ${round}: ${undos} undos, ${scans} scans`).toBeGreaterThanOrEqual(0);
      expect(undos - scans).toBeLessThanOrEqual(1);
      const checkedIn = await expectMarksConsistent(purchaseId, ticket);
      expect(checkedIn).toBe(undos === scans);
      const audited = await db.query(
        `SELECT count(*)::int AS n FROM admin_audit_log WHERE action = 'check-in.undo' AND subject_id = $1`,
        [purchaseId],
      );
      expect(audited.rows[0].n).toBe(undos);
      // The buyer's cancel follows the end state.
      const cancel = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
      expect(cancel.statusCode, cancel.body).toBe(checkedIn ? 409 : 200);
    }
  });

  it('an undo racing a refund: exactly one decides whether the seat was used, in every round', async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < 16; round++) {
      const resellCheckedInSeats = round % 2 === 1;
      const { purchaseId, tickets } = await buyTickets(2);
      const [used] = tickets;
      expect((await scan(used.code)).statusCode).toBe(200);
      const [undone, refund] = await Promise.all([
        undo(used.id, admin, api.app),
        caller(door)('POST', `/admin/purchases/${purchaseId}/refund`, {
          body: { resellCheckedInSeats },
          session: admin,
        }),
      ]);
      const { row } = await checkInState(purchaseId, used);
      if (undone.statusCode === 200) {
        // The undo first: the refund (if it went through) counted the seat as not checked in.
        if (refund.statusCode === 200) expect(refund.json().keptSeatIds).toEqual([]);
        else expect(refund.json().message).toContain('checked in'); // read before the undo, run before it
        expect(row.checked_in_at).toBeNull();
        expect(await seatStatus(used.seat.id)).toBe(refund.statusCode === 200 ? 'AVAILABLE' : 'SOLD');
        outcomes.add(`undo, refund ${refund.statusCode}`);
      } else {
        // The refund first, keeping the checked-in seat sold: the check-in stands.
        expect(undone.statusCode, undone.body).toBe(409);
        expect(undone.json().message).toBe(
          'ticket is canceled (its purchase was canceled or refunded, or this seat refunded)',
        );
        expect(resellCheckedInSeats).toBe(false);
        expect(refund.statusCode, refund.body).toBe(200);
        expect(refund.json().keptSeatIds).toEqual([used.seat.id]);
        expect(row.checked_in_at).not.toBeNull();
        expect(await seatStatus(used.seat.id)).toBe('SOLD');
        outcomes.add('refund, undo refused');
      }
      if (refund.statusCode !== 200) {
        // Refused as checked in (resell): the undo then stood, so the refund goes through now.
        expect(refund.statusCode, refund.body).toBe(409);
        const again = await call('POST', `/admin/purchases/${purchaseId}/refund`, { session: admin });
        expect(again.statusCode, again.body).toBe(200);
        expect(again.json().keptSeatIds).toEqual([]);
      }
      await flushPurchases(api.app);
      const {
        rows: [persisted],
      } = await db.query('SELECT status FROM purchases WHERE id = $1', [purchaseId]);
      expect(persisted.status).toBe('CANCELED');
      // The seat left sold is exactly a seat someone was checked in on.
      expect(await seatStatus(used.seat.id)).toBe(
        (await checkInState(purchaseId, used)).row.checked_in_at ? 'SOLD' : 'AVAILABLE',
      );
    }
    expect(outcomes.size).toBeGreaterThanOrEqual(1);
  });
});
