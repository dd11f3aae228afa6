import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import {
  AccessCodeInvalidError,
  PresaleAllocationExhaustedError,
  PresaleNotOpenError,
  DomainError,
  TooManyAccessCodeAttemptsError,
  HoldExpiredError,
  HoldLimitExceededError,
  HoldPurchasedError,
  HoldReleasedError,
  IdempotencyKeyInUseError,
  NotFoundError,
  SalesClosedError,
  SalesNotOpenError,
  SeatsUnavailableError,
  SingleSeatLeftError,
  TicketLimitExceededError,
  InvalidInputError,
  NoSeatsFitError,
} from '../errors';
import { HoldBestAvailableRequest, HoldBestAvailableResult, SeatScope } from './best-available-scripts';
import { HoldCompSeatsRequest, HoldOutcome, HoldReplay, HoldSeatsRequest, HoldSeatsResult } from './hold-scripts';
import { fitsId, newIdOf } from '../ids';
import { assertIdempotencyKey, assertPerformanceId, assertSeatIds, assertUserId } from '../input';
import { digestOfKey } from '../purchases/idempotency';
import {
  accessCodeDigest,
  assertAccessCode,
  PRESALE_MISS_LIMIT,
  PRESALE_MISS_WINDOW_MS,
} from '../presales/access-code';
import { Hold, HOLD_RETENTION_MS, holdFromRecord, isOperatorHold } from './hold';
import { HoldStore } from './hold.store';

/**
 * A buyer's best-available request (HoldService.holdBestAvailable); `accessCode`: a presale's
 * access code, as HoldService.hold takes it.
 */
export interface BestAvailableAsk {
  performanceId: number;
  quantity: number;
  together: boolean;
  accessible: boolean;
  scope: SeatScope;
  accessCode?: string;
}

/** A comp's hold (HoldService.holdComp): `fromBlocked`, the seats it took from blocked ones, in request order. */
export interface CompHold extends Hold {
  fromBlocked: number[];
}

/** Atomic, all-or-nothing seat holds that expire on Redis time; Redis is reached through HoldStore. */
@Injectable()
export class HoldService {
  constructor(
    private readonly store: HoldStore,
    @Inject(Env) private readonly env: Env,
  ) {}

