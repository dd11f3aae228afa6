import { Inject, Injectable, Logger } from '@nestjs/common';
import { Env } from '@app/config';
import { assertSameList, StoreUnavailableError } from '@app/core';
import { SeatBlockChange, SeatBlockRecord, SeatBlocksRepository } from '@app/database';
import type { Page } from '../catalog/catalog.types';
import { decodeCursor, encodeCursor } from '../catalog/cursor';
import { sectionNamesMatching } from '../catalog/section-names';
import {
  InvalidInputError,
  NotFoundError,
  PerformanceCanceledError,
  SeatBlocksNotReplicatedError,
  SeatsNotBlockableError,
} from '../errors';
import { assertSeatIds, codePointLength, isPositiveInteger } from '../input';
import type { Operator } from '../purchases/admin-purchases';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SeatStateStore } from '../seats/seat-state.store';
import { SeatBlockStore } from './seat-block.store';

/** The audit actions of blocking and releasing seats (`admin_audit_log`). */
export const SEAT_BLOCK_ACTION = 'seat.block';
export const SEAT_RELEASE_ACTION = 'seat.release';
/** Longest reason an operator may give, in Unicode code points (as the DTO and PostgreSQL's varchar count). */
export const MAX_SEAT_BLOCK_REASON_LENGTH = 200;
/**
 * Most seat ids one block or release names: a whole camera platform. Within the work bound too
 * (MAX_BLOCK_SELECTION_WORK): 500 ids one per row of long rows took ~110–130 ms of Redis.
 */
export const MAX_SEATS_PER_BLOCK_REQUEST = 500;
/**
 * Most seats one block or release by place (section, rows, seat numbers) touches: one run of
 * block-seats.lua over them takes a few ms on Redis (docs/guide/catalog.md, "Blocked seats", has the measured
 * time), and stays well under the Lua stack's 8,000 values the script unpacks (two per seat).
 */
export const MAX_SEATS_PER_BLOCK_SELECTION = 2000;

/**
 * The work one block or release may cost the Lua scripts, in seat slots: the seats of every row
 * it touches (each touched row's best-available slot is rewritten from all of its seats) plus
 * BLOCK_WORK_PER_ROW a row (its reads and writes); by id also the row slots its sections' slot
 * refreshes read (see SeatBlocks' resolveIds). Redis time grows with that, not with the seats
 * alone: seats 1–2 of 1,000 rows of 100 (2,000 seats) took ~170 ms. docs/guide/catalog.md, "Blocked
 * seats", has the measured time of the worst shapes at this bound.
 */
export const MAX_BLOCK_SELECTION_WORK = 20_000;

/** A touched row's fixed cost in the scripts, in seat slots (measured: ~15 µs a row, ~0.5 µs a seat slot). */
export const BLOCK_WORK_PER_ROW = 30;

/**
 * Touched rows of a section past which the scripts count its slot once, after its rows, instead of
 * after each (seating.lua's SEATING_RECOUNT_ROWS): the id form's work counts the section's rows
 * once per touched row up to this many, else once.
 */
export const BLOCK_SECTION_RECOUNT_ROWS = 8;

/** Most row labels one selection by place names. */
export const MAX_ROWS_PER_BLOCK_SELECTION = 200;

/**
 * Seats named by place, as the seating model names them: a section (its name in any casing, as
 * every lookup of a section), optionally some of its rows (their labels, in any casing) and a
 * range of seat numbers in them (inclusive; every row when `rows` is not given).
 */
export interface SeatPlaceSelection {
  section: string;
  rows?: string[];
  numbers?: { from: number; to: number };
}

/**
 * What a block or release names: exactly one of `seatIds` (1–500 seat ids) or a selection by
 * place (`section`, with optional `rows` and `numbers`) matching 1–2,000 seats; either within the
 * work bound (MAX_BLOCK_SELECTION_WORK).
 */
export interface SeatBlockTarget {
  seatIds?: number[];
  section?: string;
  rows?: string[];
  numbers?: { from: number; to: number };
}

/** A block's options: `onlyFree` blocks the seats free now and skips (and names) the held and sold ones. */
export interface BlockOptions {
  onlyFree?: boolean;
}

