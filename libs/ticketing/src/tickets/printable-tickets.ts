import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { TicketIdentity, TicketPrintsRepository, TicketRecord, TicketsRepository, TicketStatus } from '@app/database';
import { BookingDescriber, BookingDetails } from '../catalog/booking-details';
import type { SeatListing } from '../catalog/catalog.types';
import { NotFoundError } from '../errors';
import { Purchase, ticketsTakenAhead } from '../purchases/purchase';
import { isBuyersPurchase, PurchaseReader } from '../purchases/purchase-reader';
import { TicketAheadPointers } from './ticket-ahead-pointers';
import { TicketCodes } from './ticket-codes';
import {
  CanceledPurchaseTicketsError,
  NoTicketsToPrintError,
  TicketCanceledError,
  TicketsNotIssuedError,
  TooManyTicketPrintsError,
} from './ticket.errors';

/**
 * PDFs of printable tickets answered per account: at most `perWindow` per `windowMs` (milliseconds),
 * the three print routes together, each answer (up to 100 pages and QR codes drawn on the event
 * loop) one. `buyer` for an account printing its own; `operator` for an admin (any route) and for
 * the box office window's route, where a clerk prints every sale it makes: a busy window sells
 * one every few seconds, yet one account looping a 100-seat sale is still bounded.
 */
export const TICKET_PRINT_LIMIT = {
  buyer: { perWindow: 20, windowMs: 15 * 60_000 },
  operator: { perWindow: 120, windowMs: 15 * 60_000 },
};

/** Who asks for printable tickets: an account, and whether it is an admin (who may print anyone's). */
export interface PrintCaller {
  id: string;
  admin: boolean;
}

/**
 * One ticket as it is printed (print-at-home, or at the window): everything its face shows, with
 * the signed code the door scans now (the same code and QR code as the e-mail and the ticket lists).
 */
export interface PrintableTicket {
  /** bigint identity, as a decimal string. */
  ticketId: string;
  purchaseId: string;
  performanceId: number;
  eventTitle: string;
  venue: string;
  /** IANA name of the venue's time zone: the start is printed on its wall clock, with its offset. */
  timeZone: string;
  /** When the performance starts (an instant). */
  startsAt: Date;
  seat: { section: string; row: number; rowLabel: string; number: number };
  /** What the seat was bought at, an integer in minor units of `currency` (0: free, e.g. a comp). */
  price: number;
  /** ISO 4217 code of the event's currency. */
  currency: string;
  /** Who it admits, as the door names them: the account it was transferred to, else a box office sale's walk-up, else the buyer; null when not known. */
  holderName: string | null;
  /** The signed code of the ticket's current version. */
  code: string;
  /** When it was checked in at the door (it admits no one again); null before. */
  checkedInAt: Date | null;
}

/**
 * The tickets to print: only those that admit someone now (not canceled or refunded, also while
 * that is only in Redis; not transferred away: a transferred ticket is its new holder's to print),
 * read as the ticket lists read them (PurchaseReader for ownership and the newest status, the
 * tickets from PostgreSQL, the event, start and seat prices from BookingDescriber); a box office
 * sale's, for its window, also before its flush (from the ticket ids it took ahead).
 */
@Injectable()
export class PrintableTickets {
  constructor(
    private readonly purchases: PurchaseReader,
    private readonly tickets: TicketsRepository,
    private readonly describer: BookingDescriber,
    private readonly codes: TicketCodes,
    @Inject(Env) private readonly env: Env,
    private readonly prints: TicketPrintsRepository,
    private readonly pointers: TicketAheadPointers,
  ) {}

  /**
   * The printable tickets of a purchase, in seat order: the caller's own purchase (a box office sale
   * or guest comp is the venue's: not its seller's, NotFoundError as on every buyer's route), or for
   * an admin anyone's. Throws NotFoundError('purchase') (unknown, anyone else's),
   * CanceledPurchaseTicketsError (409 PurchaseCanceled: canceled or refunded, also while only in
   * Redis), TicketsNotIssuedError (409, Retry-After: not written to PostgreSQL yet, as the ticket
   * list; the buyer's own purchase is never a NotFoundError for that), NoTicketsToPrintError (409:
   * every ticket it still has was transferred away), then TooManyTicketPrintsError (429,
   * Retry-After) past TICKET_PRINT_LIMIT (`operator` for an admin). A window sale, which only an
   * admin prints here, prints at once, before its flush too, as {@link ofBoxOfficeSale} does.
   */
  async ofPurchase(caller: PrintCaller, purchaseId: string): Promise<PrintableTicket[]> {
    const purchase = caller.admin
      ? await this.purchases.find(purchaseId)
      : await this.purchases.get(caller.id, purchaseId);
    if (!purchase) throw new NotFoundError('purchase');
    if (purchase.status === 'CANCELED') throw new CanceledPurchaseTicketsError('print');
    const persisted = await this.tickets.printableOf(purchase.id);
    // Not written yet: an online purchase or comp has no ticket ids before its flush
    // (TicketsNotIssuedError); a window sale took its ids ahead.
    const printable = persisted ? await this.ofRows(purchase, persisted.tickets) : await this.unwritten(purchase);
    await this.count(caller, caller.admin ? 'operator' : 'buyer');
    return printable;
  }

