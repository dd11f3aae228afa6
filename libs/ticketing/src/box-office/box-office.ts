import { Inject, Injectable, Logger } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock, DomainError } from '@app/core';
import {
  AdminAuditRepository,
  BOX_OFFICE_PAYMENT_METHODS,
  BoxOfficePaymentMethod,
  PerformanceRepository,
  TicketsRepository,
} from '@app/database';
import {
  InvalidInputError,
  NotFoundError,
  PerformanceCanceledError,
  SalesClosedError,
  SeatsUnavailableError,
} from '../errors';
import { Hold } from '../holds/hold';
import { HoldService } from '../holds/hold.service';
import type { Operator } from '../purchases/admin-purchases';
import { Purchase, ticketsTakenAhead } from '../purchases/purchase';
import { PurchaseReader } from '../purchases/purchase-reader';
import { PurchaseService } from '../purchases/purchase.service';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { checkInSettingsOf, checkInWindowOf, checkInWindowSettings } from '../tickets/check-in-window';
import { TicketAheadPointers } from '../tickets/ticket-ahead-pointers';
import { TicketCodes } from '../tickets/ticket-codes';

/** The audit action of a box office sale. */
export const BOX_OFFICE_SALE_ACTION = 'box-office.sale';

/**
 * The most seats one box office sale may sell (one purchase, one page of tickets), as a comp: the
 * per-buyer limits do not apply to the window, this does.
 */
export const MAX_SEATS_PER_BOX_OFFICE_SALE = 20;

/** The longest name a box office sale keeps for its buyer, in characters. */
export const MAX_BOX_OFFICE_NAME_LENGTH = 200;

/**
 * The performance's door has closed (check-in closes CHECK_IN_CLOSES_AFTER_MINUTES, or its own
 * setting, after its start): a ticket sold now could admit no one. 409 `BoxOfficeClosed`.
 */
export class BoxOfficeClosedError extends DomainError {
  constructor(performanceId: number, closesAt: Date) {
    super(
      'conflict',
      'BoxOfficeClosed',
      `performance ${performanceId} is over: its check-in closed at ${closesAt.toISOString()}, so a ticket sold now admits no one`,
      { performanceId, checkInClosesAt: closesAt.toISOString() },
    );
  }
}

/**
 * The most recent box office sales of a performance read to explain a refused sale's seats
 * ({@link SeatsSoldAtBoxOfficeError}): a clerk who repeats a sale does so within minutes.
 */
const RECENT_SALES_READ = 50;

/** A box office sale that holds some of a refused sale's seats: which, and when it was sold. */
export interface SoldAtBoxOffice {
  purchaseId: string;
  seatIds: number[];
  soldAt: Date;
}

/**
 * A box office sale refused because some of its seats were sold at the window already (a clerk on
 * a flaky network repeating a sale that went through): 409 `SeatsUnavailable`, as any refused
 * sale, `details.seatIds` the refused seats and `details.soldAtBoxOffice` the sales holding some of
 * them (`purchaseId`, `seatIds`, `soldAt`); the message says when each was sold. Nothing held.
 */
export class SeatsSoldAtBoxOfficeError extends DomainError {
  constructor(seatIds: number[], sales: readonly SoldAtBoxOffice[]) {
    const told = sales
      .map(
        (sale) =>
          `${sale.seatIds.join(', ')} sold at the box office ${sale.soldAt.toISOString()} (sale ${sale.purchaseId})`,
      )
      .join('; ');
    super('conflict', 'SeatsUnavailable', `seats not available: ${seatIds.join(', ')}; ${told}`, {
      seatIds,
      soldAtBoxOffice: sales.map((sale) => ({ ...sale, soldAt: sale.soldAt.toISOString() })),
    });
  }
}

/** What the window sells: seats of a performance, paid there. */
export interface BoxOfficeSaleRequest {
  performanceId: number;
  /** 1 to MAX_SEATS_PER_BOX_OFFICE_SALE seat ids of the performance, each once. */
  seatIds: number[];
  /** How the money was taken at the window. */
  paymentMethod: BoxOfficePaymentMethod;
  /**
   * Where the buyer wants the tickets e-mailed (no account needed): the sale's e-mails (its tickets,
   * a refund's notice) go there instead of to the selling account; also in the audit row.
   */
  email?: string;
  /** The buyer's name, if given: the e-mails are addressed to it; also in the audit row. */
  name?: string;
}

/** A ticket of a box office sale as the window prints it: its seat and signed code. */
export interface BoxOfficeTicket {
  /** A decimal string (a bigint): the id the flush gives its row. */
  ticketId: string;
  seatId: number;
  /** The signed code, as the e-mail's QR code and `GET /purchases/:id/tickets` carry it. */
  code: string;
}

