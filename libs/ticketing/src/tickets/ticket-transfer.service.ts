import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock, decodeCursor, emailKey, encodeCursor, isInstantKey, isUuid } from '@app/core';
import {
  TicketRecord,
  TicketsRepository,
  TicketStatus,
  TicketTransferRecord,
  TicketTransfersRepository,
} from '@app/database';
import { NotFoundError, PerformanceCanceledError } from '../errors';
import { DeadAcceptMarks } from '../purchases/dead-accept-marks';
import { CheckInStore } from './check-in.store';
import { TicketCodes } from './ticket-codes';
import {
  PerformanceStartedError,
  TicketCanceledError,
  TicketCheckedInError,
  TooManyTransferOffersError,
  TransferLimitReachedError,
  SettledTransferStatus,
  TransferNotPendingError,
  TransferPendingError,
  TransferToSelfError,
} from './ticket.errors';

/** A ticket its holder sees in `GET /tickets`: its seat, state and, while it admits, its code. */
export interface HeldTicket extends Omit<TicketRecord, 'holderId' | 'codeVersion'> {
  /** The signed code (QR) of the ticket's current version; null once it is canceled. */
  code: string | null;
  /** True for a ticket the caller received by a transfer; false for one of its own purchases. */
  received: boolean;
}

/** A page of a keyset-paginated list. */
export interface TransferPage<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * How long the Redis mark of an accept lives, in seconds: far longer than an accept takes between
 * the mark and PostgreSQL's commit, after which PostgreSQL (`tickets.holder_id`, which a buyer's
 * cancel reads first) holds it.
 */
export const TRANSFER_MARK_LIFETIME_SECONDS = 24 * 60 * 60;

/**
 * Offers one address may be sent in any hour, by any senders, as a multiple of
 * TICKET_TRANSFER_OFFERS_PER_HOUR (`N`): its `N` senders of the hour may each make `N` offers
 * (`N` × `N` e-mails) but together no more than 3 × `N`, past which only a sender that has made
 * fewer than {@link OFFERS_TO_ADDRESS_SHARE} offers to it in the hour may go on, up to that share.
 */
export const OFFERS_TO_ADDRESS_PER_SENDER_BOUND = 3;

/**
 * Offers to one address each sender may make in any hour whatever the address's offers in all: its
 * share, which other senders cannot use up, so a few accounts offering and canceling cannot close
 * an address to a friend's offers (it takes `N` of them, by the bound on different senders). The
 * address is then sent at most 3 × `N` + `N` × 3 offers an hour (6 × `N`).
 */
export const OFFERS_TO_ADDRESS_SHARE = 3;

/**
 * Ticket transfer: a ticket's holder offers it to an e-mail address, the account that confirmed that
 * address accepts it, and the ticket's code is reissued for it. The holder of a ticket is the account
 * of its last accepted transfer, else its purchase's buyer.
 *
 * Races, each decided in one place: an accept and the sender's cancel of one transfer, or two
 * accepts, by the transfer's row lock in PostgreSQL (TicketTransfersRepository); an accept and a
 * check-in of the ticket's old code by the ticket row (the accept's conditional UPDATE raises the
 * code version only while the ticket is not checked in, the check-in's admits only the current
 * version); an accept and a buyer's cancel of the purchase by Redis, as a check-in and a cancel are
 * (transfer-mark.lua before PostgreSQL's accept, cancel-purchase.lua refusing a marked purchase).
 */
@Injectable()
export class TicketTransferService {
  private readonly logger = new Logger(TicketTransferService.name);

  constructor(
    private readonly transfers: TicketTransfersRepository,
    private readonly tickets: TicketsRepository,
    private readonly marks: CheckInStore,
    private readonly codes: TicketCodes,
    private readonly clock: Clock,
    @Inject(Env) private readonly env: Env,
    private readonly deadMarks: DeadAcceptMarks,
  ) {}