  /**
   * The printable tickets of a box office window sale, in seat order, for the window that sold it:
   * a staff account prints its own sales only (as the cash-up shows a clerk their own drawer), an
   * admin any. At once: before `batch` writes the sale, its tickets are the ids it took ahead,
   * kept on the purchase in Redis (ticketsTakenAhead: the codes its answer carried, which the door
   * admits once it is written); after, its rows, as {@link ofPurchase} reads them. Throws
   * NotFoundError('purchase') (unknown, an online purchase or a guest comp, another clerk's sale
   * to staff), CanceledPurchaseTicketsError (refunded, also while only in Redis),
   * TicketsNotIssuedError (a sale in Redis without its ids: made before sales took them ahead),
   * NoTicketsToPrintError, then TooManyTicketPrintsError past TICKET_PRINT_LIMIT.operator.
   */
  async ofBoxOfficeSale(caller: PrintCaller, purchaseId: string): Promise<PrintableTicket[]> {
    const purchase = await this.purchases.find(purchaseId);
    const visible = purchase?.paymentMethod !== undefined && (caller.admin || purchase.userId === caller.id);
    if (!purchase || !visible) throw new NotFoundError('purchase');
    if (purchase.status === 'CANCELED') throw new CanceledPurchaseTicketsError('print');
    // Redis first (the purchase), then PostgreSQL: a sale written meanwhile is read from its rows,
    // the newer state once written (a check-in); one not written by then has none of those yet.
    const persisted = await this.tickets.printableOf(purchase.id);
    const printable = persisted ? await this.ofRows(purchase, persisted.tickets) : await this.unwritten(purchase);
    await this.count(caller, 'operator');
    return printable;
  }

  /** A window sale's printable tickets before `batch` writes it: the ids it took ahead (see {@link ofBoxOfficeSale}). */
  private async unwritten(purchase: Purchase): Promise<PrintableTicket[]> {
    const ahead = ticketsTakenAhead(purchase);
    if (!ahead) throw new TicketsNotIssuedError(this.env.PURCHASE_FLUSH_AGE_SECONDS + 1);
    return this.ofRows(purchase, await this.rowsAhead(purchase, ahead));
  }

  /**
   * The ticket rows the flush will write for a window sale from the ids it took ahead: active, not
   * checked in, held by no account, the walk-up's name (as printableOf names a window sale's
   * holder); in layout order, as the rows are read.
   */
  private async rowsAhead(
    purchase: Purchase,
    ahead: TicketIdentity[],
  ): Promise<(TicketRecord & { holderName: string | null })[]> {
    const seats = await this.tickets.seatsOf(purchase.performanceId, purchase.seatIds);
    return seats.flatMap(({ seatId, ...seat }) => {
      const identity = ahead.find((ticket) => ticket.seatId === seatId);
      if (!identity) return [];
      const holderName = purchase.deliveryName ?? null;
      return [{ ...identity, ...seat, status: TicketStatus.Active, checkedInAt: null, holderId: null, holderName }];
    });
  }

  /** Ticket `ticketId` of a purchase PostgreSQL has not written, as its row will be; none when the purchase did not take it ahead. */
  private async takenAhead(
    purchase: Purchase,
    ticketId: string,
  ): Promise<(TicketRecord & { holderName: string | null })[]> {
    const ahead = ticketsTakenAhead(purchase)?.filter((ticket) => ticket.ticketId === ticketId) ?? [];
    return ahead.length === 0 ? [] : this.rowsAhead(purchase, ahead);
  }

  /**
   * The printable tickets among `rows`, the purchase's tickets as PostgreSQL has them (a window
   * sale's before its flush: as the flush will write them): those that admit someone now and were
   * not transferred away. Throws NoTicketsToPrintError when none is.
   */
  private async ofRows(
    purchase: Purchase,
    rows: (TicketRecord & { holderName: string | null })[],
  ): Promise<PrintableTicket[]> {
    const { details } = await this.describer.describe(Promise.resolve(purchase));
    const printable = rows.flatMap((ticket) => {
      // Transferred away: the code is its holder's now (GET /tickets/:ticketId/ticket.pdf).
      if (ticket.holderId !== null && ticket.holderId !== purchase.userId) return [];
      const printed = this.printed(purchase, details, ticket);
      return printed ? [printed] : [];
    });
    if (printable.length === 0) throw new NoTicketsToPrintError();
    return printable;
  }