/** A block's answer: the seats newly blocked and those that were blocked before (they keep their first reason). */
export interface BlockResult {
  performanceId: number;
  /** Ascending. */
  blocked: number[];
  /** Ascending. */
  alreadyBlocked: number[];
  /** Only with onlyFree: the seats left on sale because held by a live hold or sold, ascending. */
  skipped?: { held: number[]; sold: number[] };
}

/** The seats a target names, and (a selection by place) the selection as asked and the section as stored. */
interface ResolvedTarget {
  seatIds: number[];
  selection: (SeatPlaceSelection & { sectionName: string }) | null;
}

/** A release's answer: the seats put back on sale and those that were not blocked (no change). */
export interface ReleaseResult {
  performanceId: number;
  /** Ascending. */
  released: number[];
  /** Ascending. */
  notBlocked: number[];
}

/**
 * Operators' blocked seats (holds and kills, in venue words): seats taken off sale, shown
 * BLOCKED, never held, sold or offered by best-available until released. PostgreSQL's
 * `seat_blocks` is the truth a rebuild of the live state reads; the seat letter B in Redis is what
 * the sale scripts see: a block's written inside the performance's row lock before the commit, as
 * the performance's status is; a release's after its commit, so no failure leaves on sale a seat
 * PostgreSQL has blocked. The seat reconciler repairs what a lost write leaves.
 */
@Injectable()
export class SeatBlocks {
  private readonly logger = new Logger(SeatBlocks.name);

  constructor(
    private readonly blocks: SeatBlocksRepository,
    private readonly store: SeatBlockStore,
    private readonly seats: SeatStateStore,
    private readonly rebuilder: SeatStateRebuilder,
    @Inject(Env) private readonly env: Env,
  ) {}

  /**
   * Blocks seats of the performance, all or none: `target` names them by id (1–500) or by place
   * (a section, optionally rows and a range of seat numbers: 1–2,000 seats), either within the
   * work bound (see {@link resolve}).
   * A seat in a buyer's live hold or sold refuses the whole request (SeatsNotBlockableError, 409:
   * nothing changed; sold means shown S in Redis or with an ACTIVE ticket in PostgreSQL, checked
   * under the row lock); a seat blocked already stays blocked with its first reason (idempotent);
   * a seat of a hold past its expiry is taken from it. With `onlyFree`, such held and sold seats
   * are skipped instead (answered in `skipped`) and the others blocked: the block script decides
   * which are free in the same run that blocks them, so no hold slips in between.
   * Atomic against buyers' holds (one Lua script run): each seat ends held or blocked, never both.
   * Recorded in the audit log (`seat.block`, subject `performance:<id>`) in the same transaction:
   * the seats it blocked, and a selection by place as asked (with `onlyFree`, the seats skipped).
   * `reason`: up to 200 characters, or null. Throws NotFoundError('performance' | 'seat', details
   * `{seatIds}` for seats not of the performance; a section or rows not of it), InvalidInputError
   * (seat ids, selection, reason), PerformanceCanceledError (409: nothing changed, no audit row),
   * SeatsNotBlockableError, SeatBlocksNotReplicatedError and
   * StoreUnavailableError (503: nothing committed, retry).
   */
  async block(
    performanceId: number,
    target: number[] | SeatBlockTarget,
    reason: string | null,
    operator: Operator,
    options: BlockOptions = {},
  ): Promise<BlockResult> {
    if (!isPositiveInteger(performanceId)) throw new NotFoundError('performance');
    if (reason !== null && codePointLength(reason) > MAX_SEAT_BLOCK_REASON_LENGTH) {
      throw new InvalidInputError(`reason must be at most ${MAX_SEAT_BLOCK_REASON_LENGTH} characters`);
    }
    if (options.onlyFree !== undefined && typeof options.onlyFree !== 'boolean') {
      throw new InvalidInputError('onlyFree must be true or false');
    }
    await this.assertNotCanceled(performanceId);
    const { seatIds, selection } = await this.resolve(performanceId, target);
    // Before the row lock: a rebuild reads under the row's share lock (SeatStateRebuilder).
    await this.rebuilder.ensure(performanceId);
    const audit =
      (extra: Record<string, unknown> = {}) =>
      (changed: number[]) => ({
        actorId: operator.id,
        actorEmail: operator.email,
        action: SEAT_BLOCK_ACTION,
        subjectId: `performance:${performanceId}`,
        details: { performanceId, seatIds: changed, reason, ...asAudited(selection), ...extra },
      });
    const by = { id: operator.id, email: operator.email, reason };
    let written = false;
    if (options.onlyFree) {
      let skippedHeld: number[] = [];
      let skippedSold: number[] = [];
      const change = await this.blocks
        .blockFree(
          performanceId,
          seatIds,
          by,
          async (candidates) => {
            const outcome = await this.store.block(performanceId, candidates, { onlyFree: true });
            if (outcome.outcome !== 'OK') throw lostAgain(performanceId);
            written = outcome.blocked > 0;
            skippedHeld = outcome.skipped?.held ?? [];
            skippedSold = outcome.skipped?.sold ?? [];
            await this.confirmReplicated(performanceId);
            const skipped = new Set([...skippedHeld, ...skippedSold]);
            return candidates.filter((id) => !skipped.has(id));
          },
          (changed, sold) =>
            audit({
              onlyFree: true,
              skipped: { held: ascending(skippedHeld), sold: ascending([...skippedSold, ...sold]) },
            })(changed),
        )
        .catch(async (error: unknown) => {
          if (written) await this.writeBack(performanceId, seatIds);
          throw error;
        });
      if (change.outcome === 'NOT_FOUND') throw new NotFoundError('performance');
      if (change.outcome === 'CANCELED') throw canceled(performanceId);
      if (change.outcome === 'UNKNOWN_SEATS') {
        throw new NotFoundError('seat', { performanceId, seatIds: change.seatIds });
      }
      return {
        performanceId,
        blocked: change.changed,
        alreadyBlocked: others(change.recorded, change.changed),
        skipped: { held: ascending(skippedHeld), sold: ascending([...skippedSold, ...change.sold]) },
      };
    }
    const change = await this.blocks
      .block(
        performanceId,
        seatIds,
        by,
        async () => {
          const outcome = await this.store.block(performanceId, seatIds);
          if (outcome.outcome === 'UNAVAILABLE') throw new SeatsNotBlockableError(outcome.held, outcome.sold);
          if (outcome.outcome !== 'OK') throw lostAgain(performanceId);
          written = outcome.blocked > 0;
          await this.confirmReplicated(performanceId);
        },
        audit(),
      )
      .catch(async (error: unknown) => {
        if (written) await this.writeBack(performanceId, seatIds);
        throw error;
      });
    if (change.outcome === 'SOLD') throw await this.notBlockable(performanceId, seatIds, change.seatIds);
    const changed = done(change, performanceId);
    return { performanceId, blocked: changed, alreadyBlocked: others(seatIds, changed) };
  }

