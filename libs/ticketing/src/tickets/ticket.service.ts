import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock, DomainError } from '@app/core';
import {
  CheckInHolder,
  CheckInResult,
  PerformanceRepository,
  PricedPerformance,
  TicketRecord,
  TicketIdentity,
  TicketsRepository,
  TicketStatus,
} from '@app/database';
import { NotFoundError, PerformanceCanceledError } from '../errors';
import { PurchaseReader } from '../purchases/purchase-reader';
import { TicketCodes } from './ticket-codes';
import { CheckInStore } from './check-in.store';
import {
  checkInSettingsOf,
  checkInStateAt,
  checkInWindowOf,
  CheckInWindowSettings,
  checkInWindowSettings,
} from './check-in-window';
import {
  CheckInClosedError,
  CheckInNotOpenError,
  TicketAlreadyCheckedInError,
  TicketNotWrittenYetError,
  TicketCanceledError,
  TicketForAnotherPerformanceError,
  TicketsNotIssuedError,
  TicketTransferredError,
} from './ticket.errors';

/** A ticket as its buyer gets it: the seat, its state and, while it admits someone, its signed code. */
export interface Ticket extends Omit<TicketRecord, 'ticketId' | 'status' | 'holderId' | 'codeVersion'> {
  /**
   * ACTIVE, CANCELED, or TRANSFERRED: the buyer gave it to someone by a transfer (the recipient
   * holds it, with a code of its own; the buyer's list shows no code for it).
   */
  status: TicketStatus | 'TRANSFERRED';
  /**
   * bigint identity, as a decimal string; null for a ticket of a purchase canceled before it was
   * written to PostgreSQL (issued, canceled, with the flush).
   */
  ticketId: string | null;
  /** The signed code to show at the door (QR); null once the ticket is canceled or transferred away. */
  code: string | null;
}

/** A successful check-in: who may pass, to which seat. */
export interface CheckIn {
  ticket: TicketRecord;
  /** See CheckInHolder: a box office sale's walk-up (name, e-mail: either may be null), never the selling clerk. */
  holder: CheckInHolder;
  checkedInAt: Date;
}

/**
 * Tickets and the door. A ticket exists once its purchase is written to PostgreSQL (the flusher
 * inserts one row per seat); its code is signed from the row's identity on every read.
 */
@Injectable()
export class TicketService {
  private readonly logger = new Logger(TicketService.name);
  /** This process's waits for unwritten sales, by `<performance>:<purchase>:<seat>` (saleWritten). */
  private readonly saleWaits = new Map<string, SaleWait>();

  constructor(
    private readonly tickets: TicketsRepository,
    private readonly codes: TicketCodes,
    private readonly purchases: PurchaseReader,
    private readonly marks: CheckInStore,
    @Inject(Env) private readonly env: Env,
    private readonly performances: PerformanceRepository,
    private readonly clock: Clock,
  ) {}

  /** The global check-in window (CHECK_IN_OPENS_BEFORE_MINUTES, CHECK_IN_CLOSES_AFTER_MINUTES). */
  get windowSettings(): CheckInWindowSettings {
    return checkInWindowSettings(this.env);
  }

  /**
   * The caller's tickets of one purchase, in seat order. NotFoundError for anyone else's purchase
   * (as the purchase routes answer); TicketsNotIssuedError (409, Retry-After) while the purchase is
   * answered but not written to PostgreSQL yet. A canceled purchase lists its tickets CANCELED,
   * without codes, also before the cancellation itself is written behind, and also before the
   * purchase is (then without ids: the flush issues them, canceled, as the same list).
   */
  async ticketsOf(userId: string, purchaseId: string): Promise<Ticket[]> {
    // Ownership and the newest status (a cancellation still only in Redis) come from the purchase.
    const purchase = await this.purchases.get(userId, purchaseId);
    const persisted = await this.tickets.ofPurchase(purchaseId);
    if (!persisted && purchase.status === 'CANCELED') {
      const seats = await this.tickets.seatsOf(purchase.performanceId, purchase.seatIds);
      return seats.map((seat) => ({
        ticketId: null,
        purchaseId,
        performanceId: purchase.performanceId,
        ...seat,
        status: TicketStatus.Canceled,
        checkedInAt: null,
        code: null,
      }));
    }
    if (!persisted) throw new TicketsNotIssuedError(this.env.PURCHASE_FLUSH_AGE_SECONDS + 1);
    return persisted.tickets.map(({ holderId, codeVersion, ...ticket }) => {
      const canceled = purchase.status === 'CANCELED' || ticket.status === TicketStatus.Canceled;
      if (canceled) return { ...ticket, status: TicketStatus.Canceled, code: null };
      // Given to someone by a transfer: its code is the holder's (GET /tickets), not the buyer's.
      if (holderId !== null && holderId !== userId) return { ...ticket, status: 'TRANSFERRED' as const, code: null };
      return { ...ticket, code: this.codes.sign({ ...ticket, codeVersion }) };
    });
  }

