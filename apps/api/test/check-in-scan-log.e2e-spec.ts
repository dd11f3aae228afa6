import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, createSession, TestSession, waitForValue } from '@app/testing';
import { caller, createPerformance, doorsOpenNow } from './purchase-helpers';
import { startTestApi } from './support/api';
import { buyTickets as buyTicketsOf, createStaffSession } from './support/door';

/**
 * The door's audit trail in the api's log: one line per scan. A file of its own: a second api in
 * the same process (tickets.e2e-spec.ts's other door) takes over Nest's process-wide logger at
 * its own level.
 */
describe('check-in scan log (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let buyer: TestSession;
  let staff: TestSession;
  let call: ReturnType<typeof caller>;
  let performance: { id: number; seatIds: number[] };

  const checkIn = (code: unknown) => call('POST', '/check-in', { body: { code }, session: staff });
  const buyTickets = (count: number) =>
    buyTicketsOf<{ id: string; purchaseId: string; seat: { id: number }; code: string | null }>(
      api.app,
      buyer,
      performance.id,
      performance.seatIds.slice(0, count),
    );

  beforeAll(async () => {
    api = await startTestApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app);
    performance = await createPerformance(api.app, admin, 4, doorsOpenNow());
    staff = await createStaffSession(api.app, admin, 'gate-3@scan-log.test', 'Gate 3');
  });
  afterAll(async () => {
    await api?.close();
  });

  it('logs every scan, admitted or refused, with the door account and the ticket (never its code): the door audit trail', async () => {
    const [ticket] = (await buyTickets(1)).tickets;
    const scans = [
      await checkIn(ticket.code),
      await checkIn(ticket.code),
      await call('POST', '/check-in', {
        body: { code: ticket.code, performanceId: performance.id + 1_000_000 },
        session: staff,
      }),
      await checkIn('not a ticket'),
    ];
    expect(scans.map((res) => res.statusCode)).toEqual([200, 409, 404, 400]);
    type ScanLine = { message?: string; boxoffice?: { check_in?: Record<string, unknown> } };
    const logged = () =>
      readdirSync(api.env.LOG_DIR)
        .filter((file) => file.endsWith('.log'))
        .flatMap((file) => readFileSync(join(api.env.LOG_DIR, file), 'utf8').split('\n'))
        .filter((line) => line.includes('"check_in"'));
    const lines = await waitForValue(() => {
      const found = logged()
        .map((line) => JSON.parse(line) as ScanLine)
        .filter((line) => line.boxoffice?.check_in?.staff_id === staff.id);
      const ofTicket = found.filter((line) => line.boxoffice?.check_in?.ticket_id === ticket.id);
      const malformed = found.filter((line) => line.boxoffice?.check_in?.outcome === 'InvalidTicketCode');
      return ofTicket.length === 3 && malformed.length >= 1 ? { ofTicket, malformed } : undefined;
    }, 'the log lines of the four scans');
    const identity = {
      staff_id: staff.id,
      ticket_id: ticket.id,
      purchase_id: ticket.purchaseId,
      performance_id: performance.id,
      seat_id: ticket.seat.id,
      code_version: 0,
    };
    expect(lines.ofTicket.map((line) => line.boxoffice?.check_in)).toEqual([
      { ...identity, outcome: 'ADMITTED' },
      { ...identity, outcome: 'TicketAlreadyCheckedIn' },
      { ...identity, outcome: 'NotFound', door_performance_id: performance.id + 1_000_000 },
    ]);
    expect(lines.ofTicket[0].message).toBe(`door scan of ticket ${ticket.id} by account ${staff.id}: ADMITTED`);
    expect(lines.malformed[0].boxoffice?.check_in).toEqual({
      outcome: 'InvalidTicketCode',
      staff_id: staff.id,
    });
    // A logged code would admit whoever reads the log.
    expect(logged().some((line) => line.includes(ticket.code as string))).toBe(false);
  });
});