  /**
   * NotFoundError('performance') when there is none, PerformanceCanceledError (409) when it is
   * canceled: its seats are for sale no more, so blocking or releasing them would change nothing
   * a buyer meets but the audit log. Read before any work (the selection, the rebuild); the row
   * lock's read settles a cancel racing the request.
   */
  private async assertNotCanceled(performanceId: number): Promise<void> {
    const status = await this.blocks.performanceStatus(performanceId);
    if (status === null) throw new NotFoundError('performance');
    if (status === 'CANCELED') throw canceled(performanceId);
  }

  /**
   * The refusal of a block PostgreSQL found sold seats in (`soldInPostgres`, active tickets, seen
   * under its row lock before Redis was asked): names the seats Redis has held or sold too, as the
   * block script's refusal would, so the operator sees every seat in the way at once. A read only
   * (nothing was changed); when Redis does not answer, the sold seats alone.
   */
  private async notBlockable(
    performanceId: number,
    seatIds: number[],
    soldInPostgres: number[],
  ): Promise<SeatsNotBlockableError> {
    const statuses = await this.seats.statuses(performanceId, seatIds).catch(() => null);
    const sold = new Set(soldInPostgres);
    const held: number[] = [];
    seatIds.forEach((seatId, index) => {
      if (statuses?.[index] === 'HELD' && !sold.has(seatId)) held.push(seatId);
      if (statuses?.[index] === 'SOLD') sold.add(seatId);
    });
    return new SeatsNotBlockableError(held, [...sold]);
  }