  /**
   * Admits the holder of `code` once. InvalidTicketCodeError (400) for a forged or malformed code;
   * NotFoundError for a well-signed code of a ticket that no longer exists; TicketNotWrittenYetError
   * (409, Retry-After) for one whose sale Redis has and PostgreSQL not yet (a box office code
   * printed seconds ago; outside the window it hears the window refusal); TicketCanceledError
   * (409) when its purchase was canceled or refunded, also when the cancellation is still only in
   * Redis; PerformanceCanceledError (409) once its performance was canceled (checked in the same
   * script, before anything is marked, whether its purchase was refunded yet or not, and again by
   * PostgreSQL's check-in, for a performance whose live state Redis lost);
   * TicketAlreadyCheckedInError (409, with when, on the venue's clock in the message, and by which
   * account: the door it went in at) after the
   * first, also for a ticket checked in before its purchase was canceled. Concurrent scans of one
   * code: exactly one succeeds (one conditional UPDATE in PostgreSQL). A check-in racing a cancel
   * of its purchase: exactly one of the two succeeds, by the order Redis runs check-in-mark.lua and
   * cancel-purchase.lua in (the seat is marked checked in before PostgreSQL records it, and the
   * mark taken back when PostgreSQL refuses). `staffId`: who scans. `doorPerformanceId`, when
   * given: the performance this door admits to; a ticket for another is refused
   * (TicketForAnotherPerformanceError, 409, naming its own performance's start on the venue's
   * clock) before anything is marked, so it still admits at its
   * own door, unless no such performance exists (NotFoundError: a door set up with a wrong id would
   * send every ticket away).
   * A scan outside the ticket's check-in window (see check-in-window.ts; the Clock's now) is
   * refused before anything is marked: CheckInNotOpenError or CheckInClosedError (409, naming the
   * performance's start on the venue's clock), unless its performance is canceled
   * (PerformanceCanceledError), or the ticket was checked in already (TicketAlreadyCheckedInError
   * as ever), is canceled (TicketCanceledError, also when the cancellation is still only in Redis,
   * as inside the window, and for a seat refunded from its purchase) or no longer exists (NotFoundError): the order PostgreSQL's check-in
   * refuses in, whichever store knows of the cancellation. PostgreSQL's check-in takes the same
   * instant and compares it with the start and window settings it reads, so a start or window moved
   * meanwhile refuses there too (the mark is taken back), and the refusal names the window
   * PostgreSQL applied.
   * A code signed before an accepted transfer of its ticket (an older code version) is refused with
   * TicketTransferredError (409) wherever the scan is answered: PostgreSQL's check-in admits only
   * the row's code version (and an accept raises it only while the ticket is not checked in, in one
   * conditional UPDATE of the same row), and the answers read without it (outside the window, a
   * purchase canceled in Redis) compare the version first.
   * Every scan, admitted or refused, writes one line to the log (see logScan).
   */
  async checkIn(code: unknown, staffId: string, doorPerformanceId?: number): Promise<CheckIn> {
    let identity: TicketIdentity | undefined;
    try {
      identity = this.codes.verify(code);
      const admitted = await this.admit(identity, staffId, doorPerformanceId);
      this.logScan('ADMITTED', staffId, doorPerformanceId, identity);
      return admitted;
    } catch (error) {
      this.logScan(error instanceof DomainError ? error.code : 'Error', staffId, doorPerformanceId, identity);
      throw error;
    }
  }

