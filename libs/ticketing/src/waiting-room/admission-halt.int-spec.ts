import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '@app/testing';
import { seatRange, TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { newIdOf } from '../ids';
import { performanceKeys } from '../redis-keys';
import { newShuffleSeed } from './shuffle';
import { WaitingRoomStore } from './waiting-room.store';

/**
 * A waiting room halted SOLD_OUT resumes by itself when seats come back from holds that expire (the
 * waiting-room e2e shows it for a released hold): the counts' `available` that admit.lua reads
 * moves only when the hold sweeper (batch, beside the admission loop) ends the expired hold; a hold
 * script's lazy expiry alone would not happen, since nobody is admitted to hold.
 */
describe('waiting-room admission halt (real Redis)', () => {
  let fx: TicketingFixture;
  let rooms: WaitingRoomStore;

  beforeAll(() => {
    fx = ticketingFixture({ RESERVATION_TTL_SECONDS: '1', MAX_SEATS_PER_RESERVATION: '4' });
    rooms = new WaitingRoomStore(fx.redis);
  });
  afterAll(() => fx.close());

  it('a sale sold out by holds alone halts admission (SOLD_OUT); once the holds expire and the sweeper frees their seats, admission goes on by itself', async () => {
    const performanceId = 71;
    await fx.store.registerPerformance({
      performanceId,
      salesOpenAt: new Date(Date.now() - 60_000),
      currency: 'KRW',
      seats: seatRange(2),
    });
    await rooms.configure(
      {
        performanceId,
        opensAt: new Date(Date.now() - 1000),
        admitPerSecond: 100,
        maxActive: 100,
        admissionTtlSeconds: 60,
        sessionTtlSeconds: 600,
        seed: newShuffleSeed(),
        updatedAt: new Date(),
      },
      2,
    );
    // Every seat held, for 1 s: no seat available, none sold.
    const hold = await fx.holds.hold('alice', performanceId, [1, 2]);
    const ticket = await rooms.join(performanceId, 'bob', newIdOf(performanceId));
    if (ticket.outcome !== 'WAITING') throw new Error(`expected WAITING, got ${JSON.stringify(ticket)}`);
    expect(ticket.halted).toBe('SOLD_OUT');
    // The first step opens the room; the next ones are halted while the hold lives.
    await rooms.admit(performanceId, 10);
    expect(await rooms.admit(performanceId, 10)).toMatchObject({ outcome: 'HALTED', halted: 'SOLD_OUT', admitted: [] });

    // The hold expires; only batch's loops run meanwhile (the sweeper, the admission steps), no hold.
    const admitted: string[] = [];
    await waitUntil(
      async () => {
        await fx.sweeper.sweepOnce();
        const step = await rooms.admit(performanceId, 10);
        admitted.push(...step.admitted.map((each) => each.ticketId));
        // Bob keeps polling, so he does not drop out.
        await rooms.poll(performanceId, 'bob', ticket.ticketId);
        return admitted.length > 0;
      },
      'admission going on after the hold expired',
      10_000,
      50,
    );
    const keys = performanceKeys(performanceId);
    expect(await fx.redis.hget(keys.hold(hold.id), 'status')).toBe('EXPIRED');
    expect(admitted).toEqual([ticket.ticketId]);
    expect(await fx.redis.hget(keys.counts, 'available')).toBe('2');
    expect(await rooms.admissionHalted(performanceId)).toBeNull();
  });

  it('admits no more buyers than the seats available less those admitted who have not held yet', async () => {
    const performanceId = 72;
    await fx.store.registerPerformance({
      performanceId,
      salesOpenAt: new Date(Date.now() - 60_000),
      currency: 'KRW',
      seats: seatRange(2),
    });
    await rooms.configure(
      {
        performanceId,
        opensAt: new Date(Date.now() - 1000),
        admitPerSecond: 100,
        maxActive: 100,
        admissionTtlSeconds: 60,
        sessionTtlSeconds: 600,
        seed: newShuffleSeed(),
        updatedAt: new Date(),
      },
      2,
    );
    const line = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const ticket = await rooms.join(performanceId, `buyer-${i}`, newIdOf(performanceId));
        if (ticket.outcome !== 'WAITING') throw new Error(`expected WAITING, got ${JSON.stringify(ticket)}`);
        return { userId: `buyer-${i}`, ticketId: ticket.ticketId };
      }),
    );
    const admitted: string[] = [];
    const step = async () => {
      const outcome = await rooms.admit(performanceId, 50);
      admitted.push(...outcome.admitted.map((each) => each.ticketId));
      return outcome;
    };
    // Two seats, none held: two buyers admitted, however many tokens the bucket holds (20 at first).
    await waitUntil(async () => (await step(), admitted.length >= 2), 'two buyers admitted', 10_000, 50);
    for (let i = 0; i < 5; i += 1) await step();
    expect(admitted).toHaveLength(2);

    // One of them holds a seat: one seat left, spoken for by the other, who has not held yet.
    const first = line.find((entry) => entry.ticketId === admitted[0])!;
    const second = line.find((entry) => entry.ticketId === admitted[1])!;
    expect(await rooms.useAdmission(performanceId, first.ticketId, Number.MAX_SAFE_INTEGER, 'hold')).toBe('OK');
    await fx.holds.hold(first.userId, performanceId, [1]);
    for (let i = 0; i < 5; i += 1) await step();
    expect(admitted).toHaveLength(2);

    // The other leaves without holding: the seat is free for the next in line, one buyer.
    await rooms.end(performanceId, second.userId, second.ticketId, 'LEFT');
    await waitUntil(async () => (await step(), admitted.length >= 3), 'the next buyer admitted', 10_000, 50);
    for (let i = 0; i < 5; i += 1) await step();
    expect(admitted).toHaveLength(3);
  });
});