/** A box office sale: the purchase stored under the selling account (PAID, `paymentMethod`), the venue's, and its tickets. */
export type BoxOfficeSale = Purchase & { paymentMethod: BoxOfficePaymentMethod; tickets: BoxOfficeTicket[] };

/**
 * Walk-up sales at the box office window: a staff or admin account sells seats to someone at the
 * window, who pays there in cash or on the card terminal. A sale is a purchase on the sale's own
 * path, as a comp is: a hold of the seats for the selling account (all or none, atomically in
 * Redis, hold-comp-seats.lua: the seats' current prices, the payment method on the hold, no
 * per-user limits), then that account's purchase of the hold (PurchaseService), which charges
 * nothing (the money was taken at the window: no gateway call, no payment attempt), written behind
 * by `batch` with its tickets. Its tickets' ids are taken from PostgreSQL's sequence before the
 * hold, so the answer carries their signed codes for the window to print. Then an audit row.
 */
@Injectable()
export class BoxOfficeService {
  private readonly logger = new Logger(BoxOfficeService.name);

  constructor(
    private readonly performances: PerformanceRepository,
    private readonly tickets: TicketsRepository,
    private readonly codes: TicketCodes,
    private readonly pointers: TicketAheadPointers,
    private readonly holds: HoldService,
    private readonly seatState: SeatStateRebuilder,
    private readonly purchases: PurchaseService,
    private readonly reader: PurchaseReader,
    private readonly audit: AdminAuditRepository,
    private readonly clock: Clock,
    @Inject(Env) private readonly env: Env,
  ) {}

  /**
   * Sells `seatIds` at the window: the operator's purchase (PAID at the seats' current prices,
   * `paymentMethod`), with its tickets' codes, or nothing changes. Allowed from the on-sale
   * (salesOpenAt) on while ON_SALE or CLOSED by status, also after salesCloseAt, until the
   * performance's check-in closes; refused while PAUSED, for a canceled performance, and while it
   * is being deleted. A retried request finds its seats sold (409): never sold twice. The audit row
   * (`box-office.sale`) is written after the sale, as a comp's is. Throws InvalidInputError,
   * NotFoundError (performance, seats), PerformanceCanceledError, BoxOfficeClosedError,
   * SalesNotOpenError, SalesClosedError (PAUSED; CLOSED while a delete is under way),
   * SeatsUnavailableError (naming the seats held, sold or blocked; nothing held;
   * SeatsSoldAtBoxOfficeError when a box office sale holds some: a repeated sale) and the purchase's
   * errors (PurchaseNotReplicatedError). The hold and its purchase are the operator path's
   * (HoldService.holdBoxOffice, PurchaseService.purchaseOperatorHold): a process killed between the
   * two leaves a hold the selling account cannot see, buy or release through the buyer's routes,
   * which expires as any hold and frees its seats.
   */
  async sell(operator: Operator, request: BoxOfficeSaleRequest): Promise<BoxOfficeSale> {
    const { performanceId, seatIds, paymentMethod, email, name } = request;
    // The edge checks these too; a caller other than the route must not record another method.
    if (!BOX_OFFICE_PAYMENT_METHODS.includes(paymentMethod)) {
      throw new InvalidInputError(`paymentMethod must be one of ${BOX_OFFICE_PAYMENT_METHODS.join(', ')}`);
    }
    if (name !== undefined && (name.trim() === '' || [...name].length > MAX_BOX_OFFICE_NAME_LENGTH)) {
      throw new InvalidInputError(`name must be 1 to ${MAX_BOX_OFFICE_NAME_LENGTH} characters`);
    }
    const performance = await this.performances.findById(performanceId);
    if (!performance) throw new NotFoundError('performance', { performanceId });
    if (performance.status === 'CANCELED') throw canceled(performanceId);
    const window = checkInWindowOf(
      performance.startsAt,
      checkInSettingsOf(performance, checkInWindowSettings(this.env)),
    );
    if (this.clock.nowMs() >= window.closesAt.getTime()) throw new BoxOfficeClosedError(performanceId, window.closesAt);

    // One id a seat, in the order of `seatIds` (the hold keeps both lists in that order). An id
    // taken for a sale that is then refused is a gap in the sequence, nothing more.
    const ticketIds = await this.tickets.reserveIds(seatIds.length);
    const hold = await this.holdSeats(operator.id, performanceId, seatIds, {
      paymentMethod,
      ticketIds,
      ...(email !== undefined ? { deliveryEmail: email } : {}),
      ...(name !== undefined ? { deliveryName: name } : {}),
    });
    let purchase: Purchase;
    try {
      purchase = await this.purchases.purchaseOperatorHold(operator.id, hold.id);
    } catch (error) {
      // The sale did not happen: its seats go back (a hold bought after all is left as it is).
      await this.holds.releaseOperatorHold(operator.id, hold.id).catch(() => undefined);
      throw this.named(error, performanceId);
    }
    // The hold keeps the ids in the order of `seatIds`; the purchase lists its seats ascending.
    const ticketOf = new Map(seatIds.map((seatId, i) => [seatId, ticketIds[i]]));
    const sold = { ...purchase, ticketIds: purchase.seatIds.map((seatId) => ticketOf.get(seatId)!) };
    const tickets = ticketsTakenAhead(sold)!.map((ticket) => ({
      ticketId: ticket.ticketId,
      seatId: ticket.seatId,
      code: this.codes.sign(ticket),
    }));
    // An admin may print one of these tickets by its id before the flush writes it (PrintableTickets.ofTicket).
    // The sale stands whatever happens here: without its pointers that print waits for the flush.
    await this.pointers.point(sold.ticketIds, purchase.id).catch((error: unknown) => {
      this.logger.warn(`box office sale ${purchase.id}: ticket pointers not written: ${String(error)}`);
    });
    await this.audit.record({
      actorId: operator.id,
      actorEmail: operator.email,
      action: BOX_OFFICE_SALE_ACTION,
      subjectId: purchase.id,
      details: {
        performanceId,
        seatIds: purchase.seatIds,
        amount: purchase.amount,
        currency: purchase.currency,
        paymentMethod,
        email: email ?? null,
        name: name ?? null,
        ticketIds: tickets.map((ticket) => ticket.ticketId),
      },
    });
    this.logger.log(
      `box office sale ${purchase.id} of performance ${performanceId}: ${seatIds.length} seats, ${purchase.amount} ${purchase.currency} ${paymentMethod}, by ${operator.id}`,
    );
    return { ...sold, paymentMethod, tickets };
  }