  /**
   * Puts seats of the performance back on sale (`target`: by id or by place, as {@link block}
   * takes them; a selection by place is audited as asked): each blocked seat becomes available (holdable,
   * offered by best-available again). A seat that is not blocked is no change and no error
   * (idempotent, so a retry after a lost answer succeeds; it also drops a block Redis kept from a
   * block whose commit never happened). Recorded in the audit log (`seat.release`). PostgreSQL
   * commits first and Redis follows (see {@link applyRelease}), so no failure after the commit can
   * leave a seat on sale that PostgreSQL has blocked. Throws NotFoundError('performance' | 'seat'),
   * PerformanceCanceledError (409: nothing changed, no audit row), InvalidInputError and StoreUnavailableError (503 from the rebuild before anything: nothing
   * committed, retry).
   */
  async release(performanceId: number, target: number[] | SeatBlockTarget, operator: Operator): Promise<ReleaseResult> {
    if (!isPositiveInteger(performanceId)) throw new NotFoundError('performance');
    await this.assertNotCanceled(performanceId);
    const { seatIds, selection } = await this.resolve(performanceId, target, { blockedOnly: true });
    // A selection by place with no blocked seat: nothing to release (a retry after a lost answer).
    if (seatIds.length === 0) return { performanceId, released: [], notBlocked: [] };
    await this.rebuilder.ensure(performanceId);
    const change = await this.blocks.release(performanceId, seatIds, (changed) => ({
      actorId: operator.id,
      actorEmail: operator.email,
      action: SEAT_RELEASE_ACTION,
      subjectId: `performance:${performanceId}`,
      details: { performanceId, seatIds: changed, ...asAudited(selection) },
    }));
    const changed = done(change, performanceId);
    await this.applyRelease(performanceId, seatIds);
    return { performanceId, released: changed, notBlocked: others(seatIds, changed) };
  }

  /**
   * A page of the performance's blocked seats in layout order (`limit` 1–100, `cursor` the
   * previous page's `nextCursor`, of this performance's list). Throws NotFoundError('performance'),
   * DomainError 'invalid' (InvalidCursor).
   */
  async list(performanceId: number, cursor: string | undefined, limit: number): Promise<Page<SeatBlockRecord>> {
    if (!isPositiveInteger(performanceId)) throw new NotFoundError('performance');
    const key = decodeCursor<{ p: number; o: number }>(cursor, { p: 'int4', o: 'int4' });
    assertSameList(key?.o, performanceId, 'performance');
    const after = key?.p ?? 0;
    if (!(await this.blocks.performanceExists(performanceId))) throw new NotFoundError('performance');
    const rows = await this.blocks.page(performanceId, after, limit + 1);
    const items = rows.slice(0, limit);
    const nextCursor =
      rows.length > limit ? encodeCursor({ p: items[items.length - 1].position, o: performanceId }) : null;
    return { items, nextCursor };
  }

