import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Logger } from '@nestjs/common';
import type { Env } from '@app/config';
import { StoreUnavailableError } from '@app/core';
import type { SeatBlocksRepository } from '@app/database';
import { InvalidInputError, NotFoundError, SeatBlocksNotReplicatedError, SeatsNotBlockableError } from '../errors';
import type { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import type { SeatStateStore } from '../seats/seat-state.store';
import type { SeatStatus } from '../seats/seat-status';
import type { SeatBlockStore } from './seat-block.store';
import { BLOCK_SECTION_RECOUNT_ROWS, SeatBlocks } from './seat-blocks';

const operator = { id: 'op-1', email: 'ops@example.test' };

/**
 * SeatBlocks over fakes of its ports: PostgreSQL's blocked seats in `persisted`, the change run as
 * the repository runs it (apply before the commit; a throw rolls the rows back).
 */
function seatBlocks(replicas = 0) {
  const persisted = new Set<number>();
  const audits: unknown[] = [];
  const repository = {
    block: vi.fn(
      async (
        _id: number,
        seatIds: number[],
        _by: unknown,
        apply: () => Promise<void>,
        audit: (c: number[]) => unknown,
      ) => {
        const changed = seatIds.filter((id) => !persisted.has(id)).sort((a, b) => a - b);
        await apply();
        changed.forEach((id) => persisted.add(id));
        audits.push(audit(changed));
        return { outcome: 'DONE', changed };
      },
    ),
    release: vi.fn(async (_id: number, seatIds: number[], audit: (c: number[]) => unknown) => {
      const changed = seatIds.filter((id) => persisted.has(id)).sort((a, b) => a - b);
      changed.forEach((id) => persisted.delete(id));
      audits.push(audit(changed));
      return { outcome: 'DONE', changed };
    }),
    blockFree: vi.fn(
      async (
        _id: number,
        seatIds: number[],
        _by: unknown,
        apply: (candidates: number[]) => Promise<number[]>,
        audit: (c: number[], sold: number[]) => unknown,
      ) => {
        const recorded = (await apply(seatIds)).sort((a, b) => a - b);
        const changed = recorded.filter((id) => !persisted.has(id));
        changed.forEach((id) => persisted.add(id));
        if (changed.length > 0) audits.push(audit(changed, []));
        return { outcome: 'DONE', changed, recorded, sold: [] };
      },
    ),
    sectionNames: vi.fn(async () => ['Stalls', 'Balcony']),
    performanceStatus: vi.fn(async (): Promise<string | null> => 'ON_SALE'),
    sectionRows: vi.fn(async () => [
      { row: 1, rowLabel: 'A' },
      { row: 2, rowLabel: 'B' },
    ]),
    seatsAt: vi.fn(async () => ({ seatIds: [11, 12], total: 2, rows: 1, rowSeats: 40 })),
    seatIdsWork: vi.fn(async () => ({ rows: 1, rowSeats: 40, sectionSlots: 20 })),
    underRowLock: vi.fn(async (_id: number, seatIds: number[], apply: (blocked: number[]) => Promise<void>) => {
      await apply(seatIds.filter((id) => persisted.has(id)));
      return true;
    }),
  };
  const store = {
    block: vi.fn(async (_id: number, seatIds: number[]) => ({
      outcome: 'OK' as const,
      blocked: seatIds.length,
      fromExpiredHolds: 0,
    })),
    release: vi.fn(async (_id: number, seatIds: number[]) => ({ outcome: 'OK' as const, released: seatIds.length })),
    replicated: vi.fn(async () => replicas),
  };
  const rebuilder = { ensure: vi.fn(async () => {}) };
  /** Live statuses as Redis has them: every seat available unless listed. */
  const live = new Map<number, SeatStatus>();
  const seats = {
    statuses: vi.fn(async (_id: number, seatIds: number[]) => seatIds.map((id) => live.get(id) ?? 'AVAILABLE')),
  };
  const subject = new SeatBlocks(
    repository as unknown as SeatBlocksRepository,
    store as unknown as SeatBlockStore,
    seats as unknown as SeatStateStore,
    rebuilder as unknown as SeatStateRebuilder,
    { REDIS_WAIT_REPLICAS: replicas === 0 ? 0 : 1, REDIS_WAIT_TIMEOUT_MS: 100 } as Env,
  );
  return { subject, repository, store, rebuilder, persisted, audits, live };
}

describe('SeatBlocks', () => {
  it('counts a section refreshed after each of its touched rows up to the number seating.lua does', () => {
    const lua = readFileSync(join(__dirname, '../lua-includes/seating.lua'), 'utf8');
    expect(lua).toContain(`local SEATING_RECOUNT_ROWS = ${BLOCK_SECTION_RECOUNT_ROWS}\n`);
  });

  it('bounds the work of seats named by id as a selection by place, plus their sections: refused before anything, split taken', async () => {
    const { subject, repository, rebuilder, store } = seatBlocks();
    // 500 ids, one per row of 200-seat rows in one section of 500 rows: the shape that took ~120 ms.
    const ids = Array.from({ length: 500 }, (_, index) => index + 1);
    repository.seatIdsWork.mockResolvedValueOnce({ rows: 500, rowSeats: 100_000, sectionSlots: 500 });
    await expect(subject.block(7, { seatIds: ids }, null, operator)).rejects.toMatchObject({
      constructor: InvalidInputError,
      message: expect.stringMatching(
        /^the 500 seat ids name seats in 500 rows of 100000 seats, in sections of 500 row slots to refresh: 115500 seat slots of work .* more than the 20000 one request may do: split them/,
      ),
      details: { seats: 500, rows: 500, rowSeats: 100_000, sectionSlots: 500, work: 115_500, maxWork: 20_000 },
    });
    expect(repository.seatIdsWork).toHaveBeenLastCalledWith(7, ids, BLOCK_SECTION_RECOUNT_ROWS, {
      blockedOnly: false,
    });
    // Few rows, but in many sections each refreshed after each of its rows: bounded too.
    repository.seatIdsWork.mockResolvedValueOnce({ rows: 80, rowSeats: 80, sectionSlots: 19_000 });
    await expect(subject.block(7, ids.slice(0, 80), null, operator)).rejects.toMatchObject({
      details: { work: 80 + 80 * 30 + 19_000 },
    });
    // A release counts the blocked seats among the ids, as a release by place does.
    repository.seatIdsWork.mockResolvedValueOnce({ rows: 500, rowSeats: 100_000, sectionSlots: 500 });
    await expect(subject.release(7, ids, operator)).rejects.toThrow(/^the 500 seat ids name blocked seats in 500 rows/);
    expect(repository.seatIdsWork).toHaveBeenLastCalledWith(7, ids, BLOCK_SECTION_RECOUNT_ROWS, {
      blockedOnly: true,
    });
    expect(rebuilder.ensure).not.toHaveBeenCalled();
    expect(store.block).not.toHaveBeenCalled();
    // Exactly at the bound: taken.
    repository.seatIdsWork.mockResolvedValueOnce({ rows: 100, rowSeats: 16_000, sectionSlots: 1_000 });
    expect(await subject.block(7, ids.slice(0, 100), null, operator)).toMatchObject({ blocked: ids.slice(0, 100) });
  });

  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('blocks after ensuring the live state, answering new and already blocked seats, and audits both changes', async () => {
    const { subject, rebuilder, audits } = seatBlocks();
    expect(await subject.block(7, [3, 1], 'desk', operator)).toEqual({
      performanceId: 7,
      blocked: [1, 3],
      alreadyBlocked: [],
    });
    expect(rebuilder.ensure).toHaveBeenCalledWith(7);
    expect(await subject.block(7, [1, 2], null, operator)).toEqual({
      performanceId: 7,
      blocked: [2],
      alreadyBlocked: [1],
    });
    expect(await subject.release(7, [2, 5], operator)).toEqual({ performanceId: 7, released: [2], notBlocked: [5] });
    expect(audits).toEqual([
      expect.objectContaining({
        action: 'seat.block',
        actorId: 'op-1',
        details: { performanceId: 7, seatIds: [1, 3], reason: 'desk' },
      }),
      expect.objectContaining({ action: 'seat.block', details: { performanceId: 7, seatIds: [2], reason: null } }),
      expect.objectContaining({
        action: 'seat.release',
        subjectId: 'performance:7',
        details: { performanceId: 7, seatIds: [2] },
      }),
    ]);
  });

  it('refuses held or sold seats with SeatsNotBlockable, committing nothing and writing nothing back', async () => {
    const { subject, store, repository, persisted } = seatBlocks();
    store.block.mockResolvedValueOnce({ outcome: 'UNAVAILABLE', held: [4], sold: [2] } as never);
    const refused = subject.block(7, [1, 2, 4], null, operator);
    await expect(refused).rejects.toBeInstanceOf(SeatsNotBlockableError);
    await expect(refused).rejects.toMatchObject({ details: { seatIds: [2, 4], held: [4], sold: [2] } });
    expect(persisted.size).toBe(0);
    expect(repository.underRowLock).not.toHaveBeenCalled();
  });

  it('names the seats Redis has held or sold too when PostgreSQL refuses sold seats first, writing nothing', async () => {
    const { subject, store, repository, live } = seatBlocks();
    repository.block.mockResolvedValueOnce({ outcome: 'SOLD', seatIds: [2] } as never);
    live.set(4, 'HELD').set(6, 'SOLD').set(2, 'SOLD');
    const refused = subject.block(7, [1, 2, 4, 6], null, operator);
    await expect(refused).rejects.toMatchObject({
      details: { seatIds: [2, 4, 6], held: [4], sold: [2, 6], heldCount: 1, soldCount: 2, truncated: false },
    });
    expect(store.block).not.toHaveBeenCalled();
  });

  it('with too few replicas: 503, nothing committed, the seats Redis took written back from PostgreSQL', async () => {
    const waiting = seatBlocks(1);
    waiting.store.replicated.mockResolvedValue(0);
    waiting.persisted.add(1);
    await expect(waiting.subject.block(7, [1, 2], null, operator)).rejects.toBeInstanceOf(SeatBlocksNotReplicatedError);
    // Seat 1 stays blocked (PostgreSQL has it), seat 2 is made available again.
    expect(waiting.store.release).toHaveBeenCalledWith(7, [2]);
    expect(waiting.store.block).toHaveBeenLastCalledWith(7, [1]);
    expect([...waiting.persisted]).toEqual([1]);
  });

  it('releases in PostgreSQL first, then in Redis under the row lock the seats not blocked by then', async () => {
    const { subject, repository, store, persisted } = seatBlocks(1);
    persisted.add(1).add(2);
    // A block of seat 2 commits between the release's commit and its Redis write: seat 2 keeps its B.
    repository.underRowLock.mockImplementationOnce(async (_id, seatIds, apply) => {
      expect(persisted.has(1)).toBe(false);
      persisted.add(2);
      await apply(seatIds.filter((id) => persisted.has(id)));
      return true;
    });
    expect(await subject.release(7, [1, 2, 3], operator)).toEqual({
      performanceId: 7,
      released: [1, 2],
      notBlocked: [3],
    });
    expect(store.release).toHaveBeenCalledTimes(1);
    expect(store.release).toHaveBeenCalledWith(7, [1, 3]);
    // No replica wait for a release: a lost one keeps seats off sale until the seat reconciler.
    expect(store.replicated).not.toHaveBeenCalled();
  });

  it('a release whose Redis write fails after the commit answers the committed release and logs', async () => {
    const { subject, store, persisted } = seatBlocks();
    persisted.add(1);
    store.release.mockRejectedValueOnce(new Error('redis down'));
    expect(await subject.release(7, [1], operator)).toEqual({ performanceId: 7, released: [1], notBlocked: [] });
    expect(persisted.size).toBe(0);
    expect(Logger.prototype.error).toHaveBeenCalledWith(expect.stringContaining('redis down'));
  });

  it('a performance Redis lost again inside the lock is a 503 (StoreUnavailableError), nothing committed', async () => {
    const { subject, store, persisted } = seatBlocks();
    store.block.mockResolvedValueOnce({ outcome: 'NO_PERFORMANCE' } as never);
    await expect(subject.block(7, [1], null, operator)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(persisted.size).toBe(0);
  });

  it('checks its input before anything else', async () => {
    const { subject, rebuilder } = seatBlocks();
    await expect(subject.block(0, [1], null, operator)).rejects.toBeInstanceOf(NotFoundError);
    await expect(subject.block(7, [], null, operator)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(subject.block(7, [1, 1], null, operator)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(subject.block(7, [1], 'x'.repeat(201), operator)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      subject.release(
        7,
        Array.from({ length: 501 }, (_, i) => i + 1),
        operator,
      ),
    ).rejects.toBeInstanceOf(InvalidInputError);
    expect(rebuilder.ensure).not.toHaveBeenCalled();
  });

  it('onlyFree: records the seats the script blocked, answers the skipped ones, writes back on a failed replica wait', async () => {
    const { subject, store, persisted, audits } = seatBlocks();
    store.block.mockResolvedValueOnce({
      outcome: 'OK',
      blocked: 2,
      fromExpiredHolds: 0,
      skipped: { held: [3], sold: [4] },
    } as never);
    expect(await subject.block(7, [1, 2, 3, 4], 'desk', operator, { onlyFree: true })).toEqual({
      performanceId: 7,
      blocked: [1, 2],
      alreadyBlocked: [],
      skipped: { held: [3], sold: [4] },
    });
    expect(store.block).toHaveBeenCalledWith(7, [1, 2, 3, 4], { onlyFree: true });
    expect([...persisted]).toEqual([1, 2]);
    expect(audits).toEqual([
      expect.objectContaining({
        details: {
          performanceId: 7,
          seatIds: [1, 2],
          reason: 'desk',
          onlyFree: true,
          skipped: { held: [3], sold: [4] },
        },
      }),
    ]);

    const waiting = seatBlocks(1);
    waiting.store.replicated.mockResolvedValue(0);
    await expect(waiting.subject.block(7, [5, 6], null, operator, { onlyFree: true })).rejects.toBeInstanceOf(
      SeatBlocksNotReplicatedError,
    );
    expect(waiting.store.release).toHaveBeenCalledWith(7, [5, 6]);
    expect(waiting.persisted.size).toBe(0);
  });

  it('a selection by place: exactly one form, a section first, unknown places named, bounded', async () => {
    const { subject, repository, rebuilder, audits } = seatBlocks();
    for (const target of [
      { seatIds: [1], section: 'Stalls' },
      {},
      { rows: ['A'] },
      { numbers: { from: 1, to: 2 } },
      { section: 'Stalls', numbers: { from: 3, to: 2 } },
      { section: 'Stalls', rows: ['A', 'A'] },
      { section: 'Stalls', rows: [] },
    ]) {
      await expect(subject.block(7, target, null, operator), JSON.stringify(target)).rejects.toBeInstanceOf(
        InvalidInputError,
      );
    }
    expect(repository.sectionNames).not.toHaveBeenCalled();
    await expect(subject.block(7, { section: 'Circle' }, null, operator)).rejects.toMatchObject({
      message: 'section "Circle" not found',
      details: { performanceId: 7, section: 'Circle' },
    });
    await expect(subject.release(7, { section: 'stalls', rows: ['a', 'Q'] }, operator)).rejects.toMatchObject({
      message: 'row "Q" of section "Stalls" not found',
      details: { performanceId: 7, section: 'Stalls', rows: ['Q'] },
    });
    repository.seatsAt.mockResolvedValueOnce({ seatIds: [], total: 0, rows: 0, rowSeats: 0 });
    await expect(subject.block(7, { section: 'Stalls', numbers: { from: 9, to: 9 } }, null, operator)).rejects.toThrow(
      'the selection matches no seat: section "Stalls", seats 9-9',
    );
    repository.seatsAt.mockResolvedValueOnce({ seatIds: [1], total: 2500, rows: 25, rowSeats: 2500 });
    await expect(subject.block(7, { section: 'Stalls' }, null, operator)).rejects.toThrow(
      /matches 2500 seats, more than the 2000 one request may touch: split it/,
    );
    // Few seats, but in long rows: the work of the rows they touch is bounded too.
    repository.seatsAt.mockResolvedValueOnce({ seatIds: [1], total: 2000, rows: 1000, rowSeats: 100_000 });
    await expect(
      subject.block(7, { section: 'Stalls', numbers: { from: 1, to: 2 } }, null, operator),
    ).rejects.toMatchObject({
      message: expect.stringMatching(
        /2000 seats lie in 1000 rows of 100000 seats: 130000 seat slots of work .* more than the 20000 .* split it/,
      ),
      details: { matched: 2000, rows: 1000, rowSeats: 100_000, work: 130_000, maxWork: 20_000 },
    });
    expect(rebuilder.ensure).not.toHaveBeenCalled();

    expect(
      await subject.block(7, { section: 'stalls', rows: ['b'], numbers: { from: 1, to: 2 } }, 'cam', operator),
    ).toEqual({
      performanceId: 7,
      blocked: [11, 12],
      alreadyBlocked: [],
    });
    expect(repository.seatsAt).toHaveBeenLastCalledWith(7, 'Stalls', [2], { from: 1, to: 2 }, 2000, {
      blockedOnly: false,
    });
    expect(audits).toEqual([
      expect.objectContaining({
        details: {
          performanceId: 7,
          seatIds: [11, 12],
          reason: 'cam',
          selection: { section: 'stalls', rows: ['b'], numbers: { from: 1, to: 2 } },
          section: 'Stalls',
        },
      }),
    ]);
  });

  it('a release by place works on the blocked seats of the selection only, and counts its bounds on them', async () => {
    const { subject, repository, rebuilder } = seatBlocks();
    repository.seatsAt.mockResolvedValueOnce({ seatIds: [11, 12], total: 2, rows: 1, rowSeats: 50 });
    expect(await subject.release(7, { section: 'Stalls' }, operator)).toMatchObject({ performanceId: 7 });
    expect(repository.seatsAt).toHaveBeenLastCalledWith(7, 'Stalls', null, null, 2000, { blockedOnly: true });
    expect(repository.release).toHaveBeenLastCalledWith(7, [11, 12], expect.any(Function));

    // None blocked in a section that has seats: nothing to do, no error (a retried release).
    repository.seatsAt.mockResolvedValueOnce({ seatIds: [], total: 0, rows: 0, rowSeats: 0 });
    rebuilder.ensure.mockClear();
    expect(await subject.release(7, { section: 'Stalls' }, operator)).toEqual({
      performanceId: 7,
      released: [],
      notBlocked: [],
    });
    expect(rebuilder.ensure).not.toHaveBeenCalled();

    // None blocked and no seat at all: the selection is wrong.
    repository.seatsAt
      .mockResolvedValueOnce({ seatIds: [], total: 0, rows: 0, rowSeats: 0 })
      .mockResolvedValueOnce({ seatIds: [], total: 0, rows: 0, rowSeats: 0 });
    await expect(subject.release(7, { section: 'Stalls', numbers: { from: 90, to: 99 } }, operator)).rejects.toThrow(
      'the selection matches no seat',
    );
  });

  it('a section or row named alike in casing only, with no exact match, is ambiguous: 400 naming them', async () => {
    const { subject, repository, rebuilder } = seatBlocks();
    repository.sectionNames.mockResolvedValue(['Straße', 'STRASSE']);
    await expect(subject.block(7, { section: 'strasse' }, null, operator)).rejects.toMatchObject({
      constructor: InvalidInputError,
      message: expect.stringContaining('section "strasse" is ambiguous: it names "Straße", "STRASSE"'),
      details: { section: 'strasse', sections: ['Straße', 'STRASSE'] },
    });
    await expect(subject.release(7, { section: 'strasse' }, operator)).rejects.toBeInstanceOf(InvalidInputError);
    // Written exactly as stored, each is reached.
    await subject.block(7, { section: 'STRASSE' }, null, operator);
    expect(repository.seatsAt).toHaveBeenLastCalledWith(7, 'STRASSE', null, null, 2000, { blockedOnly: false });

    repository.sectionNames.mockResolvedValue(['Stalls']);
    repository.sectionRows.mockResolvedValue([
      { row: 1, rowLabel: 'aa' },
      { row: 2, rowLabel: 'AA' },
    ]);
    await expect(subject.block(7, { section: 'Stalls', rows: ['Aa'] }, null, operator)).rejects.toMatchObject({
      constructor: InvalidInputError,
      message: expect.stringContaining('row "Aa" of section "Stalls" is ambiguous: it names rows "aa", "AA"'),
      details: { section: 'Stalls', row: 'Aa', rows: ['aa', 'AA'] },
    });
    await subject.block(7, { section: 'Stalls', rows: ['AA'] }, null, operator);
    expect(repository.seatsAt).toHaveBeenLastCalledWith(7, 'Stalls', [2], null, 2000, { blockedOnly: false });
    // Both, each written exactly as stored: two rows, no repeat.
    await subject.block(7, { section: 'Stalls', rows: ['aa', 'AA'] }, null, operator);
    expect(repository.seatsAt).toHaveBeenLastCalledWith(7, 'Stalls', [1, 2], null, 2000, { blockedOnly: false });
    expect(rebuilder.ensure).toHaveBeenCalledTimes(3);
  });

  it('two labels naming the same row (alike in casing, one row so named) are a repeat: 400 naming them', async () => {
    const { subject, repository, rebuilder } = seatBlocks();
    for (const send of [
      () => subject.block(7, { section: 'Stalls', rows: ['a', 'B', 'A'] }, null, operator),
      () => subject.release(7, { section: 'stalls', rows: ['a', 'B', 'A'] }, operator),
    ]) {
      await expect(send()).rejects.toMatchObject({
        constructor: InvalidInputError,
        message: 'rows "a", "A" name one row twice ("A" of section "Stalls"): give each row once',
        details: { section: 'Stalls', row: 'A', rows: ['a', 'A'] },
      });
    }
    await expect(subject.block(7, { section: 'Stalls', rows: ['B', 'B'] }, null, operator)).rejects.toThrow(
      'rows must not name a row twice',
    );
    expect(repository.sectionRows).toHaveBeenCalledTimes(2);
    expect(rebuilder.ensure).not.toHaveBeenCalled();
  });
});