  /**
   * Holds all of `seatIds` for the caller, or none, in one Redis round trip. The hold's id
   * carries `performanceId` (`../ids.ts`). Throws InvalidInputError, NotFoundError (performance
   * or seats; `seating` when noOrphanSeats is on and the seating data is missing: HoldDesk builds
   * it and asks again), SalesNotOpenError, SalesClosedError, SeatsUnavailableError (naming the
   * caller's own live holds that have some of the seats, see {@link refusedSeats}),
   * HoldLimitExceededError, TicketLimitExceededError (the performance's maxTicketsPerBuyer),
   * SingleSeatLeftError.
   *
   * With an `idempotencyKey` (1–200 printable ASCII characters, else InvalidInputError), scoped to
   * the user and the performance: the first request the key makes a hold for is its request; a
   * later one for the same seats (in any order) answers that hold as it was first answered (same
   * id, seats, prices, expiresAt; status HELD) and holds nothing, whatever became of the hold since
   * and whatever the limits or sales window say now; one for other seats, or in the best-available
   * form, throws IdempotencyKeyInUseError. The key and its answer are checked and recorded in the
   * hold script's own run, so concurrent requests with one key make one hold. A refused request
   * records nothing: its retry runs again.
   *
   * With an `accessCode` (4–64 printable ASCII characters, else InvalidInputError): before
   * salesOpenAt, while a presale of the performance is open, the code of one of them lets the hold
   * in (all other rules as usual; the hold records the presale, so its purchase goes through before
   * the on-sale); without one the hold is refused SalesNotOpenError naming the open presales, with
   * another code AccessCodeInvalidError (nothing held), counted: past PRESALE_MISS_LIMIT wrong codes
   * within PRESALE_MISS_WINDOW_MS (per user and performance) every hold with a code is refused
   * TooManyAccessCodeAttemptsError (429, Retry-After: the rest of the window), the code unchecked.
   * Outside every presale, and from salesOpenAt on, the code is ignored. Checked in the hold script's own run (PresaleService keeps the windows).
   */
  hold(
    userId: string,
    performanceId: number,
    seatIds: number[],
    idempotencyKey?: string,
    accessCode?: string,
  ): Promise<Hold> {
    // Without `async`/`await` (one promise a hold fewer); a refused request is a rejection as before.
    let request: HoldSeatsRequest;
    try {
      request = this.seatsRequest(userId, performanceId, seatIds, idempotencyKey, accessCode);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.store
      .hold(request)
      .then((result) =>
        result.outcome === 'UNAVAILABLE' ? this.refusedSeats(request, result.seatIds) : this.heldSeats(request, result),
      );
  }

  /**
   * The refusal of seats not available, telling the caller which of them are in their own live
   * holds of the performance (a second tab, a retried request), read only now: the refusal costs a
   * read of the caller's holds (HoldStore.userHolds), a hold that succeeds nothing. When that read
   * fails, the refusal goes without the hint.
   */
  private async refusedSeats(request: HoldSeatsRequest, seatIds: number[]): Promise<never> {
    const refused = new Set(seatIds);
    let heldByYou: { reservationId: string; seatIds: number[] }[] = [];
    try {
      heldByYou = (await this.listLive(request.userId))
        .filter((hold) => hold.performanceId === request.performanceId)
        .map((hold) => ({ reservationId: hold.id, seatIds: hold.seatIds.filter((id) => refused.has(id)) }))
        .filter((hold) => hold.seatIds.length > 0);
    } catch {
      // The seats are not available either way: the answer stays the 409, only without the hint.
    }
    throw new SeatsUnavailableError(seatIds, heldByYou);
  }

  /** The hold script's request for {@link hold}; throws what `hold` rejects with before Redis is asked. */
  private seatsRequest(
    userId: string,
    performanceId: number,
    seatIds: number[],
    idempotencyKey: string | undefined,
    accessCode: string | undefined,
  ): HoldSeatsRequest {
    assertUserId(userId);
    if (idempotencyKey !== undefined) assertIdempotencyKey(idempotencyKey);
    if (accessCode !== undefined) assertAccessCode(accessCode);
    assertPerformanceId(performanceId);
    // Asking for more seats than a hold may have is a limit, not malformed input.
    if (Array.isArray(seatIds) && seatIds.length > this.env.MAX_SEATS_PER_RESERVATION) {
      throw new HoldLimitExceededError(this.env.MAX_SEATS_PER_RESERVATION, null, seatIds.length);
    }
    assertSeatIds(seatIds, this.env.MAX_SEATS_PER_RESERVATION);

    // No performance id beyond what an id carries exists (PostgreSQL integer).
    if (!fitsId(performanceId)) throw new NotFoundError('performance', { performanceId });
    // The id carries the performance: the hold is found by its id without a pointer key.
    return {
      holdId: newIdOf(performanceId),
      userId,
      performanceId,
      seatIds,
      lifetimeMs: this.env.RESERVATION_TTL_SECONDS * 1000,
      userLimit: this.env.MAX_SEATS_PER_RESERVATION,
      retentionMs: HOLD_RETENTION_MS,
      // A plain property (not a spread) keeps the object literal of every hold as cheap as before.
      keyDigest: idempotencyKey === undefined ? undefined : digestOfKey(idempotencyKey),
      accessCodeDigest: accessCode === undefined ? undefined : accessCodeDigest(performanceId, accessCode),
    };
  }

  /** The hold the script made for `request`, or the error its outcome names (UNAVAILABLE: refusedSeats). */
  private heldSeats(request: HoldSeatsRequest, result: Exclude<HoldSeatsResult, { outcome: 'UNAVAILABLE' }>): Hold {
    const { performanceId, seatIds } = request;
    switch (result.outcome) {
      case 'OK':
        break;
      case 'UNKNOWN_SEATS':
        throw new NotFoundError('seat', { performanceId, seatIds: result.seatIds });
      case 'SINGLE_LEFT':
        throw new SingleSeatLeftError(result.singleSeatId, result.besideSeatId);
      case 'REPLAY':
        return replayedHold(request, result);
      default:
        throw holdRefusal(result, performanceId, this.env.MAX_SEATS_PER_RESERVATION, seatIds.length);
    }
    return madeHold(request, result);
  }

  /**
   * Holds `seatIds` for a comp (complimentary tickets an operator issues) to `userId`, the
   * recipient, all or none, in one Redis round trip (hold-comp-seats.lua): the sales window, the
   * per-user limits and noOrphanSeats do not apply, every seat is priced 0 (amount 0), and the hold
   * keeps `note`, which its purchase carries. The hold is the comp path's: not listed among the
   * recipient's holds nor counted against their limit, and invisible to the buyer's reads, purchase
   * and release (see {@link get}); only PurchaseService.purchaseOperatorHold buys it and {@link releaseOperatorHold}
   * releases it; left alone it expires as any hold. Only the caller (CompService) checks that the
   * performance has not started. `maxSeats` bounds `seatIds` (MAX_SEATS_PER_COMP). With
   * `takeBlocked` (only under the performance's row lock, in the transaction that deletes those
   * seats' blocks: CompService's includeBlocked), blocked seats are taken as available ones are, in
   * the same script run, and answered in `fromBlocked`. Throws InvalidInputError, NotFoundError
   * (performance, not registered in Redis: rebuild it and ask again; seats, with
   * `details.seatIds`), SalesClosedError (CANCELED, or CLOSED while a delete runs),
   * SeatsUnavailableError (held by a live hold, sold, or blocked without `takeBlocked`; nothing held).
   * With `guest` (a guest comp: `userId` is then the issuing operator's account, holding it for a
   * guest without an account of their own), the hold keeps the guest's address and name, which its
   * purchase carries: its e-mails go there, and the purchase is the venue's as a box office sale is.
   */
  async holdComp(
    userId: string,
    performanceId: number,
    seatIds: number[],
    note: string,
    maxSeats: number,
    { takeBlocked = false, guest }: { takeBlocked?: boolean; guest?: { email: string; name: string } } = {},
  ): Promise<CompHold> {
    assertUserId(userId);
    assertPerformanceId(performanceId);
    assertSeatIds(seatIds, maxSeats);
    if (typeof note !== 'string' || note.length === 0) throw new InvalidInputError('note must not be empty');
    if (!fitsId(performanceId)) throw new NotFoundError('performance', { performanceId });
    const request: HoldCompSeatsRequest = {
      holdId: newIdOf(performanceId),
      userId,
      performanceId,
      seatIds,
      sale: { kind: 'COMP', note, ...(guest ? { deliveryEmail: guest.email, deliveryName: guest.name } : {}) },
      takeBlocked,
      lifetimeMs: this.env.RESERVATION_TTL_SECONDS * 1000,
      retentionMs: HOLD_RETENTION_MS,
    };
    return this.operatorHold(request);
  }

  /**
   * Holds `seatIds` for a box office sale to `userId`, the selling staff or admin account, all or
   * none, in one Redis round trip (hold-comp-seats.lua): at the seats' current prices, with the
   * payment method taken at the window, one ticket id a seat (`ticketIds`, in the order of
   * `seatIds`: taken ahead, so the sale answers its codes) and where its e-mails go
   * (`deliveryEmail`, `deliveryName`, optional), which its purchase carries; no
   * per-user limit, maxTicketsPerBuyer or noOrphanSeats; from salesOpenAt on, while ON_SALE or
   * CLOSED by status and after salesCloseAt. The hold is the operator path's, as a comp's (see
   * {@link holdComp}): only PurchaseService.purchaseOperatorHold buys it and
   * {@link releaseOperatorHold} releases it. Only the caller (BoxOfficeService) checks the
   * performance's door has not closed. Throws InvalidInputError, NotFoundError (as holdComp),
   * SalesNotOpenError, SalesClosedError (CANCELED, PAUSED, or CLOSED while a delete runs),
   * SeatsUnavailableError (held by a live hold, sold or blocked; nothing held).
   */
  async holdBoxOffice(
    userId: string,
    performanceId: number,
    seatIds: number[],
    sale: { paymentMethod: string; ticketIds: string[]; deliveryEmail?: string; deliveryName?: string },
    maxSeats: number,
  ): Promise<Hold> {
    assertUserId(userId);
    assertPerformanceId(performanceId);
    assertSeatIds(seatIds, maxSeats);
    if (sale.ticketIds.length !== seatIds.length) throw new InvalidInputError('one ticket id per seat');
    if (!fitsId(performanceId)) throw new NotFoundError('performance', { performanceId });
    return this.operatorHold({
      holdId: newIdOf(performanceId),
      userId,
      performanceId,
      seatIds,
      sale: { kind: 'BOX_OFFICE', ...sale },
      lifetimeMs: this.env.RESERVATION_TTL_SECONDS * 1000,
      retentionMs: HOLD_RETENTION_MS,
    });
  }

  /** An operator's hold (a comp's, a box office sale's), its refusals as errors. */
  private async operatorHold(request: HoldCompSeatsRequest): Promise<CompHold> {
    const { performanceId } = request;
    const result = await this.store.holdComp(request);
    switch (result.outcome) {
      case 'NO_PERFORMANCE':
        throw new NotFoundError('performance', { performanceId });
      case 'UNKNOWN_SEATS':
        throw new NotFoundError('seat', { performanceId, seatIds: result.seatIds });
      case 'SALES_CLOSED':
        throw new SalesClosedError(result.reason);
      case 'SALES_NOT_OPEN':
        throw new SalesNotOpenError(new Date(result.salesOpenAt));
      case 'UNAVAILABLE':
        throw new SeatsUnavailableError(result.seatIds);
    }
    return { ...madeHold(request, result), fromBlocked: result.fromBlocked };
  }

  /**
   * Picks the best available seats for a party and holds them, in one Redis script run (the
   * ladder of docs/seating.md: TOGETHER, TOGETHER_WITH_GAP, ADJACENT_ROWS, then SPLIT only when
   * `together` is false); the hold's `arrangement` names the rung. `quantity` is 1…
   * MAX_SEATS_PER_RESERVATION (a positive integer above it: HoldLimitExceededError, as seat ids);
   * `scope` narrows the seats to one grade or one section (by name).
   * Throws InvalidInputError, NotFoundError (performance, section, grade; `seating` when the
   * performance has no seating data yet: HoldDesk builds it and asks again), SalesNotOpenError,
   * SalesClosedError, HoldLimitExceededError, TicketLimitExceededError, NoSeatsFitError (nothing held),
   * AccessCodeInvalidError. `request.accessCode`: a presale's access code, as for {@link hold}.
   * With an `idempotencyKey`, as {@link hold}: a retry with the same quantity, together, accessible
   * and grade or section (in any casing) answers the seats the first request held, holding nothing;
   * another request with the key throws IdempotencyKeyInUseError.
   */
  holdBestAvailable(userId: string, request: BestAvailableAsk, idempotencyKey?: string): Promise<Hold> {
    // Without `async`/`await`, as `hold`.
    let scripted: HoldBestAvailableRequest;
    try {
      scripted = this.bestAvailableRequest(userId, request, idempotencyKey);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.store.holdBestAvailable(scripted).then((result) => this.heldBestAvailable(scripted, result));
  }

  /** The script's request for {@link holdBestAvailable}; throws what it rejects with before Redis is asked. */
  private bestAvailableRequest(
    userId: string,
    request: BestAvailableAsk,
    idempotencyKey: string | undefined,
  ): HoldBestAvailableRequest {
    const { performanceId, quantity, together, accessible, scope } = request;
    assertUserId(userId);
    if (idempotencyKey !== undefined) assertIdempotencyKey(idempotencyKey);
    if (request.accessCode !== undefined) assertAccessCode(request.accessCode);
    assertPerformanceId(performanceId);
    const limit = this.env.MAX_SEATS_PER_RESERVATION;
    if (!Number.isInteger(quantity) || quantity < 1) {
      throw new InvalidInputError('quantity must be a positive integer', { quantity });
    }
    // Asking for more seats than a hold may have is the limit, as for seat ids (seatsRequest).
    if (quantity > limit) throw new HoldLimitExceededError(limit, null, quantity);
    if (!fitsId(performanceId)) throw new NotFoundError('performance', { performanceId });
    return {
      holdId: newIdOf(performanceId),
      userId,
      performanceId,
      quantity,
      together,
      accessible,
      scope,
      lifetimeMs: this.env.RESERVATION_TTL_SECONDS * 1000,
      userLimit: limit,
      retentionMs: HOLD_RETENTION_MS,
      // A plain property (not a spread) keeps the object literal of every hold as cheap as before.
      keyDigest: idempotencyKey === undefined ? undefined : digestOfKey(idempotencyKey),
      accessCodeDigest:
        request.accessCode === undefined ? undefined : accessCodeDigest(performanceId, request.accessCode),
    };
  }

  /** The hold the script made for `request`, or the error its outcome names. */
  private heldBestAvailable(request: HoldBestAvailableRequest, result: HoldBestAvailableResult): Hold {
    const { holdId, userId, performanceId, quantity, together, accessible, scope } = request;
    const limit = request.userLimit;
    switch (result.outcome) {
      case 'OK':
        break;
      case 'UNKNOWN_SECTION':
        throw new NotFoundError('section', { performanceId, section: scope.kind === 'section' ? scope.section : null });
      case 'UNKNOWN_GRADE':
        throw new NotFoundError('grade', { performanceId, grade: scope.kind === 'grade' ? scope.grade : null });
      case 'NO_FIT':
        throw new NoSeatsFitError(quantity, together, accessible, result.reason, scope);
      case 'REPLAY':
        return replayedHold(request, result);
      default:
        throw holdRefusal(result, performanceId, limit, quantity);
    }
    return {
      id: holdId,
      performanceId,
      userId,
      seatIds: result.seatIds,
      amount: result.amount,
      seatPrices: result.seatPrices,
      currency: result.currency,
      status: 'HELD',
      expiresAt: new Date(result.expiresAt),
      arrangement: result.arrangement,
    };
  }

  /**
   * The caller's hold; anyone else's, or an unknown id, is not found, and so is an operator's hold
   * (a comp's, {@link holdComp}, or a box office sale's, {@link holdBoxOffice}), which is the
   * operator path's and never its owner's to see.
   */
  async get(userId: string, holdId: string): Promise<Hold> {
    const { record, now } = await this.store.read(await this.performanceOf(holdId), holdId);
    if (record.userId !== userId || isOperatorHold(record)) throw new NotFoundError('reservation');
    return holdFromRecord(holdId, record, now);
  }

  /**
   * The caller's live holds (HELD, not expired by Redis time), across performances, soonest to
   * expire first. A user has at most `MAX_SEATS_PER_RESERVATION` held seats per performance, so
   * the list is short and comes whole, without pages.
   */
  async listLive(userId: string): Promise<Hold[]> {
    assertUserId(userId);
    const { holds, now } = await this.store.userHolds(userId);
    // An operator's hold is not indexed under its owner; one an earlier version indexed is left out too.
    return holds
      .filter(({ record }) => !isOperatorHold(record))
      .map(({ id, record }) => holdFromRecord(id, record, now))
      .filter((hold) => hold.status === 'HELD')
      .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || a.id.localeCompare(b.id));
  }

  /**
   * Frees the caller's live hold now; a hold that has ended already (released too) is a conflict.
   * An operator's hold (a comp's, a box office sale's) is not found ({@link releaseOperatorHold} ends it).
   */
  release(userId: string, holdId: string): Promise<void> {
    return this.ended(userId, holdId, false);
  }

  /**
   * Frees an operator's hold (a comp's, a box office sale's) now, on the operator path (CompService
   * or BoxOfficeService, when its purchase failed); only an operator's hold: any other is not found.
   * Throws as {@link release}.
   */
  releaseOperatorHold(ownerId: string, holdId: string): Promise<void> {
    return this.ended(ownerId, holdId, true);
  }

  /** Ends the hold (release-hold.lua; `operator`: on the operator path), or throws what its outcome names. */
  private async ended(userId: string, holdId: string, operator: boolean): Promise<void> {
    const result = await this.store.release(await this.performanceOf(holdId), holdId, userId, operator);
    switch (result) {
      case 'NOT_FOUND':
        throw new NotFoundError('reservation');
      case 'ALREADY_RELEASED':
        throw new HoldReleasedError();
      case 'EXPIRED':
        throw new HoldExpiredError();
      case 'PURCHASED':
        throw new HoldPurchasedError();
    }
  }

  private async performanceOf(holdId: string): Promise<number> {
    const performanceId = await this.store.performanceOf(holdId);
    if (performanceId === null) throw new NotFoundError('reservation');
    return performanceId;
  }
}

/** The hold a hold script made of `request`'s seats, as its OK reply (`result`) priced it. */
function madeHold(
  request: { holdId: string; userId: string; performanceId: number; seatIds: number[] },
  result: Pick<Extract<HoldSeatsResult, { outcome: 'OK' }>, 'amount' | 'seatPrices' | 'currency' | 'expiresAt'>,
): Hold {
  return {
    id: request.holdId,
    performanceId: request.performanceId,
    userId: request.userId,
    seatIds: request.seatIds,
    amount: result.amount,
    seatPrices: result.seatPrices,
    currency: result.currency,
    status: 'HELD',
    expiresAt: new Date(result.expiresAt),
  };
}

/** The hold an Idempotency-Key made before, as its first answer said it (status HELD then). */
function replayedHold(request: { userId: string; performanceId: number }, replay: HoldReplay): Hold {
  return {
    id: replay.holdId,
    performanceId: request.performanceId,
    userId: request.userId,
    seatIds: replay.seatIds,
    amount: replay.amount,
    seatPrices: replay.seatPrices,
    currency: replay.currency,
    status: 'HELD',
    expiresAt: new Date(replay.expiresAt),
    ...(replay.arrangement ? { arrangement: replay.arrangement } : {}),
  };
}

/**
 * The error a refusal both hold scripts answer alike names (a HoldOutcome other than REPLAY), for
 * a request of `asked` seats of `performanceId` under the user's seat limit `limit`.
 */
function holdRefusal(
  result: Exclude<HoldOutcome, HoldReplay>,
  performanceId: number,
  limit: number,
  asked: number,
): DomainError {
  switch (result.outcome) {
    case 'NO_PERFORMANCE':
      return new NotFoundError('performance', { performanceId });
    case 'NO_LAYOUT':
      return new NotFoundError('seating', { performanceId });
    case 'SALES_NOT_OPEN':
      return new SalesNotOpenError(new Date(result.salesOpenAt));
    case 'PRESALE_CODE_REQUIRED':
      return new SalesNotOpenError(new Date(result.salesOpenAt), result.presales);
    case 'ACCESS_CODE_INVALID':
      return new AccessCodeInvalidError();
    case 'PRESALE_NOT_NOW':
      return new PresaleNotOpenError({
        ...result.presale,
        opensAt: new Date(result.presale.opensAt),
        closesAt: new Date(result.presale.closesAt),
      });
    case 'ACCESS_CODE_ATTEMPTS':
      return accessCodeAttemptsError(result.retryAfterMs);
    case 'PRESALE_EXHAUSTED':
      return new PresaleAllocationExhaustedError(result.presale, result.maxSeats, result.seatsTaken, asked);
    case 'SALES_CLOSED':
      return new SalesClosedError(result.reason);
    case 'LIMIT':
      return new HoldLimitExceededError(limit, result.alreadyHeld, asked);
    case 'TICKET_LIMIT':
      return new TicketLimitExceededError(result.limit, result.bought, result.held, asked);
    case 'KEY_REUSED':
      return keyReused();
  }
}

/** The refusal of a user past PRESALE_MISS_LIMIT wrong codes; `retryAfterMs`: what is left of the window. */
function accessCodeAttemptsError(retryAfterMs: number): TooManyAccessCodeAttemptsError {
  return new TooManyAccessCodeAttemptsError(Math.max(1, Math.ceil(retryAfterMs / 1000)), {
    perWindow: PRESALE_MISS_LIMIT,
    windowMs: PRESALE_MISS_WINDOW_MS,
  });
}

/** The refusal of an Idempotency-Key that made a hold for another request (no Retry-After: it stays so). */
function keyReused(): IdempotencyKeyInUseError {
  return new IdempotencyKeyInUseError(
    'Idempotency-Key was already used for another reservation request (other seats, or another best-available request)',
  );
}