  /**
   * The seats `target` names: seat ids as given (1–500, distinct, within the work bound: see
   * {@link resolveIds}), or those a selection by place
   * matches, in layout order; with `blockedOnly` (a release), only those of the selection
   * PostgreSQL has blocked (read without a lock, as the selection is; the release's row lock then
   * settles each seat), possibly none. Exactly one of the two forms (InvalidInputError otherwise).
   * A selection: an unknown section or row label is a NotFoundError naming it (the performance's
   * too); an ambiguous one (no exact match, several alike in casing: `Straße` and `STRASSE` asked
   * as `strasse`) an InvalidInputError naming them; a label written exactly as stored names that
   * row alone (rows `aa` and `AA` of one section: both, asked as written), and two labels naming
   * the same row (`a` and `A` of a section with only `A`) are an InvalidInputError naming them; a
   * selection matching no seat, or more than MAX_SEATS_PER_BLOCK_SELECTION seats, or more work
   * than MAX_BLOCK_SELECTION_WORK (the seats of the rows it touches, plus BLOCK_WORK_PER_ROW a
   * row; with `blockedOnly` both bounds counted on the blocked seats), an InvalidInputError.
   */
  private async resolve(
    performanceId: number,
    target: number[] | SeatBlockTarget,
    { blockedOnly = false }: { blockedOnly?: boolean } = {},
  ): Promise<ResolvedTarget> {
    if (Array.isArray(target)) return this.resolveIds(performanceId, target, blockedOnly);
    const byPlace = target.section !== undefined || target.rows !== undefined || target.numbers !== undefined;
    if (target.seatIds !== undefined && byPlace) {
      throw new InvalidInputError('give either seatIds or a selection by place (section, rows, numbers), not both');
    }
    if (target.seatIds !== undefined) return this.resolveIds(performanceId, target.seatIds, blockedOnly);
    if (!byPlace) {
      throw new InvalidInputError('give either seatIds or a selection by place (section, rows, numbers)');
    }
    const { section, rows, numbers } = target;
    if (typeof section !== 'string' || section.trim() === '') {
      throw new InvalidInputError('a selection by place needs section: rows and numbers are chosen within a section');
    }
    if (rows !== undefined) assertRowLabels(rows);
    if (numbers !== undefined) assertNumbers(numbers);

    const names = await this.blocks.sectionNames(performanceId);
    if (names === null) throw new NotFoundError('performance');
    const sections = sectionNamesMatching(names, section);
    if (sections.length === 0) throw new NotFoundError(`section "${section}"`, { performanceId, section });
    if (sections.length > 1) {
      throw new InvalidInputError(
        `section "${section}" is ambiguous: it names ${quoted(sections)} alike in casing; give one exactly as written`,
        { section, sections },
      );
    }
    const [sectionName] = sections;
    let rowIndexes: number[] | null = null;
    if (rows !== undefined) {
      const known = await this.blocks.sectionRows(performanceId, sectionName);
      const labels = known.map((row) => row.rowLabel);
      const unknown: string[] = [];
      /** The labels asked, by the row label each resolved to. */
      const asked = new Map<string, string[]>();
      for (const label of rows) {
        const found = sectionNamesMatching(labels, label);
        if (found.length > 1) {
          throw new InvalidInputError(
            `row "${label}" of section "${sectionName}" is ambiguous: it names rows ${quoted(found)} alike in casing; give one exactly as written`,
            { section: sectionName, row: label, rows: found },
          );
        }
        if (found.length === 0) unknown.push(label);
        else asked.set(found[0], [...(asked.get(found[0]) ?? []), label]);
      }
      if (unknown.length > 0) {
        throw new NotFoundError(
          `row${unknown.length > 1 ? 's' : ''} ${unknown.map((label) => `"${label}"`).join(', ')} of section "${sectionName}"`,
          { performanceId, section: sectionName, rows: unknown },
        );
      }
      for (const [row, as] of asked) {
        if (as.length > 1) {
          throw new InvalidInputError(
            `rows ${quoted(as)} name one row twice ("${row}" of section "${sectionName}"): give each row once`,
            { section: sectionName, row, rows: as },
          );
        }
      }
      rowIndexes = [...asked.keys()].map((row) => known[labels.indexOf(row)].row);
    }
    const selection = { section, ...(rows ? { rows } : {}), ...(numbers ? { numbers } : {}) };
    const seek = (blocked: boolean) =>
      this.blocks.seatsAt(performanceId, sectionName, rowIndexes, numbers ?? null, MAX_SEATS_PER_BLOCK_SELECTION, {
        blockedOnly: blocked,
      });
    const found = await seek(blockedOnly);
    if (found.total === 0 && (!blockedOnly || (await seek(false)).total === 0)) {
      throw new InvalidInputError(`the selection matches no seat: ${inWords(selection)}`, { selection });
    }
    const which = blockedOnly ? 'blocked seats' : 'seats';
    if (found.total > MAX_SEATS_PER_BLOCK_SELECTION) {
      throw new InvalidInputError(
        `the selection matches ${found.total} ${which}, more than the ${MAX_SEATS_PER_BLOCK_SELECTION} one request may touch: split it (by rows or seat numbers) into several requests`,
        { selection, matched: found.total, max: MAX_SEATS_PER_BLOCK_SELECTION },
      );
    }
    const work = found.rowSeats + BLOCK_WORK_PER_ROW * found.rows;
    if (work > MAX_BLOCK_SELECTION_WORK) {
      throw new InvalidInputError(
        `the selection's ${found.total} ${which} lie in ${found.rows} rows of ${found.rowSeats} seats: ${work} seat slots of work (the seats of each row it touches, plus ${BLOCK_WORK_PER_ROW} a row), more than the ${MAX_BLOCK_SELECTION_WORK} one request may do: split it (by rows) into several requests`,
        {
          selection,
          matched: found.total,
          rows: found.rows,
          rowSeats: found.rowSeats,
          work,
          maxWork: MAX_BLOCK_SELECTION_WORK,
        },
      );
    }
    return { seatIds: found.seatIds, selection: { ...selection, sectionName } };
  }