  /**
   * The sale's hold (HoldService.holdBoxOffice); a performance whose live state Redis lost is
   * rebuilt from PostgreSQL once and held again, as a buyer's hold is (HoldDesk).
   */
  private async holdSeats(
    userId: string,
    performanceId: number,
    seatIds: number[],
    sale: Parameters<HoldService['holdBoxOffice']>[3],
  ): Promise<Hold> {
    const hold = () => this.holds.holdBoxOffice(userId, performanceId, seatIds, sale, MAX_SEATS_PER_BOX_OFFICE_SALE);
    try {
      return await hold();
    } catch (error) {
      const lost = error instanceof NotFoundError && error.details?.seatIds === undefined;
      if (!lost) throw await this.explained(error, performanceId);
      await this.seatState.ensure(performanceId);
      return hold().catch(async (again: unknown) => {
        throw await this.explained(again, performanceId);
      });
    }
  }

  /**
   * A refusal of seats some of which a box office sale holds (PAID, the seats still its own; found
   * among the performance's RECENT_SALES_READ latest sales by their audit rows) as
   * SeatsSoldAtBoxOfficeError, saying when; anything else as {@link named} words it. A refusal off
   * the hot path: a few reads, and the plain refusal when they fail.
   */
  private async explained(error: unknown, performanceId: number): Promise<unknown> {
    if (!(error instanceof SeatsUnavailableError)) return this.named(error, performanceId);
    const refused = (error.details?.seatIds as number[] | undefined) ?? [];
    try {
      const sales = await this.soldAtBoxOffice(performanceId, refused);
      return sales.length > 0 ? new SeatsSoldAtBoxOfficeError(refused, sales) : error;
    } catch {
      return error;
    }
  }

  /** The recent box office sales of the performance that hold some of `seatIds` now, newest first. */
  private async soldAtBoxOffice(performanceId: number, seatIds: readonly number[]): Promise<SoldAtBoxOffice[]> {
    const wanted = new Set(seatIds);
    const rows = await this.audit.page({ performanceId, action: BOX_OFFICE_SALE_ACTION }, null, RECENT_SALES_READ);
    const found: SoldAtBoxOffice[] = [];
    for (const row of rows) {
      const named = ((row.details.seatIds as number[] | undefined) ?? []).filter((seatId) => wanted.has(seatId));
      if (named.length === 0) continue;
      const purchase = await this.reader.find(row.subjectId);
      if (!purchase || purchase.status !== 'PAID') continue;
      const held = named.filter((seatId) => purchase.seatIds.includes(seatId) && wanted.delete(seatId));
      if (held.length > 0) found.push({ purchaseId: purchase.id, seatIds: held, soldAt: purchase.createdAt });
      if (wanted.size === 0) break;
    }
    return found;
  }

  /** A canceled performance's refusal, worded for the window; anything else as it is. */
  private named(error: unknown, performanceId: number): unknown {
    return error instanceof SalesClosedError && error.details?.reason === 'CANCELED' ? canceled(performanceId) : error;
  }
}

function canceled(performanceId: number): PerformanceCanceledError {
  return new PerformanceCanceledError(performanceId, 'the box office sells no tickets for it');
}
