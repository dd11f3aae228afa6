import { Inject, Injectable, Logger } from '@nestjs/common';
import { Env } from '@app/config';
import { StoreUnavailableError } from '@app/core';
import { SeatBlockChange, SeatBlockRecord, SeatBlocksRepository } from '@app/database';
import type { Page } from '../catalog/catalog.types';
import { decodeCursor, encodeCursor } from '../catalog/cursor';
import { InvalidInputError, NotFoundError, SeatBlocksNotReplicatedError, SeatsNotBlockableError } from '../errors';
import { assertSeatIds, codePointLength, isPositiveInteger } from '../input';
import type { Operator } from '../purchases/admin-purchases';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SeatBlockStore } from './seat-block.store';

/** The audit actions of blocking and releasing seats (`admin_audit_log`). */
export const SEAT_BLOCK_ACTION = 'seat.block';
export const SEAT_RELEASE_ACTION = 'seat.release';
/** Longest reason an operator may give, in Unicode code points (as the DTO and PostgreSQL's varchar count). */
export const MAX_SEAT_BLOCK_REASON_LENGTH = 200;
/** Most seats one block or release names: a whole camera platform, a few ms of Redis. */
export const MAX_SEATS_PER_BLOCK_REQUEST = 500;
/**
 * Most seats one block or release by place (section, rows, seat numbers) touches: one run of
 * block-seats.lua over them takes a few ms on Redis (README "Blocked seats" has the measured
 * time), and stays well under the Lua stack's 8,000 values the script unpacks (two per seat).
 */
export const MAX_SEATS_PER_BLOCK_SELECTION = 2000;

/** A block's answer: the seats newly blocked and those that were blocked before (they keep their first reason). */
export interface BlockResult {
  performanceId: number;
  /** Ascending. */
  blocked: number[];
  /** Ascending. */
  alreadyBlocked: number[];
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
    private readonly rebuilder: SeatStateRebuilder,
    @Inject(Env) private readonly env: Env,
  ) {}

  /**
   * Blocks `seatIds` of the performance, all or none: a seat in a buyer's live hold or sold refuses
   * the whole request (SeatsNotBlockableError, 409: nothing changed; sold means shown S in Redis
   * or with an ACTIVE ticket in PostgreSQL, checked under the row lock); a seat blocked already stays
   * blocked with its first reason (idempotent); a seat of a hold past its expiry is taken from it.
   * Atomic against buyers' holds (one Lua script run): each seat ends held or blocked, never both.
   * Recorded in the audit log (`seat.block`, subject `performance:<id>`) in the same transaction.
   * `reason`: up to 200 characters, or null. Throws NotFoundError('performance' | 'seat', details
   * `{seatIds}` for seats not of the performance), InvalidInputError (seat ids, reason),
   * SeatsNotBlockableError, SeatBlocksNotReplicatedError and StoreUnavailableError (503: nothing
   * committed, retry).
   */
  async block(
    performanceId: number,
    seatIds: number[],
    reason: string | null,
    operator: Operator,
  ): Promise<BlockResult> {
    this.assertRequest(performanceId, seatIds);
    if (reason !== null && codePointLength(reason) > MAX_SEAT_BLOCK_REASON_LENGTH) {
      throw new InvalidInputError(`reason must be at most ${MAX_SEAT_BLOCK_REASON_LENGTH} characters`);
    }
    // Before the row lock: a rebuild reads under the row's share lock (SeatStateRebuilder).
    await this.rebuilder.ensure(performanceId);
    let written = false;
    const change = await this.blocks
      .block(
        performanceId,
        seatIds,
        { id: operator.id, email: operator.email, reason },
        async () => {
          const outcome = await this.store.block(performanceId, seatIds);
          if (outcome.outcome === 'UNAVAILABLE') throw new SeatsNotBlockableError(outcome.held, outcome.sold);
          if (outcome.outcome !== 'OK') throw lostAgain(performanceId);
          written = outcome.blocked > 0;
          await this.confirmReplicated(performanceId);
        },
        (changed) => ({
          actorId: operator.id,
          actorEmail: operator.email,
          action: SEAT_BLOCK_ACTION,
          subjectId: `performance:${performanceId}`,
          details: { performanceId, seatIds: changed, reason },
        }),
      )
      .catch(async (error: unknown) => {
        if (written) await this.writeBack(performanceId, seatIds);
        throw error;
      });
    const changed = done(change, performanceId);
    return { performanceId, blocked: changed, alreadyBlocked: others(seatIds, changed) };
  }

  /**
   * Puts `seatIds` of the performance back on sale: each blocked seat becomes available (holdable,
   * offered by best-available again). A seat that is not blocked is no change and no error
   * (idempotent, so a retry after a lost answer succeeds; it also drops a block Redis kept from a
   * block whose commit never happened). Recorded in the audit log (`seat.release`). PostgreSQL
   * commits first and Redis follows (see {@link applyRelease}), so no failure after the commit can
   * leave a seat on sale that PostgreSQL has blocked. Throws NotFoundError('performance' | 'seat'),
   * InvalidInputError and StoreUnavailableError (503 from the rebuild before anything: nothing
   * committed, retry).
   */
  async release(performanceId: number, seatIds: number[], operator: Operator): Promise<ReleaseResult> {
    this.assertRequest(performanceId, seatIds);
    await this.rebuilder.ensure(performanceId);
    const change = await this.blocks.release(performanceId, seatIds, (changed) => ({
      actorId: operator.id,
      actorEmail: operator.email,
      action: SEAT_RELEASE_ACTION,
      subjectId: `performance:${performanceId}`,
      details: { performanceId, seatIds: changed },
    }));
    const changed = done(change, performanceId);
    await this.applyRelease(performanceId, seatIds);
    return { performanceId, released: changed, notBlocked: others(seatIds, changed) };
  }

  /**
   * A page of the performance's blocked seats in layout order (`limit` 1–100, `cursor` the
   * previous page's `nextCursor`). Throws NotFoundError('performance'), DomainError 'invalid'
   * (InvalidCursor).
   */
  async list(performanceId: number, cursor: string | undefined, limit: number): Promise<Page<SeatBlockRecord>> {
    if (!isPositiveInteger(performanceId)) throw new NotFoundError('performance');
    const after = decodeCursor<{ p: number }>(cursor, { p: 'int4' })?.p ?? 0;
    if (!(await this.blocks.performanceExists(performanceId))) throw new NotFoundError('performance');
    const rows = await this.blocks.page(performanceId, after, limit + 1);
    const items = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? encodeCursor({ p: items[items.length - 1].position }) : null;
    return { items, nextCursor };
  }

  private assertRequest(performanceId: number, seatIds: number[]): void {
    if (!isPositiveInteger(performanceId)) throw new NotFoundError('performance');
    assertSeatIds(seatIds, MAX_SEATS_PER_BLOCK_REQUEST);
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

/** The seats a change touched, or the error its outcome means. */
function done(change: SeatBlockChange, performanceId: number): number[] {
  if (change.outcome === 'NOT_FOUND') throw new NotFoundError('performance');
  if (change.outcome === 'SOLD') throw new SeatsNotBlockableError([], change.seatIds);
  if (change.outcome === 'UNKNOWN_SEATS') throw new NotFoundError('seat', { performanceId, seatIds: change.seatIds });
  return change.changed;
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
