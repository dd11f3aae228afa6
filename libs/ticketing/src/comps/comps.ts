import { Injectable, Logger } from '@nestjs/common';
import { Clock, DomainError, StoreUnavailableError } from '@app/core';
import {
  AdminAuditRepository,
  DroppedSeatBlock,
  PerformanceRepository,
  SeatBlocksRepository,
  UsersRepository,
} from '@app/database';
import { SEAT_RELEASE_ACTION } from '../blocks/seat-blocks';
import {
  InvalidInputError,
  NotFoundError,
  PerformanceCanceledError,
  SalesClosedError,
  SeatsUnavailableError,
} from '../errors';
import { CompHold, HoldService } from '../holds/hold.service';
import type { Operator } from '../purchases/admin-purchases';
import { Purchase } from '../purchases/purchase';
import { PurchaseService } from '../purchases/purchase.service';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';

/** The audit action of an operator's comp issue. */
export const COMP_ISSUE_ACTION = 'comp.issue';

/**
 * The most seats one comp issue may give (one purchase, one e-mail with a QR code a seat): more
 * than a buyer may hold (MAX_SEATS_PER_RESERVATION), as a press or sponsor allocation needs; a
 * larger allocation is several comps.
 */
export const MAX_SEATS_PER_COMP = 20;

/** The longest note of a comp (who and why), in characters. */
export const MAX_COMP_NOTE_LENGTH = 200;

/** Why a comp has no recipient: no account has the address, or the account has not confirmed it. */
export type RecipientMissing = 'NO_ACCOUNT' | 'NOT_CONFIRMED';

/**
 * A comp goes to an account whose **confirmed** address is the one given, as a ticket transfer's
 * recipient must be (the same lookup: the address's full case fold, `users.email_key`, and
 * `email_verified_at` set). 404 `RecipientNotFound`, `details.reason` saying which; nothing held.
 */
export class RecipientNotFoundError extends DomainError {
  constructor(email: string, reason: RecipientMissing) {
    super(
      'not_found',
      'RecipientNotFound',
      reason === 'NO_ACCOUNT'
        ? `no account has the address ${email}: the recipient signs up first, or issue it to a guest (guest: {email, name})`
        : `the account of ${email} has not confirmed its address: the recipient confirms it first, or issue it to a guest (guest: {email, name})`,
      // The code in the details, as EmailNotVerified's: a client tells it from an unknown performance's 404.
      { code: 'RecipientNotFound', email, reason },
    );
  }
}

/** The performance has started (or is over): no comp is issued for it any more. */
export class CompPerformanceStartedError extends DomainError {
  constructor(performanceId: number, startsAt: Date) {
    super('conflict', 'PerformanceStarted', `performance ${performanceId} has started: no comps can be issued for it`, {
      performanceId,
      startsAt: startsAt.toISOString(),
    });
  }
}

/** The longest name of a guest comp's guest, in characters (as a box office sale's walk-up). */
export const MAX_COMP_GUEST_NAME_LENGTH = 200;

/**
 * A guest comp's recipient: someone without an account (or whose account is not confirmed) — an
 * artist's guest, the press, a sponsor — named by the address its tickets are e-mailed to and the
 * name the e-mail, the door's scan and the door list show.
 */
export interface CompGuest {
  /** Where the tickets go (normalized as account addresses are); no account needed. */
  email: string;
  /** 1 to MAX_COMP_GUEST_NAME_LENGTH characters. */
  name: string;
}

/**
 * What an operator asks for: the seats of a performance for the account of `email`, or for a
 * `guest` without one (exactly one of the two), with a note.
 */
export interface CompRequest {
  performanceId: number;
  /** The recipient account's address, in any letter case (normalized as account addresses are). */
  email?: string;
  /**
   * Instead of `email`: a guest comp, held under the issuing operator's account for a guest
   * without one, as a walk-up's box office sale is (see CompService.issue).
   */
  guest?: CompGuest;
  /** 1 to MAX_SEATS_PER_COMP seat ids of the performance, each once. */
  seatIds: number[];
  /** Who and why ("press: Daily Planet"), 1 to MAX_COMP_NOTE_LENGTH characters. */
  note: string;
  /**
   * The seats may be blocked ones (house seats kept for comps) as well as available ones: the
   * blocked seats leave their block and go into the comp in one atomic step (see CompService.issue).
   * Absent or false: a blocked seat refuses the comp, as a held or sold one does.
   */
  includeBlocked?: boolean;
}

