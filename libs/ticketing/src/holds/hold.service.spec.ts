import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import {
  HoldExpiredError,
  HoldLimitExceededError,
  HoldPurchasedError,
  HoldReleasedError,
  InvalidInputError,
  NotFoundError,
  SalesClosedError,
  SalesNotOpenError,
  SeatsUnavailableError,
} from '../errors';
import { newIdOf, performanceOfId } from '../ids';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { HOLD_RETENTION_MS } from './hold';
import { HoldDesk } from './hold-desk';
import type { HoldSeatsResult, ReleaseHoldResult } from './hold-scripts';
import { HoldService } from './hold.service';
import { HoldStore, StoredHold } from './hold.store';

const env = { MAX_SEATS_PER_RESERVATION: 4, RESERVATION_TTL_SECONDS: 600 } as Env;

function holds(
  answer: HoldSeatsResult = {
    outcome: 'OK',
    expiresAt: 5000,
    amount: 30,
    currency: 'KRW',
    seatPrices: [10, 20],
  },
) {
  const store = {
    hold: vi.fn(async () => answer),
    userHolds: vi.fn(async (): Promise<Awaited<ReturnType<HoldStore['userHolds']>>> => ({ holds: [], now: 0 })),
    read: vi.fn(async (): Promise<StoredHold> => ({ record: {}, now: 0 })),
    release: vi.fn(async (): Promise<ReleaseHoldResult> => 'RELEASED'),
    performanceOf: vi.fn(async (id: string) => performanceOfId(id)),
  };
  return { service: new HoldService(store as unknown as HoldStore, env), store };
}