  /**
   * Offers ticket `ticketId` (a bigint as canonical decimal digits) of its holder `senderId` to
   * `recipientEmail` (normalized as account addresses are): a PENDING transfer that expires after
   * TICKET_TRANSFER_OFFER_HOURS or at the performance's start, whichever is sooner, and the offer
   * e-mail to the address (urgent mail queue, through the outbox). Whether the address has an
   * account plays no part. Throws NotFoundError('ticket') for a ticket that does not exist or that
   * the caller does not hold (also one of a purchase not written to PostgreSQL yet: its tickets
   * have no ids), TransferToSelfError, TicketCanceledError (also a cancellation or a refund of its
   * seat still only in Redis), TicketCheckedInError, PerformanceCanceledError, PerformanceStartedError,
   * TransferPendingError (one pending offer per ticket), TransferLimitReachedError,
   * TooManyTransferOffersError (TICKET_TRANSFER_OFFERS_PER_HOUR offers by the sender in the last
   * hour, or offers to the address by that many other senders in it, or
   * {@link OFFERS_TO_ADDRESS_PER_SENDER_BOUND} times as many offers to the address in all, and the
   * sender's own {@link OFFERS_TO_ADDRESS_SHARE} of them made).
   */
  async offer(senderId: string, ticketId: string, recipientEmail: string): Promise<TicketTransferRecord> {
    const now = this.clock.now();
    const located = await this.tickets.locate(ticketId);
    // A cancel or refund still only in Redis leaves the ticket ACTIVE in PostgreSQL: read it as the
    // door does. One that lands after this read cancels the offer when it is written behind (and no
    // accept gets past transfer-mark.lua meanwhile).
    if (located && (await this.marks.ticketCanceled(located.performanceId, located.purchaseId, located.seatId))) {
      const held = await this.tickets.heldBy(senderId, (BigInt(ticketId) + 1n).toString(), 1);
      if (held[0]?.ticketId !== ticketId) throw new NotFoundError('ticket');
      throw new TicketCanceledError();
    }
    const result = await this.transfers.offer({
      id: randomUUID(),
      ticketId,
      senderId,
      recipientEmail,
      recipientEmailKey: emailKey(recipientEmail),
      now,
      ttlMs: this.env.TICKET_TRANSFER_OFFER_HOURS * 3_600_000,
      maxOffersPerHour: this.env.TICKET_TRANSFER_OFFERS_PER_HOUR,
      maxOffersToAddressPerHour: OFFERS_TO_ADDRESS_PER_SENDER_BOUND * this.env.TICKET_TRANSFER_OFFERS_PER_HOUR,
      offersToAddressPerSender: OFFERS_TO_ADDRESS_SHARE,
    });
    switch (result.outcome) {
      case 'CREATED':
        return result.transfer;
      case 'NOT_FOUND':
        throw new NotFoundError('ticket');
      case 'SELF':
        throw new TransferToSelfError();
      case 'TICKET_CANCELED':
        throw new TicketCanceledError();
      case 'CHECKED_IN':
        throw new TicketCheckedInError();
      case 'PERFORMANCE_CANCELED':
        throw new PerformanceCanceledError(located?.performanceId ?? 0, 'its tickets can no longer be transferred');
      case 'PERFORMANCE_STARTED':
        throw new PerformanceStartedError();
      case 'PENDING':
        throw new TransferPendingError();
      case 'CODE_VERSIONS_USED_UP':
        throw new TransferLimitReachedError();
      case 'TOO_MANY_OFFERS':
        throw new TooManyTransferOffersError(
          this.env.TICKET_TRANSFER_OFFERS_PER_HOUR,
          OFFERS_TO_ADDRESS_PER_SENDER_BOUND * this.env.TICKET_TRANSFER_OFFERS_PER_HOUR,
          OFFERS_TO_ADDRESS_SHARE,
        );
    }
  }