  /**
   * The scan's line in the api's log, admitted or refused (the door's audit trail: a refused scan
   * changes nothing in the database): `boxoffice.check_in` with `outcome` (`ADMITTED`, or the
   * refusal's error code: `TicketAlreadyCheckedIn`, `InvalidTicketCode`, …), `staff_id` (the
   * scanning account: the door), `door_performance_id` (absent when the door named none) and, for a
   * code that verified, the ticket's `ticket_id`, `purchase_id`, `performance_id`, `seat_id` and
   * `code_version`. Never the code itself: a logged code would admit whoever reads the log.
   */
  private logScan(outcome: string, staffId: string, doorPerformanceId?: number, identity?: TicketIdentity): void {
    this.logger.log({
      message: `door scan${identity ? ` of ticket ${identity.ticketId}` : ''} by account ${staffId}: ${outcome}`,
      boxoffice: {
        check_in: {
          outcome,
          staff_id: staffId,
          ...(doorPerformanceId !== undefined && { door_performance_id: doorPerformanceId }),
          ...(identity && {
            ticket_id: identity.ticketId,
            purchase_id: identity.purchaseId,
            performance_id: identity.performanceId,
            seat_id: identity.seatId,
            code_version: identity.codeVersion,
          }),
        },
      },
    });
  }

  /**
   * checkIn of a verified code: the rules, without the scan's log line. A ticket sold moments ago
   * (TicketNotWrittenYetError: Redis has its sale, PostgreSQL not yet) is not refused at once when
   * its write is due within CHECK_IN_WAIT_FOR_SALE_SECONDS: the scan waits for the row (see
   * untilWritten) and is then decided as any written ticket's, by the same conditional UPDATE in
   * PostgreSQL (concurrent scans waiting for one sale: exactly one admitted), with the same
   * refusals (refunded or canceled meanwhile, also while only in Redis, ends the wait). Past the
   * bound the last refusal stands.
   */
  private async admit(identity: TicketIdentity, staffId: string, doorPerformanceId?: number): Promise<CheckIn> {
    let budgetMs = this.env.CHECK_IN_WAIT_FOR_SALE_SECONDS * 1000;
    for (;;) {
      try {
        return await this.admitOnce(identity, staffId, doorPerformanceId);
      } catch (error) {
        if (!(error instanceof TicketNotWrittenYetError) || (error.retryAfterSeconds ?? 0) * 1000 > budgetMs)
          throw error;
        const waitedMs = await this.untilWritten(identity, budgetMs);
        if (waitedMs === null) throw error;
        budgetMs -= waitedMs;
      }
    }
  }

  /**
   * Waits until PostgreSQL has the ticket of `identity` or Redis no longer holds its sale as
   * awaiting its write (canceled, the seat refunded, expired): either way a scan now gets the answer
   * a written ticket gets. The ms waited; null when `budgetMs` (ms) passed first. The looks are this
   * process's one wait for that sale (saleWritten): however many scans of the code wait at once (a
   * holder trying gate after gate, a code shared around), PostgreSQL and Redis are asked once every
   * SALE_WRITE_POLL_MS, not once per scan.
   */
  private async untilWritten(identity: TicketIdentity, budgetMs: number): Promise<number | null> {
    const started = performance.now();
    const deadline = started + budgetMs;
    const sale = `${identity.performanceId}:${identity.purchaseId}:${identity.seatId}`;
    while (performance.now() < deadline) {
      let wait = this.saleWaits.get(sale);
      if (wait) wait.deadline = Math.max(wait.deadline, deadline);
      else wait = this.saleWritten(sale, identity, deadline);
      let timer: NodeJS.Timeout | undefined;
      const ownBudget = new Promise<false>((resolve) => {
        timer = setTimeout(resolve, deadline - performance.now(), false);
      });
      const written = await Promise.race([wait.written, ownBudget]).finally(() => clearTimeout(timer));
      if (written) return performance.now() - started;
      // Its own budget passed (the loop ends); or the shared wait ended at its deadline just before
      // this scan raised it: a wait of its own then, for what is left of its budget.
    }
    return null;
  }

