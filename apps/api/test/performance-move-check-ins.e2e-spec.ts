import Redis from 'ioredis';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { caller, createPerformance, flushPurchases } from './purchase-helpers';
import { startTestApi } from './support/api';
import { buyTickets as buyTicketsOf, createStaffSession, startSecondApi } from './support/door';

interface TicketBody {
  id: string;
  seat: { id: number };
  code: string;
}

const MINUTE_MS = 60_000;

/**
 * A performance whose start moves after its doors opened (a show stopped by weather and moved), on
 * real PostgreSQL and Redis, the door on a second api instance: the check-ins made before the new
 * start's doors open are cleared (each ticket admits once more, its purchase cancels again), a
 * refund that kept its seat sold keeps its check-in, a start corrected by a few minutes clears
 * nothing, and scans racing the move leave every ticket admitting once.
 */
describe('moving a performance clears the check-ins made for the old time (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  /** A second api on the same database and Redis: the door. */
  let door: NestFastifyApplication;
  let admin: TestSession;
  let buyer: TestSession;
  let staff: TestSession;
  let call: ReturnType<typeof caller>;
  let db: Client;

  /** A performance starting `inMinutes` from now (default check-in window: its doors are open). */
  async function startingIn(inMinutes: number, seats = 10): Promise<{ id: number; seatIds: number[]; startsAt: Date }> {
    const startsAt = new Date(Math.ceil(Date.now() / MINUTE_MS) * MINUTE_MS + inMinutes * MINUTE_MS);
    // Buyers may cancel until the start (the default, 24 h before, has passed already: it must be given).
    const performance = await createPerformance(api.app, admin, seats, { startsAt, cancelUntil: startsAt });
    return { ...performance, startsAt };
  }

  const buyTickets = (performanceId: number, seatIds: number[], by = buyer) =>
    buyTicketsOf<TicketBody>(api.app, by, performanceId, seatIds);

  const patch = (performanceId: number, body: object) =>
    call('PATCH', `/performances/${performanceId}`, { body, session: admin });
  const scan = (performanceId: number, code: string) =>
    caller(door)('POST', '/check-in', { body: { code, performanceId }, session: staff });

  /** A 409 TicketAlreadyCheckedIn: its message and when, in `details`. */
  function expectAlreadyCheckedIn(answer: {
    statusCode: number;
    body: string;
    json: () => { message: string; details: { checkedInAt?: string } };
  }): void {
    expect(answer.statusCode, answer.body).toBe(409);
    expect(answer.json().message).toMatch(/^already checked in at /);
    expect(answer.json().details.checkedInAt).toEqual(expect.any(String));
  }

  /** The `performance.update` audit rows of the performance, oldest first. */
  async function updateAudits(performanceId: number): Promise<Record<string, unknown>[]> {
    const { rows } = await db.query(
      `SELECT details FROM admin_audit_log WHERE action = 'performance.update' AND subject_id = $1 ORDER BY id`,
      [`performance:${performanceId}`],
    );
    return rows.map((row: { details: Record<string, unknown> }) => row.details);
  }

  /**
   * The ticket's check-in in PostgreSQL and the Redis marks of its seat tell one story: checked in,
   * with exactly the mark of the scan PostgreSQL recorded; or not, with no mark. Returns whether it is.
   */
  async function checkedIn(performanceId: number, purchaseId: string, ticket: TicketBody): Promise<boolean> {
    const {
      rows: [row],
    } = await db.query('SELECT checked_in_at, check_in_mark, code_version FROM tickets WHERE id = $1', [ticket.id]);
    const marks = (await api.app.get(Redis).smembers(performanceKeys(performanceId).checkedIn(purchaseId))).filter(
      (member) => member.startsWith(`${ticket.seat.id}:`),
    );
    if (row.checked_in_at === null) {
      expect(marks, 'no mark of a ticket not checked in').toEqual([]);
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
    staff = await createStaffSession(api.app, admin, 'door-1@example.test', 'Door 1');
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    door = await startSecondApi(api);
  });
  afterAll(async () => {
    await db?.end();
    await door?.close();
    await api?.close();
  });

  it('postponed to tomorrow after the doors opened: its tickets admit once at the new time and the purchase cancels again; a refund that kept its seat keeps its check-in', async () => {
    const performance = await startingIn(60);
    const { purchaseId, tickets } = await buyTickets(performance.id, performance.seatIds.slice(0, 2));
    const other = await createSession(api.app);
    const refunded = await buyTickets(performance.id, performance.seatIds.slice(2, 3), other);
    for (const ticket of [...tickets, ...refunded.tickets]) {
      expect((await scan(performance.id, ticket.code)).statusCode).toBe(200);
    }
    // Refunded keeping the seat sold (someone is inside), not yet written to PostgreSQL: Redis refuses its clearing.
    const refund = await call('POST', `/admin/purchases/${refunded.purchaseId}/refund`, {
      body: { resellCheckedInSeats: false },
      session: admin,
    });
    expect(refund.statusCode, refund.body).toBe(200);
    expect(refund.json().keptSeatIds).toEqual([refunded.tickets[0].seat.id]);

    const tomorrow = new Date(performance.startsAt.getTime() + 24 * 60 * MINUTE_MS).toISOString();
    expect((await patch(performance.id, { startsAt: tomorrow })).statusCode).toBe(200);

    const [moved] = await updateAudits(performance.id);
    expect(moved).toMatchObject({ checkInsCleared: 2, changed: { startsAt: { after: tomorrow } } });
    for (const ticket of tickets) expect(await checkedIn(performance.id, purchaseId, ticket)).toBe(false);
    expect(await checkedIn(performance.id, refunded.purchaseId, refunded.tickets[0])).toBe(true);
    await flushPurchases(api.app);
    expectAlreadyCheckedIn(await scan(performance.id, refunded.tickets[0].code));

    // Tomorrow's doors are not open yet; opened now (a window change clears nothing), each admits once.
    const early = await scan(performance.id, tickets[0].code);
    expect(early.statusCode).toBe(409);
    expect(early.json().details.reason).toBe('NOT_OPEN');
    expect((await patch(performance.id, { checkInOpensBeforeMinutes: 10_080 })).statusCode).toBe(200);
    expect((await updateAudits(performance.id))[1]).not.toHaveProperty('checkInsCleared');
    expect((await scan(performance.id, tickets[0].code)).statusCode).toBe(200);
    expectAlreadyCheckedIn(await scan(performance.id, tickets[0].code));

    // Cancelable again once its check-in is undone (the one made at the new time counts as any).
    expect((await call('DELETE', `/check-in/${tickets[0].id}`, { session: admin })).statusCode).toBe(200);
    const canceled = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
    expect(canceled.statusCode, canceled.body).toBe(200);
  });

  it('the buyer cancels a purchase whose tickets were used before the move', async () => {
    const performance = await startingIn(60);
    const { purchaseId, tickets } = await buyTickets(performance.id, performance.seatIds.slice(0, 1));
    expect((await scan(performance.id, tickets[0].code)).statusCode).toBe(200);
    const refused = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toBe('purchase cannot be canceled: a ticket of it was checked in at the door');
    const tomorrow = new Date(performance.startsAt.getTime() + 24 * 60 * MINUTE_MS).toISOString();
    expect((await patch(performance.id, { startsAt: tomorrow })).statusCode).toBe(200);
    const canceled = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
    expect(canceled.statusCode, canceled.body).toBe(200);
  });

  it('a start corrected by 10 minutes while people are inside clears nothing: their check-ins lie in the new window', async () => {
    const performance = await startingIn(60);
    const { purchaseId, tickets } = await buyTickets(performance.id, performance.seatIds.slice(0, 1));
    expect((await scan(performance.id, tickets[0].code)).statusCode).toBe(200);
    const later = new Date(performance.startsAt.getTime() + 10 * MINUTE_MS).toISOString();
    expect((await patch(performance.id, { startsAt: later })).statusCode).toBe(200);
    const [moved] = await updateAudits(performance.id);
    expect(moved).toMatchObject({ checkInsCleared: 0 });
    expect(await checkedIn(performance.id, purchaseId, tickets[0])).toBe(true);
    expectAlreadyCheckedIn(await scan(performance.id, tickets[0].code));
  });

  it('scans racing the move: every ticket ends not checked in, with no mark, and admits once at the new time', async () => {
    for (let round = 0; round < 3; round++) {
      const performance = await startingIn(60, 24);
      const bought: { purchaseId: string; tickets: TicketBody[] }[] = [];
      for (let i = 0; i < 6; i++) {
        const owner = await createSession(api.app);
        bought.push(await buyTickets(performance.id, performance.seatIds.slice(i * 4, i * 4 + 4), owner));
      }
      const all = bought.flatMap(({ purchaseId, tickets }) => tickets.map((ticket) => ({ purchaseId, ticket })));
      // Half scanned before, all scanned (again) while the start moves to tomorrow.
      for (const { ticket } of all.slice(0, 12)) expect((await scan(performance.id, ticket.code)).statusCode).toBe(200);
      const tomorrow = new Date(performance.startsAt.getTime() + 24 * 60 * MINUTE_MS).toISOString();
      const [moved, ...scans] = await Promise.all([
        patch(performance.id, { startsAt: tomorrow }),
        ...all.map(({ ticket }) => scan(performance.id, ticket.code)),
      ]);
      expect(moved.statusCode, moved.body).toBe(200);
      for (const answer of scans) {
        expect([200, 409], answer.body).toContain(answer.statusCode);
        // Already checked in (a scan of the first half before the move), or tomorrow's doors not open.
        if (answer.statusCode === 409) {
          const { details } = answer.json();
          expect(details.checkedInAt !== undefined || details.reason === 'NOT_OPEN', answer.body).toBe(true);
        }
      }
      for (const { purchaseId, ticket } of all) {
        expect(await checkedIn(performance.id, purchaseId, ticket), `round ${round}, ticket ${ticket.id}`).toBe(false);
      }
      expect((await patch(performance.id, { checkInOpensBeforeMinutes: 10_080 })).statusCode).toBe(200);
      for (const { ticket } of all) {
        expect((await scan(performance.id, ticket.code)).statusCode).toBe(200);
        expectAlreadyCheckedIn(await scan(performance.id, ticket.code));
      }
    }
  });
});