  /**
   * One ticket, for whoever holds it now (the account it was transferred to, else its purchase's
   * buyer; a box office sale's ticket has no account holder) or an admin. Throws
   * NotFoundError('ticket') (no such ticket, also one of a purchase not written to PostgreSQL yet,
   * but to an admin a box office sale's ticket, printed from the id its sale took ahead as
   * {@link ofBoxOfficeSale} prints it; or not the caller's), TicketCanceledError (409: the ticket, its seat or its purchase canceled or
   * refunded, also while only in Redis), then TooManyTicketPrintsError past TICKET_PRINT_LIMIT.
   */
  async ofTicket(caller: PrintCaller, ticketId: string): Promise<PrintableTicket> {
    const located = await this.tickets.locate(ticketId);
    // Not in PostgreSQL: for an admin, maybe a box office sale's ticket its flush has yet to write
    // (no one else prints a window sale's tickets: their holder is the walk-up, not an account).
    const purchaseId = located?.purchaseId ?? (caller.admin ? await this.pointers.purchaseOf(ticketId) : null);
    const purchase = purchaseId === null ? null : await this.purchases.find(purchaseId);
    // Redis first (the purchase), then PostgreSQL, as ofBoxOfficeSale reads a window sale.
    const persisted = purchase && (await this.tickets.printableOf(purchase.id));
    const rows = persisted ? persisted.tickets : purchase ? this.takenAhead(purchase, ticketId) : [];
    const ticket = (await rows).find((candidate) => candidate.ticketId === ticketId);
    if (!purchase || !ticket || !(caller.admin || holds(caller.id, purchase, ticket))) {
      throw new NotFoundError('ticket');
    }
    if (purchase.status === 'CANCELED') throw new TicketCanceledError();
    const { details } = await this.describer.describe(Promise.resolve(purchase));
    const printed = this.printed(purchase, details, ticket);
    if (!printed) throw new TicketCanceledError();
    await this.count(caller, caller.admin ? 'operator' : 'buyer');
    return printed;
  }

  /**
   * Counts one PDF for `caller` under TICKET_PRINT_LIMIT[`bound`], once the request would render
   * (its ownership and state checked: a 404 or 409 counts nothing). Throws TooManyTicketPrintsError
   * (429, Retry-After) past it, counting nothing.
   */
  private async count(caller: PrintCaller, bound: keyof typeof TICKET_PRINT_LIMIT): Promise<void> {
    const limit = TICKET_PRINT_LIMIT[bound];
    const wait = await this.prints.count(caller.id, { maxIssued: limit.perWindow, windowMs: limit.windowMs });
    if (wait !== null) throw new TooManyTicketPrintsError(wait, limit);
  }

  /**
   * `ticket` as printed, or null when it admits no one: canceled in PostgreSQL, or its seat no
   * longer the purchase's (`details.seats` lists the seats it still has, so a partial refund still
   * only in Redis counts).
   */
  private printed(
    purchase: Purchase,
    details: BookingDetails,
    ticket: TicketRecord & { holderName: string | null },
  ): PrintableTicket | null {
    if (ticket.status !== TicketStatus.Active) return null;
    const seat: SeatListing | undefined = details.seats.find((listed) => listed.id === ticket.seatId);
    if (!seat) return null;
    return {
      ticketId: ticket.ticketId,
      purchaseId: purchase.id,
      performanceId: purchase.performanceId,
      eventTitle: details.eventTitle,
      venue: details.venue,
      timeZone: details.timeZone,
      startsAt: details.startsAt,
      seat: { section: ticket.section, row: ticket.row, rowLabel: ticket.rowLabel, number: ticket.number },
      price: seat.price,
      currency: purchase.currency,
      holderName: ticket.holderName,
      code: this.codes.sign(ticket),
      checkedInAt: ticket.checkedInAt,
    };
  }
}

/**
 * Whether account `userId` holds `ticket` now: it accepted it by a transfer, or it bought it (its
 * own online purchase or comp) and did not give it away. A box office sale's tickets are the
 * walk-up's, never the selling account's.
 */
function holds(userId: string, purchase: Purchase, ticket: TicketRecord): boolean {
  if (ticket.holderId !== null) return ticket.holderId === userId;
  return isBuyersPurchase(purchase, userId);
}