/** What a comp's hold keeps: the note, and a guest comp's guest (where its e-mails go). */
interface HeldComp {
  note: string;
  guest?: CompGuest;
}

/** A guest as the route checks it (a caller other than the route must not store a longer name). */
function assertGuest(guest: CompGuest): void {
  if (typeof guest !== 'object' || guest === null || typeof guest.email !== 'string' || guest.email === '') {
    throw new InvalidInputError('guest.email must be an e-mail address');
  }
  const { name } = guest;
  if (typeof name !== 'string' || name.trim() === '' || [...name].length > MAX_COMP_GUEST_NAME_LENGTH) {
    throw new InvalidInputError(`guest.name must be 1 to ${MAX_COMP_GUEST_NAME_LENGTH} characters`);
  }
}

/**
 * Comps: complimentary tickets an operator issues to a named recipient (press, artists' guests,
 * sponsors). A comp is a free purchase on the sale's own path: a hold of the seats for the
 * recipient (all or none, atomically in Redis, hold-comp-seats.lua: every seat priced 0, the note
 * on the hold, no sales window, no per-user limits), then the recipient's purchase of that hold
 * (PurchaseService: amount 0, so no payment step), written behind by `batch` with its tickets and
 * the usual confirmation e-mail, and the note (`purchases.comp_note`). Then an audit row.
 * The hold is the comp path's alone: the buyer's routes neither show, buy nor release it.
 * A guest comp (`guest` instead of `email`: someone without an account) is held and bought under
 * the issuing operator's account, as a walk-up's box office sale is under the clerk's, with the
 * guest's address and name as its delivery address (`deliveryEmail`, `deliveryName`): the venue's
 * (sale channel BOX_OFFICE, no payment method), in none of that account's buyer views, its tickets
 * e-mailed to the guest, who is their holder at the door and on the door list.
 */
@Injectable()
export class CompService {
  private readonly logger = new Logger(CompService.name);