  /**
   * Seat ids as given (1–500, distinct), within the work bound: the seats of the rows they touch
   * plus BLOCK_WORK_PER_ROW a row, as a selection by place counts, plus the row slots read to
   * refresh the slots of the sections they lie in (each section's rows, once per touched row of it
   * up to BLOCK_SECTION_RECOUNT_ROWS, else once; ids may span many sections, a selection by place
   * has one). With `blockedOnly` (a release) counted on the seats PostgreSQL has blocked, as the
   * place form's. Over MAX_BLOCK_SELECTION_WORK: an InvalidInputError naming the work and the
   * bound, `details` `{seats, rows, rowSeats, sectionSlots, work, maxWork}`. Ids not of the
   * performance count for nothing here (the change answers them 404).
   */
  private async resolveIds(performanceId: number, seatIds: unknown, blockedOnly: boolean): Promise<ResolvedTarget> {
    assertSeatIds(seatIds, MAX_SEATS_PER_BLOCK_REQUEST);
    const { rows, rowSeats, sectionSlots } = await this.blocks.seatIdsWork(
      performanceId,
      seatIds,
      BLOCK_SECTION_RECOUNT_ROWS,
      { blockedOnly },
    );
    const work = rowSeats + BLOCK_WORK_PER_ROW * rows + sectionSlots;
    if (work > MAX_BLOCK_SELECTION_WORK) {
      const which = blockedOnly ? 'blocked seats' : 'seats';
      throw new InvalidInputError(
        `the ${seatIds.length} seat ids name ${which} in ${rows} rows of ${rowSeats} seats, in sections of ${sectionSlots} row slots to refresh: ${work} seat slots of work (the seats of each row they touch plus ${BLOCK_WORK_PER_ROW} a row, and the rows of each section they touch, once per touched row up to ${BLOCK_SECTION_RECOUNT_ROWS}), more than the ${MAX_BLOCK_SELECTION_WORK} one request may do: split them (by rows or sections) into several requests`,
        {
          seats: seatIds.length,
          rows,
          rowSeats,
          sectionSlots,
          work,
          maxWork: MAX_BLOCK_SELECTION_WORK,
        },
      );
    }
    return { seatIds, selection: null };
  }

  /**
   * With REDIS_WAIT_REPLICAS, a block must reach that many replicas before the PostgreSQL
   * commit, as a performance's cancel must: a failover that lost a block would let the seats sell.
   * Throws SeatBlocksNotReplicatedError when it does not in time (the transaction rolls back).
   */
  private async confirmReplicated(performanceId: number): Promise<void> {
    const wanted = this.env.REDIS_WAIT_REPLICAS;
    if (wanted === 0) return;
    const acked = await this.store.replicated(performanceId, wanted, this.env.REDIS_WAIT_TIMEOUT_MS);
    if (acked >= wanted) return;
    this.logger.warn(
      `seat blocks of performance ${performanceId}: change reached ${acked} of ${wanted} replicas in time; not committed`,
    );
    throw new SeatBlocksNotReplicatedError(performanceId);
  }