describe('HoldService', () => {
  it('lists only live holds (HELD before Redis time), soonest to expire first', async () => {
    const { service, store } = holds();
    const record = (status: string, expiresAt: number) => ({
      userId: 'buyer',
      performanceId: '7',
      seats: '1,2',
      amount: '30',
      currency: 'KRW',
      status,
      expiresAt: String(expiresAt),
    });
    Object.assign(store, {
      userHolds: vi.fn(async () => ({
        now: 1000,
        holds: [
          { id: 'late', record: record('HELD', 3000) },
          { id: 'expired', record: record('HELD', 1000) },
          { id: 'released', record: record('RELEASED', 5000) },
          { id: 'soon', record: record('HELD', 2000) },
        ],
      })),
    });
    const live = await service.listLive('buyer');
    expect(live.map((hold) => hold.id)).toEqual(['soon', 'late']);
    expect(live[0]).toMatchObject({ performanceId: 7, seatIds: [1, 2], amount: 30, status: 'HELD' });
  });

  it('holds under a new id of the performance, with the configured lifetime and limit', async () => {
    const { service, store } = holds();
    const hold = await service.hold('buyer', 7, [1, 2]);
    expect(performanceOfId(hold.id)).toBe(7);
    expect(store.hold).toHaveBeenCalledWith({
      holdId: hold.id,
      userId: 'buyer',
      performanceId: 7,
      seatIds: [1, 2],
      lifetimeMs: 600_000,
      userLimit: 4,
      retentionMs: HOLD_RETENTION_MS,
    });
    expect(hold).toMatchObject({
      status: 'HELD',
      amount: 30,
      seatPrices: [10, 20],
      currency: 'KRW',
      expiresAt: new Date(5000),
    });
  });

  it('refuses more seats than the limit as a limit, and malformed seats as input, without Redis', async () => {
    const { service, store } = holds();
    const tooMany = service.hold('buyer', 7, [1, 2, 3, 4, 5]);
    await expect(tooMany).rejects.toBeInstanceOf(HoldLimitExceededError);
    // What the buyer holds is not known before Redis is asked: not told as 0.
    await expect(tooMany).rejects.toMatchObject({
      message: 'a user may hold at most 4 seats of a performance, and one hold has at most 4; asked for 5',
      details: { limit: 4, requested: 5 },
    });
    await expect(service.hold('buyer', 7, [1, 1])).rejects.toBeInstanceOf(InvalidInputError);
    await expect(service.hold('buyer', 0, [1])).rejects.toBeInstanceOf(InvalidInputError);
    expect(store.hold).not.toHaveBeenCalled();
  });

  it.each<[HoldSeatsResult, new (...args: never[]) => Error]>([
    [{ outcome: 'NO_PERFORMANCE' }, NotFoundError],
    [{ outcome: 'UNKNOWN_SEATS', seatIds: [9] }, NotFoundError],
    [{ outcome: 'SALES_NOT_OPEN', salesOpenAt: 9000 }, SalesNotOpenError],
    [{ outcome: 'SALES_CLOSED', reason: 'PAUSED' }, SalesClosedError],
    [{ outcome: 'UNAVAILABLE', seatIds: [2] }, SeatsUnavailableError],
    [{ outcome: 'LIMIT', alreadyHeld: 3 }, HoldLimitExceededError],
  ])('maps %o to its error', async (answer, error) => {
    await expect(holds(answer).service.hold('buyer', 7, [1, 2])).rejects.toBeInstanceOf(error);
  });

  it("names the caller's own live holds of the refused seats, read only after a refusal", async () => {
    const ok = holds();
    await ok.service.hold('buyer', 7, [1, 2]);
    expect(ok.store.userHolds).not.toHaveBeenCalled();

    const refused = holds({ outcome: 'UNAVAILABLE', seatIds: [2, 3] });
    const record = (performanceId: number, seats: string, status = 'HELD') => ({
      userId: 'buyer',
      performanceId: String(performanceId),
      seats,
      amount: '30',
      currency: 'KRW',
      status,
      expiresAt: '5000',
    });
    refused.store.userHolds.mockResolvedValue({
      now: 1000,
      holds: [
        { id: 'mine', record: record(7, '2,5') },
        { id: 'elsewhere', record: record(8, '3') },
        { id: 'released', record: record(7, '3', 'RELEASED') },
      ],
    });
    const error = await refused.service.hold('buyer', 7, [2, 3]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeatsUnavailableError);
    expect(error).toMatchObject({
      message: 'seats not available: 2, 3 (already yours: 2 in your hold mine)',
      details: { seatIds: [2, 3], heldByYou: [{ reservationId: 'mine', seatIds: [2] }] },
    });
    expect(refused.store.userHolds).toHaveBeenCalledWith('buyer');

    // A failed read of the caller's holds leaves the refusal as it was, without the hint.
    refused.store.userHolds.mockRejectedValueOnce(new Error('redis away'));
    const plain = await refused.service.hold('buyer', 7, [2, 3]).catch((e: unknown) => e);
    expect(plain).toMatchObject({ message: 'seats not available: 2, 3', details: { seatIds: [2, 3] } });
  });

  it('reads the caller’s hold as EXPIRED once Redis time has passed its end; anyone else’s is not found', async () => {
    const { service, store } = holds();
    const id = newIdOf(7);
    const record = {
      performanceId: '7',
      userId: 'buyer',
      seats: '1,2',
      amount: '30',
      currency: 'KRW',
      status: 'HELD',
      expiresAt: '5000',
    };
    store.read.mockResolvedValue({ record, now: 5000 });
    expect(await service.get('buyer', id)).toMatchObject({ id, status: 'EXPIRED', seatIds: [1, 2] });
    expect(store.read).toHaveBeenCalledWith(7, id);
    await expect(service.get('thief', id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.get('buyer', 'not-a-hold')).rejects.toBeInstanceOf(NotFoundError);
  });

  it.each<[ReleaseHoldResult, new (...args: never[]) => Error]>([
    ['NOT_FOUND', NotFoundError],
    ['ALREADY_RELEASED', HoldReleasedError],
    ['EXPIRED', HoldExpiredError],
    ['PURCHASED', HoldPurchasedError],
  ])('refuses to release a hold that is %s', async (answer, error) => {
    const { service, store } = holds();
    store.release.mockResolvedValue(answer);
    await expect(service.release('buyer', newIdOf(7))).rejects.toBeInstanceOf(error);
  });
});

describe('HoldDesk', () => {
  function desk(first: Error | null) {
    const hold = { id: newIdOf(7) };
    const service = { hold: vi.fn(async () => hold) };
    if (first) service.hold.mockRejectedValueOnce(first);
    const rebuilder = { ensure: vi.fn(async () => {}), ensureSeating: vi.fn(async () => {}) };
    return {
      desk: new HoldDesk(service as unknown as HoldService, rebuilder as unknown as SeatStateRebuilder),
      service,
      rebuilder,
      hold,
    };
  }

  it('rebuilds a performance Redis does not know, then holds again', async () => {
    const { desk: holdDesk, service, rebuilder, hold } = desk(new NotFoundError('performance', { performanceId: 7 }));
    expect(await holdDesk.hold('buyer', 7, [1])).toBe(hold);
    expect(rebuilder.ensure).toHaveBeenCalledWith(7);
    expect(service.hold).toHaveBeenCalledTimes(2);
  });

  it('builds the seating data the noOrphanSeats rule lacks, then holds again', async () => {
    const { desk: holdDesk, service, rebuilder, hold } = desk(new NotFoundError('seating', { performanceId: 7 }));
    expect(await holdDesk.hold('buyer', 7, [1])).toBe(hold);
    expect(rebuilder.ensureSeating).toHaveBeenCalledWith(7);
    expect(rebuilder.ensure).not.toHaveBeenCalled();
    expect(service.hold).toHaveBeenCalledTimes(2);
  });

  it('does not rebuild for unknown seats or any other refusal', async () => {
    for (const error of [new NotFoundError('seat', { seatIds: [9] }), new SalesClosedError()]) {
      const { desk: holdDesk, rebuilder } = desk(error);
      await expect(holdDesk.hold('buyer', 7, [1])).rejects.toBe(error);
      expect(rebuilder.ensure).not.toHaveBeenCalled();
    }
  });
});
