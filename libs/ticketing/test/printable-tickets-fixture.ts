import type { TicketRecord } from '@app/database';
import { TicketStatus } from '@app/database';
import type { PrintableTicket } from '@app/ticketing';

/**
 * The facts printable-tickets specs build on: purchase p1 of performance 7 (event "Gala" at "Hall",
 * Asia/Seoul, starting STARTS_AT), seats in section Floor, row 1 ("A"), numbered as their ids, each
 * 198000 KRW (minor units), bought by Grace Buyer.
 */
export const STARTS_AT = new Date('2030-03-01T10:00:00Z');

/** Ticket `seatId` of purchase p1 (ticket id `t<seatId>`), as PostgreSQL has it, with its holder's name. */
export function ticketRow(
  seatId: number,
  options: Partial<TicketRecord> & { holderName?: string | null } = {},
): TicketRecord & { holderName: string | null } {
  return {
    ticketId: `t${seatId}`,
    purchaseId: 'p1',
    performanceId: 7,
    seatId,
    codeVersion: 0,
    status: TicketStatus.Active,
    section: 'Floor',
    row: 1,
    rowLabel: 'A',
    number: seatId,
    checkedInAt: null,
    holderId: null,
    holderName: 'Grace Buyer',
    ...options,
  };
}

/**
 * Seat 1 of p1 as PrintableTickets prints it, its code as the specs' stub signs it
 * (`code-<ticketId>-v<codeVersion>`), with `fields` changed.
 */
export function printedTicket(fields: Partial<PrintableTicket> = {}): PrintableTicket {
  return {
    ticketId: 't1',
    purchaseId: 'p1',
    performanceId: 7,
    eventTitle: 'Gala',
    venue: 'Hall',
    timeZone: 'Asia/Seoul',
    startsAt: STARTS_AT,
    seat: { section: 'Floor', row: 1, rowLabel: 'A', number: 1 },
    price: 198000,
    currency: 'KRW',
    holderName: 'Grace Buyer',
    code: 'code-t1-v0',
    checkedInAt: null,
    ...fields,
  };
}