  /**
   * This process's wait for the sale `sale` (`<performance>:<purchase>:<seat>`) of `identity`,
   * started: it looks every SALE_WRITE_POLL_MS (ms) whether the sale is written (PostgreSQL has the
   * ticket) or no longer awaits its write (Redis), until its `deadline` (performance.now() ms),
   * which the scans that join it raise to theirs. `written`: true once so, false when the deadline
   * passed first; rejects as a look does. Gone from saleWaits when it ends. Polls rather than a
   * notification: a scan waits seconds at most, and only for a sale seconds old.
   */
  private saleWritten(sale: string, identity: TicketIdentity, deadline: number): SaleWait {
    const wait: SaleWait = { deadline, written: Promise.resolve(false) };
    const { performanceId, purchaseId, seatId } = identity;
    // In the map before the loop starts: a loop that ended at once (its deadline passed meanwhile)
    // must not leave an ended wait there, which later scans would join and spin on.
    this.saleWaits.set(sale, wait);
    wait.written = (async () => {
      try {
        while (performance.now() < wait.deadline) {
          await sleep(Math.min(SALE_WRITE_POLL_MS, wait.deadline - performance.now()));
          if ((await this.tickets.doorState(identity)) !== null) return true;
          if ((await this.marks.saleAwaitingWrite(performanceId, purchaseId, seatId)) === null) return true;
        }
        return false;
      } finally {
        if (this.saleWaits.get(sale) === wait) this.saleWaits.delete(sale);
      }
    })();
    return wait;
  }

  /** One try of admit: TicketNotWrittenYetError for a sale not written yet, without waiting. */
  private async admitOnce(identity: TicketIdentity, staffId: string, doorPerformanceId?: number): Promise<CheckIn> {
    if (doorPerformanceId !== undefined && identity.performanceId !== doorPerformanceId) {
      const [door, own] = await Promise.all([
        this.performances.findById(doorPerformanceId),
        this.performances.findById(identity.performanceId),
      ]);
      if (!door) throw new NotFoundError('performance', { performanceId: doorPerformanceId });
      throw new TicketForAnotherPerformanceError(identity.performanceId, own ?? undefined);
    }
    const performance = await this.performances.findById(identity.performanceId);
    // A signed code names a performance that existed; one with tickets is never deleted.
    if (!performance) throw new NotFoundError('ticket');
    if (performance.status === 'CANCELED') {
      throw new PerformanceCanceledError(identity.performanceId, 'its tickets admit no one');
    }
    const now = this.clock.now();
    const settings = checkInSettingsOf(performance, this.windowSettings);
    const window = checkInWindowOf(performance.startsAt, settings);
    if (checkInStateAt(window, now.getTime()) !== 'OPEN') {
      // Refused in the order PostgreSQL's check-in refuses in: someone already came in on it (the
      // door hears when), then a canceled or refunded ticket, then one that no longer exists; only
      // a ticket that would admit inside the window hears about the window. Canceled as Redis has
      // it too (check-in-mark.lua's test inside the window: the purchase canceled or the seat
      // refunded): a cancellation or refund not flushed yet leaves the ticket ACTIVE in
      // PostgreSQL, and the door would send its holder to come back later.
      const ticket = await this.tickets.doorState(identity);
      // A code from before a transfer is void, whatever became of the ticket since.
      if (ticket && ticket.codeVersion !== identity.codeVersion) throw new TicketTransferredError();
      if (ticket?.checkedInAt) {
        throw new TicketAlreadyCheckedInError(ticket.checkedInAt, performance.timeZone, ticket.checkedInBy);
      }
      if (
        (ticket && ticket.status !== TicketStatus.Active) ||
        (await this.marks.ticketCanceled(identity.performanceId, identity.purchaseId, identity.seatId))
      ) {
        throw new TicketCanceledError();
      }
      // A sale PostgreSQL does not have yet (a box office code printed seconds ago) is genuine: it
      // hears about the window as its written ticket would.
      if (
        !ticket &&
        (await this.marks.saleAwaitingWrite(identity.performanceId, identity.purchaseId, identity.seatId)) === null
      ) {
        throw new NotFoundError('ticket');
      }
      throw outsideWindow(performance, { startsAt: performance.startsAt, ...window }, now);
    }
    // This scan's own mark: PostgreSQL keeps its token with the check-in it admits, so an undo takes
    // back that mark alone; every refused scan takes back its own.
    const scan = { ...identity, token: randomBytes(9).toString('base64url') };
    const mark = await this.marks.mark(
      identity.performanceId,
      identity.purchaseId,
      scan,
      CHECK_IN_MARK_LIFETIME_SECONDS,
    );
    if (mark.outcome === 'PERFORMANCE_CANCELED') {
      throw new PerformanceCanceledError(identity.performanceId, 'its tickets admit no one');
    }
    if (mark.outcome === 'CANCELED') {
      // Checked in first, its purchase canceled later (a refund keeping checked-in seats): the
      // person is inside, so the door hears "already checked in" and when, as after the flush.
      const state = await this.tickets.doorState(identity);
      if (state && state.codeVersion !== identity.codeVersion) throw new TicketTransferredError();
      if (state?.checkedInAt) {
        throw new TicketAlreadyCheckedInError(state.checkedInAt, performance.timeZone, state.checkedInBy);
      }
      throw new TicketCanceledError();
    }
    // Every scan has a mark of its own and takes back only that one: the mark of the scan PostgreSQL
    // admitted (a concurrent scan of the same code, the current code beside an old one refused as
    // TicketTransferred) stays.
    const unmark = async () => {
      if (mark.added) await this.marks.unmark(identity.performanceId, identity.purchaseId, scan);
    };
    let result: CheckInResult;
    try {
      // The global settings: PostgreSQL takes the performance's own where it has them, as read now.
      result = await this.tickets.checkIn(identity, staffId, { at: now, ...this.windowSettings }, scan.token);
    } catch (error) {
      await unmark();
      throw error;
    }
    switch (result.outcome) {
      case 'CHECKED_IN':
        return { ticket: result.ticket, holder: result.holder, checkedInAt: result.ticket.checkedInAt as Date };
      case 'ALREADY_CHECKED_IN':
        // The check-in that stands has its own mark (or, older than a mark lives, PostgreSQL alone).
        await unmark();
        throw new TicketAlreadyCheckedInError(result.checkedInAt, performance.timeZone, result.checkedInBy);
      case 'CANCELED':
        await unmark();
        throw new TicketCanceledError();
      case 'PERFORMANCE_CANCELED':
        await unmark();
        throw new PerformanceCanceledError(identity.performanceId, 'its tickets admit no one');
      case 'OUTSIDE_WINDOW':
        // Its start or its window moved (a PATCH) since it was read above: told as PostgreSQL applied it.
        await unmark();
        throw outsideWindow(performance, result, now);
      case 'TRANSFERRED':
        await unmark();
        throw new TicketTransferredError();
      case 'NOT_FOUND':
        await unmark();
        throw await this.notFound(identity);
    }
  }