  /**
   * Accepts transfer `transferId` for `userId`: the ticket's holder becomes the caller and its code
   * is reissued (the old one answers TicketTransferred at the door from the commit on); the sender is
   * mailed. Only for an account whose confirmed address is the recipient's: NotFoundError for anyone
   * else (and for an unknown id), whatever the transfer's state. Throws TransferNotPendingError
   * (accepted, canceled, expired or declined; a canceled one with its reason, such as CHECKED_IN:
   * a check-in of the ticket ends its pending offer at once), TicketCanceledError (its purchase
   * canceled or its seat refunded, also while only in Redis), TicketCheckedInError (someone came in
   * on the old code first), PerformanceCanceledError.
   * Returns the transfer, ACCEPTED.
   */
  async accept(userId: string, transferId: string): Promise<TicketTransferRecord> {
    if (!isUuid(transferId)) throw new NotFoundError('transfer');
    const now = this.clock.now();
    const target = await this.transfers.acceptTarget(transferId, userId, now);
    if (!target) throw new NotFoundError('transfer');
    // A transfer no longer pending never is again: PostgreSQL refuses it (409 with its status)
    // without a mark, which would refuse the buyer's cancels meanwhile (or for the mark's whole
    // lifetime, were the api to stop before taking it back).
    const seat = { seatId: target.seatId, transferId };
    const mark = target.pending
      ? await this.marks.markTransfer(target.performanceId, target.purchaseId, seat, TRANSFER_MARK_LIFETIME_SECONDS)
      : null;
    // Refused before PostgreSQL saw anything; the flush of the cancellation cancels the transfer.
    if (mark?.outcome === 'CANCELED') throw new TicketCanceledError();
    if (mark?.outcome === 'PERFORMANCE_CANCELED') {
      throw new PerformanceCanceledError(target.performanceId, 'its tickets can no longer be transferred');
    }
    // Only the accept that set the mark takes it back, only while no accept of the ticket stands in
    // PostgreSQL (the mark of a concurrent accept that won stays until its expiry), and only while
    // the mark is still this transfer's: an offer made and accepted since then marked it as its own.
    const unmark = async () => {
      if (!mark?.added) return;
      if ((await this.tickets.transferredSeatIds(target.purchaseId)).includes(target.seatId)) return;
      await this.marks.unmarkTransfer(target.performanceId, target.purchaseId, seat);
    };
    let result;
    try {
      result = await this.transfers.accept(transferId, userId, now);
    } catch (error) {
      await unmark();
      throw error;
    }
    switch (result.outcome) {
      case 'ACCEPTED':
        return result.transfer;
      case 'NOT_FOUND':
        await unmark();
        throw new NotFoundError('transfer');
      case 'NOT_PENDING':
        await unmark();
        throw new TransferNotPendingError(result.status as SettledTransferStatus, result.cancelReason);
      case 'TICKET_CANCELED':
        await unmark();
        throw new TicketCanceledError();
      case 'CHECKED_IN':
        await unmark();
        throw new TicketCheckedInError();
      case 'PERFORMANCE_CANCELED':
        await unmark();
        throw new PerformanceCanceledError(target.performanceId, 'its tickets can no longer be transferred');
    }
  }

  /**
   * The sender's cancel of its pending transfer. NotFoundError for anyone else (the recipient
   * included) and for an unknown id; TransferNotPendingError once accepted, canceled, expired or
   * declined. The recipient is mailed that the offer is withdrawn (if the offer's e-mail went out).
   * A Redis mark an accept of it left when its process stopped before the commit is taken back
   * (`dropDeadAcceptMark`), so the buyer may cancel the purchase again.
   */
  async cancel(senderId: string, transferId: string): Promise<TicketTransferRecord> {
    if (!isUuid(transferId)) throw new NotFoundError('transfer');
    const result = await this.transfers.cancel(transferId, senderId, this.clock.now());
    switch (result.outcome) {
      case 'CANCELED':
        await this.dropDeadAcceptMark(transferId);
        return result.transfer;
      case 'NOT_FOUND':
        throw new NotFoundError('transfer');
      case 'NOT_PENDING':
        throw new TransferNotPendingError(result.status as SettledTransferStatus);
    }
  }

  /**
   * Takes back the Redis mark (transfer-mark.lua) an accept of transfer `transferId` left when its
   * process stopped between the mark and PostgreSQL's commit (an api killed), through
   * DeadAcceptMarks: once a cancel or a decline has settled the transfer, no accept of it can
   * commit, and the mark would refuse the buyer's cancel of the purchase (409 PurchaseTransferred)
   * for its whole lifetime (TRANSFER_MARK_LIFETIME_SECONDS). Kept while the ticket has a holder by
   * an accepted transfer or an offer of it is pending before its expiry (its accept may come). A failure
   * is logged, not thrown: the transfer is settled either way, and the mark expires.
   */
  private async dropDeadAcceptMark(transferId: string): Promise<void> {
    try {
      await this.deadMarks.takeBack({ transferId });
    } catch (error) {
      this.logger.warn(
        `transfer ${transferId} settled, but a mark an interrupted accept may have left in Redis was not taken ` +
          `back (${(error as Error).message}); it refuses the buyer's cancel until it expires`,
      );
    }
  }