  /**
   * After a release's commit: those of `seatIds` PostgreSQL has not blocked now become available
   * in Redis, under the row lock (a block committed since the release keeps its B). No replica
   * wait, and a failure (Redis down, the write lost by a failover) is logged, not thrown: the
   * release is committed, the seats stay blocked (off sale, the safe side) and the seat
   * reconciler's next pass puts them on sale (`block_dropped`).
   */
  private async applyRelease(performanceId: number, seatIds: number[]): Promise<void> {
    try {
      await this.blocks.underRowLock(performanceId, seatIds, async (blocked) => {
        const free = others(seatIds, blocked);
        // NO_PERFORMANCE: Redis lost the performance; its rebuild reads the committed release.
        if (free.length > 0) await this.store.release(performanceId, free);
      });
    } catch (error) {
      this.logger.error(
        `seat blocks of performance ${performanceId} released, but their live state not yet (the seat reconciler will): ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /**
   * After a block Redis took and PostgreSQL did not commit: the seats' letters follow PostgreSQL
   * again, under the row lock (blocked there: B; not: a B made available). A seat a buyer took
   * meanwhile stays theirs. A failure is logged: the operator's retry or the seat reconciler's
   * next pass settles it.
   */
  private async writeBack(performanceId: number, seatIds: number[]): Promise<void> {
    try {
      await this.blocks.underRowLock(performanceId, seatIds, async (blocked) => {
        const notBlocked = others(seatIds, blocked);
        if (notBlocked.length > 0) await this.store.release(performanceId, notBlocked);
        if (blocked.length > 0) await this.store.block(performanceId, blocked);
      });
    } catch (error) {
      this.logger.error(
        `seat blocks of performance ${performanceId} not committed, and their live state not written back: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

/**
 * 1–MAX_ROWS_PER_BLOCK_SELECTION row labels, none written twice; labels alike in casing only are
 * told apart after they are resolved (SeatBlocks' resolve): the same row twice is refused there.
 */
function assertRowLabels(rows: unknown): asserts rows is string[] {
  if (!Array.isArray(rows) || rows.length < 1 || rows.length > MAX_ROWS_PER_BLOCK_SELECTION) {
    throw new InvalidInputError(`rows must list 1 to ${MAX_ROWS_PER_BLOCK_SELECTION} row labels`);
  }
  if (rows.some((label) => typeof label !== 'string' || label.trim() === '')) {
    throw new InvalidInputError('rows must be row labels');
  }
  if (new Set(rows).size !== rows.length) throw new InvalidInputError('rows must not name a row twice');
}

/** `{from, to}`: positive seat numbers, from ≤ to. */
function assertNumbers(numbers: unknown): asserts numbers is { from: number; to: number } {
  const range = numbers as { from?: unknown; to?: unknown } | null;
  if (typeof range !== 'object' || range === null || !isPositiveInteger(range.from) || !isPositiveInteger(range.to)) {
    throw new InvalidInputError('numbers must be {from, to}: seat numbers from 1');
  }
  if (range.from > range.to) throw new InvalidInputError('numbers.from must not be after numbers.to');
}

/** Names for messages: `"Straße", "STRASSE"`. */
function quoted(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}

/** A selection in words, for messages: `section "Stalls", rows "F", "G", seats 1-4`. */
function inWords(selection: SeatPlaceSelection): string {
  const parts = [`section "${selection.section}"`];
  if (selection.rows)
    parts.push(`row${selection.rows.length > 1 ? 's' : ''} ${selection.rows.map((r) => `"${r}"`).join(', ')}`);
  if (selection.numbers) parts.push(`seats ${selection.numbers.from}-${selection.numbers.to}`);
  return parts.join(', ');
}

/** The audit's record of a selection by place: as asked, and the section as stored; nothing for seat ids. */
function asAudited(selection: ResolvedTarget['selection']): Record<string, unknown> {
  if (selection === null) return {};
  const { sectionName, ...asked } = selection;
  return { selection: asked, section: sectionName };
}

/** A sorted copy of `ids`, ascending by value (`ids` is left as it is). */
function ascending(ids: readonly number[]): number[] {
  return [...ids].sort((a, b) => a - b);
}

/** The seats a change touched, or the error its outcome means. */
function done(change: SeatBlockChange, performanceId: number): number[] {
  if (change.outcome === 'NOT_FOUND') throw new NotFoundError('performance');
  if (change.outcome === 'CANCELED') throw canceled(performanceId);
  if (change.outcome === 'SOLD') throw new SeatsNotBlockableError([], change.seatIds);
  if (change.outcome === 'UNKNOWN_SEATS') throw new NotFoundError('seat', { performanceId, seatIds: change.seatIds });
  return change.changed;
}

/** The refusal of a block or release of a canceled performance's seats. */
function canceled(performanceId: number): PerformanceCanceledError {
  return new PerformanceCanceledError(
    performanceId,
    'its seats are no longer for sale, so none can be blocked or released',
  );
}

/** Those of `seatIds` not in `changed`, ascending. */
function others(seatIds: readonly number[], changed: readonly number[]): number[] {
  const touched = new Set(changed);
  return seatIds.filter((id) => !touched.has(id)).sort((a, b) => a - b);
}

/** Redis lost the performance between ensure() and the write (or knows its seats no more): nothing committed, retry. */
function lostAgain(performanceId: number): StoreUnavailableError {
  return new StoreUnavailableError(
    'redis',
    new Error(`performance ${performanceId} left Redis again while its seat blocks changed`),
  );
}