  /**
   * The refusal of a genuine code whose ticket PostgreSQL does not have: TicketNotWrittenYetError
   * while Redis has its sale and `batch` has yet to write it (a box office sale's codes are printed
   * at once), its Retry-After the seconds until that sale's flush is due and one more for the
   * pass; NotFoundError('ticket') otherwise.
   */
  private async notFound(identity: { performanceId: number; purchaseId: string; seatId: number }): Promise<Error> {
    const soldAt = await this.marks.saleAwaitingWrite(identity.performanceId, identity.purchaseId, identity.seatId);
    if (soldAt === null) return new NotFoundError('ticket');
    const dueInMs = soldAt + this.env.PURCHASE_FLUSH_AGE_SECONDS * 1000 - this.clock.nowMs();
    return new TicketNotWrittenYetError(Math.max(0, Math.ceil(dueInMs / 1000)) + 1);
  }
}

/**
 * CheckInNotOpenError or CheckInClosedError for a scan at `now` of a ticket of `performance`
 * refused outside `window` (its start and the instants doors open and check-in closes): CLOSED
 * from `closesAt` on, NOT_OPEN otherwise.
 */
function outsideWindow(
  performance: Pick<PricedPerformance, 'id' | 'timeZone'>,
  window: { startsAt: Date; opensAt: Date; closesAt: Date },
  now: Date,
): Error {
  const times = {
    performanceId: performance.id,
    timeZone: performance.timeZone,
    startsAt: window.startsAt,
    opensAt: window.opensAt,
    closesAt: window.closesAt,
  };
  return now.getTime() >= window.closesAt.getTime() ? new CheckInClosedError(times) : new CheckInNotOpenError(times);
}

/**
 * How long the Redis mark of a check-in lives, in seconds: far longer than any cancel takes
 * between reading PostgreSQL's checked-in seats and running its script, after which PostgreSQL,
 * which the cancel reads as well, holds every check-in.
 */
export const CHECK_IN_MARK_LIFETIME_SECONDS = 24 * 60 * 60;

/** How often, in ms, a scan waiting for its ticket's sale to be written looks for the row. */
const SALE_WRITE_POLL_MS = 100;

/** One wait for a sale's write, shared by the scans of its code (TicketService.saleWritten). */
interface SaleWait {
  /** Until when it looks (performance.now() ms): the latest of its scans' budgets. */
  deadline: number;
  /** True once the sale is written or no longer awaits its write; false past the deadline. */
  written: Promise<boolean>;
}
