import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Logger } from '@nestjs/common';
import { StoreUnavailableError } from '@app/core';
import {
  PerformanceRepository,
  PresalesRepository,
  PricedPerformance,
  PurchaseRepository,
  SeatBlocksRepository,
} from '@app/database';
import { WaitingRoomService } from '../waiting-room/waiting-room.service';
import { REBUILD_WAIT_MAX_MS, SeatStateRebuilder } from './seat-state-rebuilder';
import { SeatStateStore } from './seat-state.store';

const performance = { id: 7, salesOpenAt: new Date(0), currency: 'KRW' } as PricedPerformance;

/** A rebuilder over fakes of its ports: a performance Redis lost, known to PostgreSQL. */
function rebuilder() {
  const seatState = {
    isRegistered: vi.fn(async () => false),
    takeRebuildLease: vi.fn(async (): Promise<string | null> => 'lease-1'),
    isBeingRebuilt: vi.fn(async () => true),
    renewRebuildLease: vi.fn(async () => true),
    releaseRebuildLease: vi.fn(async () => {}),
    removePerformance: vi.fn(async () => {}),
    registerPerformance: vi.fn(async () => true),
  };
  const performances = {
    findById: vi.fn(async () => performance),
    whileRowShared: vi.fn(async (_id: number, work: (manager: unknown) => Promise<unknown>) => work({})),
    seatPlaces: vi.fn(async () => []),
  };
  const purchases = { activeSeatIds: vi.fn(async () => []), ticketsBoughtByBuyer: vi.fn(async () => []) };
  const rooms = { restore: vi.fn(async () => {}) };
  const subject = new SeatStateRebuilder(
    performances as unknown as PerformanceRepository,
    purchases as unknown as PurchaseRepository,
    seatState as unknown as SeatStateStore,
    rooms as unknown as WaitingRoomService,
    { blockedSeatIds: vi.fn(async () => []) } as unknown as SeatBlocksRepository,
    { list: vi.fn(async () => []) } as unknown as PresalesRepository,
  );
  return { subject, seatState, performances };
}

describe('SeatStateRebuilder bounds', () => {
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('rebuilds under its lease and answers once registered', async () => {
    const { subject, seatState } = rebuilder();
    await subject.ensure(7);
    expect(seatState.registerPerformance).toHaveBeenCalledTimes(1);
    expect(seatState.registerPerformance).toHaveBeenCalledWith(
      expect.objectContaining({ performanceId: 7 }),
      'lease-1',
    );
  });

  it('gives up with a 503 (StoreUnavailableError) when its lease lapses before every one of three rebuilds', async () => {
    const { subject, seatState } = rebuilder();
    seatState.registerPerformance.mockResolvedValue(false);
    const lost = subject.ensure(7);
    await expect(lost).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(lost).rejects.toMatchObject({ cause: { message: expect.stringContaining('lost its lease 3 times') } });
    expect(seatState.registerPerformance).toHaveBeenCalledTimes(3);
  });

  it('waits for another process’s rebuild, renewed leases and all, at most REBUILD_WAIT_MAX_MS, then answers 503', async () => {
    // The clock jumps 2 s at each look, so the bound (30 s) is reached after ~15 polls of 25 ms.
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => (now += 2000));
    const { subject, seatState } = rebuilder();
    seatState.takeRebuildLease.mockResolvedValue(null);
    const waited = subject.ensure(7);
    await expect(waited).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(waited).rejects.toMatchObject({ cause: { message: expect.stringContaining('went on past') } });
    const polls = seatState.isBeingRebuilt.mock.calls.length;
    expect(polls).toBeGreaterThanOrEqual(REBUILD_WAIT_MAX_MS / 2000 - 2);
    expect(polls).toBeLessThanOrEqual(REBUILD_WAIT_MAX_MS / 2000 + 2);
    expect(seatState.registerPerformance).not.toHaveBeenCalled();
  });

  it('returns as soon as the other process’s rebuild registered the performance', async () => {
    const { subject, seatState } = rebuilder();
    seatState.takeRebuildLease.mockResolvedValue(null);
    seatState.isRegistered.mockResolvedValueOnce(false).mockResolvedValueOnce(true);
    await subject.ensure(7);
    expect(seatState.registerPerformance).not.toHaveBeenCalled();
  });
});