  constructor(
    private readonly users: UsersRepository,
    private readonly performances: PerformanceRepository,
    private readonly holds: HoldService,
    private readonly seatState: SeatStateRebuilder,
    private readonly purchases: PurchaseService,
    private readonly audit: AdminAuditRepository,
    private readonly blocks: SeatBlocksRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * Issues a comp: the seats become the recipient's purchase (PAID, amount 0, `compNote`), or
   * nothing changes. With `guest` (instead of `email`), the purchase is the operator's account's,
   * the venue's, delivered to the guest (see the class); no account is looked up. Allowed before the on-sale, while sales are paused or closed and after they
   * ended; refused for a canceled performance or one that has started. A retried request finds
   * its seats sold (409), so a comp is never issued twice. The audit row (`comp.issue`) is written
   * after the comp (as a refund's is): a process killed between the two leaves a comp without its
   * row, still told apart by its note; its `details` name the guest of a guest comp (`guest`,
   * `recipientEmail` its address, `recipientId` null). Throws InvalidInputError (also both or
   * neither of `email` and `guest`), NotFoundError (performance,
   * seats), RecipientNotFoundError, PerformanceCanceledError, CompPerformanceStartedError,
   * SalesClosedError (CLOSED: a delete of the performance is under way), SeatsUnavailableError
   * (naming the seats held, sold or blocked), and the purchase's errors (PurchaseNotReplicatedError).
   * The hold and its purchase are the comp path's (HoldService.holdComp, PurchaseService.purchaseOperatorHold):
   * a process killed between the two leaves a hold its recipient cannot see, buy or release, which
   * expires as any hold and frees its seats.
   *
   * With `includeBlocked`, each seat may be available or blocked (a house seat), never held or sold:
   * under the performance's row lock (the one blocks, releases, rebuilds and the seat reconciler
   * take), the hold script takes the blocked seats out of the block into the comp's hold in the same
   * run that takes the others, the comp is bought, and the seats' `seat_blocks` rows are deleted in
   * the lock's transaction (a `seat.release` audit row, `cause: "comp"`), which commits after the
   * sale: no buyer can take a house seat in between, and nothing rebuilds the block or puts the seat
   * on sale afterwards. A failure before the commit puts the seats back in the block (in Redis, and
   * the rows stay). The `comp.issue` row then also names the blocks taken (`fromBlocks`). Also throws
   * StoreUnavailableError (503: Redis lost the performance while the lock was held) and
   * DatabaseUnavailableError.
   */
  async issue(operator: Operator, request: CompRequest): Promise<Purchase> {
    const { performanceId, seatIds, note, guest } = request;
    // The edge checks these too; a caller other than the route must not store a longer note.
    if (typeof note !== 'string' || note.trim() === '' || [...note].length > MAX_COMP_NOTE_LENGTH) {
      throw new InvalidInputError(`note must be 1 to ${MAX_COMP_NOTE_LENGTH} characters`);
    }
    const includeBlocked = request.includeBlocked ?? false;
    if (typeof includeBlocked !== 'boolean') throw new InvalidInputError('includeBlocked must be true or false');
    if ((request.email === undefined) === (guest === undefined)) {
      throw new InvalidInputError('give email (an account) or guest (someone without one), not both');
    }
    let owner: { id: string; email: string | null; guest?: CompGuest };
    if (guest !== undefined) {
      assertGuest(guest);
      // The operator's account holds it, as a window clerk's holds a walk-up's sale: the venue's.
      owner = { id: operator.id, email: null, guest };
    } else {
      const email = request.email!;
      const recipient = await this.users.findByEmail(email);
      if (!recipient) throw new RecipientNotFoundError(email, 'NO_ACCOUNT');
      if (!recipient.emailVerifiedAt) throw new RecipientNotFoundError(email, 'NOT_CONFIRMED');
      owner = { id: recipient.id, email: recipient.email };
    }
    const performance = await this.performances.findById(performanceId);
    if (!performance) throw new NotFoundError('performance', { performanceId });
    if (performance.status === 'CANCELED') {
      throw new PerformanceCanceledError(performanceId, 'no comps can be issued for it');
    }
    if (performance.startsAt.getTime() <= this.clock.nowMs()) {
      throw new CompPerformanceStartedError(performanceId, performance.startsAt);
    }

    let purchase: Purchase;
    let fromBlocks: DroppedSeatBlock[] | null = null;
    const held = { note, guest: owner.guest };
    if (includeBlocked) {
      ({ purchase, fromBlocks } = await this.fromBlocks(operator, owner.id, performanceId, seatIds, held));
    } else {
      purchase = await this.bought(owner.id, await this.holdSeats(owner.id, performanceId, seatIds, held));
    }
    await this.audit.record({
      actorId: operator.id,
      actorEmail: operator.email,
      action: COMP_ISSUE_ACTION,
      subjectId: purchase.id,
      details: {
        performanceId,
        // A guest comp has no recipient account: the guest is named instead (held by the actor's).
        recipientId: owner.guest ? null : owner.id,
        recipientEmail: owner.guest ? owner.guest.email : owner.email,
        ...(owner.guest ? { guest: { email: owner.guest.email, name: owner.guest.name } } : {}),
        seatIds: purchase.seatIds,
        note,
        ...(fromBlocks === null ? {} : { includeBlocked: true, fromBlocks }),
      },
    });
    this.logger.log(
      `comp ${purchase.id} of performance ${performanceId}: ${seatIds.length} seats to ${owner.guest ? `a guest (held by ${owner.id})` : owner.id}`,
    );
    // As the purchase's record has them (the sale's step answers the seats and money alone).
    const delivery = owner.guest ? { deliveryEmail: owner.guest.email, deliveryName: owner.guest.name } : {};
    return { ...purchase, compNote: note, ...delivery };
  }

  /**
   * The comp with `includeBlocked` (see {@link issue}): its hold (taking blocked seats too) and its
   * purchase under the performance's row lock, whose transaction deletes the seats' blocks (audited
   * as their release, `cause: "comp"`) and commits after the sale. Answers the purchase and the
   * blocks it took (by seat id ascending).
   */
  private async fromBlocks(
    operator: Operator,
    recipientId: string,
    performanceId: number,
    seatIds: number[],
    held: HeldComp,
  ): Promise<{ purchase: Purchase; fromBlocks: DroppedSeatBlock[] }> {
    // Before the row lock: a rebuild reads under the row's share lock (SeatStateRebuilder).
    await this.seatState.ensure(performanceId);
    const change = await this.blocks.takeForComp(
      performanceId,
      seatIds,
      async () => {
        const hold = await this.holds
          .holdComp(recipientId, performanceId, seatIds, held.note, MAX_SEATS_PER_COMP, {
            takeBlocked: true,
            ...(held.guest ? { guest: held.guest } : {}),
          })
          .catch((error: unknown) => {
            // Lost again since ensure(): not rebuilt under the lock (the rebuild waits for it).
            if (error instanceof NotFoundError && error.details?.seatIds === undefined) {
              throw new StoreUnavailableError(
                'redis',
                new Error(`performance ${performanceId} left Redis again while its comp was issued`),
              );
            }
            throw this.named(error, performanceId);
          });
        return this.bought(recipientId, hold);
      },
      (purchase) => purchase.id,
      (taken, purchase) => ({
        actorId: operator.id,
        actorEmail: operator.email,
        action: SEAT_RELEASE_ACTION,
        subjectId: `performance:${performanceId}`,
        details: {
          performanceId,
          seatIds: taken.map((block) => block.seatId),
          cause: 'comp',
          purchaseId: purchase.id,
          blocks: taken,
        },
      }),
    );
    switch (change.outcome) {
      case 'NOT_FOUND':
        throw new NotFoundError('performance', { performanceId });
      case 'CANCELED':
        throw new PerformanceCanceledError(performanceId, 'no comps can be issued for it');
      case 'UNKNOWN_SEATS':
        throw new NotFoundError('seat', { performanceId, seatIds: change.seatIds });
      case 'SOLD':
        throw new SeatsUnavailableError(change.seatIds);
    }
    return { purchase: change.result, fromBlocks: change.taken };
  }

  /**
   * The recipient's purchase of the comp's hold (PurchaseService.purchaseOperatorHold). When it fails the
   * comp did not happen: the hold is released on the comp path (its seats taken from blocked ones
   * back to blocked, the others on sale; a hold bought after all is left as it is).
   */
  private async bought(recipientId: string, hold: CompHold): Promise<Purchase> {
    try {
      return await this.purchases.purchaseOperatorHold(recipientId, hold.id);
    } catch (error) {
      await this.holds.releaseOperatorHold(recipientId, hold.id).catch(() => undefined);
      throw this.named(error, hold.performanceId);
    }
  }

  /**
   * The comp's hold (HoldService.holdComp); a performance whose live state Redis lost is rebuilt
   * from PostgreSQL once and held again, as a buyer's hold is (HoldDesk).
   */
  private async holdSeats(userId: string, performanceId: number, seatIds: number[], held: HeldComp): Promise<CompHold> {
    const hold = () =>
      held.guest
        ? this.holds.holdComp(userId, performanceId, seatIds, held.note, MAX_SEATS_PER_COMP, { guest: held.guest })
        : this.holds.holdComp(userId, performanceId, seatIds, held.note, MAX_SEATS_PER_COMP);
    try {
      return await hold();
    } catch (error) {
      const lost = error instanceof NotFoundError && error.details?.seatIds === undefined;
      if (!lost) throw this.named(error, performanceId);
      await this.seatState.ensure(performanceId);
      return hold().catch((again: unknown) => {
        throw this.named(again, performanceId);
      });
    }
  }

  /** A canceled performance's refusal, worded for comps; anything else as it is. */
  private named(error: unknown, performanceId: number): unknown {
    return error instanceof SalesClosedError && error.details?.reason === 'CANCELED'
      ? new PerformanceCanceledError(performanceId, 'no comps can be issued for it')
      : error;
  }
}