  /**
   * The recipient's decline of pending transfer `transferId`, by `userId` whose confirmed address is
   * the recipient's: DECLINED, it can no longer be accepted, the ticket may be offered again, and the
   * sender is mailed. NotFoundError for anyone else (the sender included, an unconfirmed address,
   * an unknown id), whatever the transfer's state; TransferNotPendingError once accepted, canceled,
   * expired (also by a reschedule that moved the start before the expiry) or declined. A pending
   * offer marks nothing in Redis; a mark an accept of it left when its process stopped before the
   * commit is taken back (`dropDeadAcceptMark`).
   */
  async decline(userId: string, transferId: string): Promise<TicketTransferRecord> {
    if (!isUuid(transferId)) throw new NotFoundError('transfer');
    const result = await this.transfers.decline(transferId, userId, this.clock.now());
    switch (result.outcome) {
      case 'DECLINED':
        await this.dropDeadAcceptMark(transferId);
        return result.transfer;
      case 'NOT_FOUND':
        throw new NotFoundError('transfer');
      case 'NOT_PENDING':
        throw new TransferNotPendingError(result.status as SettledTransferStatus);
    }
  }

  /**
   * The transfers `userId` sent, and those sent to its address while that address is confirmed,
   * newest first: `limit` (1-100) a page after `cursor` (opaque; InvalidCursor 400 for one this list
   * did not write).
   */
  async list(userId: string, cursor: string | undefined, limit: number): Promise<TransferPage<TicketTransferRecord>> {
    const key = decodeCursor<{ c: string; i: string }>(cursor, { c: isInstantKey, i: isUuid });
    const after = key ? { createdAt: new Date(key.c), id: key.i.toLowerCase() } : null;
    const items = await this.transfers.listFor(userId, after, limit + 1, this.clock.now());
    const page = items.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page,
      nextCursor: items.length > limit && last ? encodeCursor({ c: last.createdAt.toISOString(), i: last.id }) : null,
    };
  }

  /**
   * The tickets `userId` holds, newest first: those of its own purchases it did not give away, and
   * those it received; each with the code of its current version (null once canceled). A ticket
   * whose purchase is canceled, or whose seat is refunded, in Redis (a buyer's cancel or an
   * operator's refund, whole or partial, not written to PostgreSQL yet) is CANCELED, without a code, at once, as the purchase routes and the door have
   * it. Tickets of a purchase not written to PostgreSQL yet are not listed (they have no ids, so
   * no codes, yet: see the purchase's ticket list, 409 TicketsNotIssued). `limit` (1-100) a page
   * after `cursor`. Costs one PostgreSQL query and, when the page has an ACTIVE ticket, one Redis
   * read of the page's purchases (see CheckInStore.canceledAmong). Throws InvalidInputError (cursor).
   */
  async held(userId: string, cursor: string | undefined, limit: number): Promise<TransferPage<HeldTicket>> {
    const key = decodeCursor<{ t: string }>(cursor, {
      t: (value) => typeof value === 'string' && /^[1-9]\d{0,18}$/.test(value) && BigInt(value) < 2n ** 63n,
    });
    const rows = await this.tickets.heldBy(userId, key?.t ?? null, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    // Redis read after PostgreSQL: a cancellation is in Redis before it is written behind, and the
    // purchase's hash stays there (FLUSHED_RETENTION_MS) after, so one PostgreSQL's read missed is
    // here. Only the page's ACTIVE tickets are asked about.
    const canceled = await this.marks.canceledAmong(page.filter((row) => row.status === TicketStatus.Active));
    return {
      items: page.map((row) => heldTicket(row, userId, canceled(row.purchaseId, row.seatId), this.codes)),
      nextCursor: rows.length > limit && last ? encodeCursor({ t: last.ticketId }) : null,
    };
  }
}

/**
 * A row of `GET /tickets` as its holder `userId` sees it: CANCELED without a code when PostgreSQL
 * says so or `canceledInRedis` (its purchase's cancellation, or its seat's refund, not written behind yet); else with the
 * signed code of its current version. A cancellation is never undone, so either store saying
 * CANCELED decides.
 */
export function heldTicket(
  { holderId, codeVersion, ...ticket }: TicketRecord,
  userId: string,
  canceledInRedis: boolean,
  codes: Pick<TicketCodes, 'sign'>,
): HeldTicket {
  const received = holderId === userId;
  if (ticket.status !== TicketStatus.Active || canceledInRedis) {
    return { ...ticket, status: TicketStatus.Canceled, received, code: null };
  }
  return { ...ticket, received, code: codes.sign({ ...ticket, codeVersion }) };
}
