import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '@app/testing';
import { seatRange, TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { SalesClosedError, SalesNotOpenError, SeatsUnavailableError } from '../errors';
import { newIdOf } from '../ids';
import { accessCodeDigest } from '../presales/access-code';
import { PresaleStore } from '../presales/presale.store';
import { performanceKeys } from '../redis-keys';
import { newShuffleSeed } from './shuffle';
import { RawTicket, WaitingRoomStore } from './waiting-room.store';
import { AdmissionHalt } from './waiting-room.types';

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

  /**
   * Registers `performanceId` (`seats` seats, 4 unless given, on sale since a minute unless
   * `salesOpenAt`) behind an open room of these TTLs (100 admitted a second, at most 100 active;
   * tickets polled every `pollAfterSeconds`, 60 unless given).
   */
  async function onSaleWithRoom(
    performanceId: number,
    ttl: { admissionTtlSeconds: number; sessionTtlSeconds: number },
    { salesOpenAt = new Date(Date.now() - 60_000), seats = 4, pollAfterSeconds = 60 } = {},
  ): Promise<void> {
    await fx.store.registerPerformance({ performanceId, salesOpenAt, currency: 'KRW', seats: seatRange(seats) });
    await rooms.configure(
      {
        performanceId,
        opensAt: new Date(Date.now() - 1000),
        admitPerSecond: 100,
        maxActive: 100,
        ...ttl,
        seed: newShuffleSeed(),
        updatedAt: new Date(),
      },
      pollAfterSeconds,
    );
  }

  /** A sale of two seats behind an open room whose slots and sessions outlast the test. */
  const openTwoSeatSale = (performanceId: number) =>
    onSaleWithRoom(
      performanceId,
      { admissionTtlSeconds: 60, sessionTtlSeconds: 600 },
      { seats: 2, pollAfterSeconds: 2 },
    );

  /** Joins `userId` and runs admission steps until they are admitted: the admitted ticket. */
  async function admitted(performanceId: number, userId: string): Promise<Extract<RawTicket, { outcome: 'ADMITTED' }>> {
    const joined = await rooms.join(performanceId, userId, newIdOf(performanceId));
    let ticket: RawTicket = joined;
    await waitUntil(
      async () => {
        await rooms.admit(performanceId, 10);
        ticket = await rooms.poll(performanceId, userId, (joined as { ticketId: string }).ticketId);
        return ticket.outcome === 'ADMITTED';
      },
      `${userId} admitted`,
      10_000,
      20,
    );
    return ticket as Extract<RawTicket, { outcome: 'ADMITTED' }>;
  }

  async function redisNow(): Promise<number> {
    const [seconds, micros] = await fx.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Sets the performance's status as the lifecycle PATCH writes it (ON_SALE: no field). */
  async function setStatus(performanceId: number, status: 'PAUSED' | 'ON_SALE'): Promise<void> {
    const meta = performanceKeys(performanceId).meta;
    if (status === 'ON_SALE') await fx.redis.hdel(meta, 'status');
    else await fx.redis.hset(meta, 'status', status);
  }

  it('an admitted buyer keeps the time left on their slot and token across a pause longer than both TTLs, and holds after the resume', async () => {
    const performanceId = 73;
    await onSaleWithRoom(performanceId, { admissionTtlSeconds: 1, sessionTtlSeconds: 1 });
    const ticket = await admitted(performanceId, 'carol');
    await setStatus(performanceId, 'PAUSED');
    expect(await rooms.admit(performanceId, 10)).toMatchObject({ outcome: 'HALTED', halted: 'PAUSED', expired: 0 });

    // Paused past the slot's end and the token's (admission + 1 s + 1 s), the admission loop stepping.
    await waitUntil(
      async () => (await rooms.admit(performanceId, 10), (await redisNow()) > ticket.tokenUntilAt + 500),
      'the pause outlasting the slot and the token',
      10_000,
      50,
    );
    const paused = await rooms.poll(performanceId, 'carol', ticket.ticketId);
    expect(paused).toMatchObject({ outcome: 'ADMITTED', tokenUntil: ticket.tokenUntil });

    await setStatus(performanceId, 'ON_SALE');
    expect(await rooms.admit(performanceId, 10)).toMatchObject({ outcome: 'ADMITTED', expired: 0 });
    const resumed = await rooms.poll(performanceId, 'carol', ticket.ticketId);
    if (resumed.outcome !== 'ADMITTED') throw new Error(`expected ADMITTED, got ${JSON.stringify(resumed)}`);
    // The slot's end moved on by the pause: some of its 1 s is left, as at the pause.
    const leftNow = resumed.slotEndsAt - (await redisNow());
    expect(leftNow).toBeGreaterThan(0);
    expect(leftNow).toBeLessThanOrEqual(1000);
    expect(resumed.tokenUntilAt - resumed.slotEndsAt).toBe(1000);
    // The token of before the pause (its exp on the room's clock) still admits the hold.
    expect(await rooms.useAdmission(performanceId, ticket.ticketId, ticket.tokenUntil, 'hold')).toBe('OK');
    expect((await fx.holds.hold('carol', performanceId, [1])).seatIds).toEqual([1]);
  });

  it("a pause racing slots' ends: a slot whose end passed before the pause was seen stays EXPIRED, one with time left keeps it, every script agreeing", async () => {
    const performanceId = 74;
    await onSaleWithRoom(performanceId, { admissionTtlSeconds: 3, sessionTtlSeconds: 60 });
    const late = await admitted(performanceId, 'dave');
    await waitUntil(async () => (await redisNow()) > late.slotEndsAt - 1500, "half of dave's slot", 5000, 10);
    const inTime = await admitted(performanceId, 'erin');
    // dave's slot ends; no admission step has freed it yet when the pause comes, erin's has time left.
    await waitUntil(async () => (await redisNow()) > late.slotEndsAt, "dave's slot ending", 5000, 10);
    await setStatus(performanceId, 'PAUSED');
    const [dave, daveUse, step, erin] = await Promise.all([
      rooms.poll(performanceId, 'dave', late.ticketId),
      rooms.useAdmission(performanceId, late.ticketId, late.tokenUntil, 'hold'),
      rooms.admit(performanceId, 10),
      rooms.poll(performanceId, 'erin', inTime.ticketId),
    ]);
    expect(dave).toEqual({ outcome: 'ENDED', ticketId: late.ticketId, reason: 'EXPIRED' });
    expect(daveUse).toBe('NOT_ADMITTED');
    expect(step).toMatchObject({ outcome: 'HALTED', halted: 'PAUSED' });
    expect(erin.outcome).toBe('ADMITTED');

    // Paused past erin's slot's end; then resumed: erin's slot is still there, dave's not back.
    await waitUntil(async () => (await redisNow()) > inTime.slotEndsAt + 200, "erin's slot's end passing", 5000, 20);
    expect(await rooms.admit(performanceId, 10)).toMatchObject({ outcome: 'HALTED', expired: 0 });
    await setStatus(performanceId, 'ON_SALE');
    expect(await rooms.poll(performanceId, 'erin', inTime.ticketId)).toMatchObject({ outcome: 'ADMITTED' });
    expect(await rooms.useAdmission(performanceId, inTime.ticketId, inTime.tokenUntil, 'hold')).toBe('OK');
    // The room's clock never goes back: the resume brings no ended slot back.
    expect(await rooms.poll(performanceId, 'dave', late.ticketId)).toMatchObject({
      outcome: 'ENDED',
      reason: 'EXPIRED',
    });
    expect(await rooms.useAdmission(performanceId, late.ticketId, late.tokenUntil, 'hold')).toBe('NOT_ADMITTED');
    expect(await rooms.end(performanceId, 'dave', late.ticketId, 'LEFT')).toEqual({
      outcome: 'ALREADY_ENDED',
      reason: 'EXPIRED',
    });
  });

  /**
   * The performance states of the rule (admission-halt.lua), each with what a buyer's hold gets
   * then (hold-seats.lua; hold-best-available.lua reads the same meta fields the same way): admission
   * halts exactly where every hold is refused (SOLD_OUT: every seat taken), and the room's view, the
   * admission step and the rule are one Lua function.
   */
  const cases: {
    name: string;
    salesOpenInMs?: number;
    apply?: (performanceId: number, now: number) => Promise<unknown>;
    halt: AdmissionHalt | null;
    hold: 'OK' | 'SKIP' | (new (...args: never[]) => Error);
    code?: string;
  }[] = [
    { name: 'on sale', halt: null, hold: 'OK' },
    { name: 'paused', apply: (id) => setStatus(id, 'PAUSED'), halt: 'PAUSED', hold: SalesClosedError },
    {
      name: 'closed by status',
      apply: (id) => fx.redis.hset(performanceKeys(id).meta, 'status', 'CLOSED'),
      halt: 'CLOSED',
      hold: SalesClosedError,
    },
    {
      name: 'a sales closure standing (a delete under way)',
      apply: (id, now) => fx.redis.hset(performanceKeys(id).meta, 'closed', `deleting:${now + 60_000}`),
      halt: 'CLOSED',
      hold: SalesClosedError,
    },
    {
      name: 'a sales closure whose lease lapsed',
      apply: (id, now) => fx.redis.hset(performanceKeys(id).meta, 'closed', `died:${now - 1000}`),
      halt: null,
      hold: 'OK',
    },
    {
      name: 'salesCloseAt passed',
      apply: (id, now) => fx.redis.hset(performanceKeys(id).meta, 'salesCloseAt', now - 1),
      halt: 'ENDED',
      hold: SalesClosedError,
    },
    {
      name: 'before salesOpenAt, no presale',
      salesOpenInMs: 3_600_000,
      halt: 'SALES_NOT_OPEN',
      hold: SalesNotOpenError,
    },
    {
      name: 'before salesOpenAt, a presale open now (its code holds)',
      salesOpenInMs: 3_600_000,
      apply: (id, now) => presale(id, now - 1000, now + 60_000),
      halt: null,
      hold: 'OK',
      code: 'FAN-CLUB-1',
    },
    {
      name: 'before salesOpenAt, a presale not open yet',
      salesOpenInMs: 3_600_000,
      apply: (id, now) => presale(id, now + 60_000, now + 120_000),
      halt: 'SALES_NOT_OPEN',
      hold: SalesNotOpenError,
    },
    {
      name: 'every seat taken',
      apply: (id) => fx.holds.hold('someone-else', id, [1, 2, 3, 4]),
      halt: 'SOLD_OUT',
      hold: SeatsUnavailableError,
    },
    // Counts Redis does not have: no halt (the hold scripts rebuild the seat state first).
    {
      name: 'available missing',
      apply: (id) => fx.redis.hdel(performanceKeys(id).counts, 'available'),
      halt: null,
      hold: 'SKIP',
    },
    {
      name: 'available empty',
      apply: (id) => fx.redis.hset(performanceKeys(id).counts, 'available', ''),
      halt: null,
      hold: 'SKIP',
    },
  ];

  function presale(performanceId: number, opensAt: number, closesAt: number): Promise<boolean> {
    return new PresaleStore(fx.redis).put(performanceId, {
      id: '1',
      name: 'Fan club',
      opensAt: new Date(opensAt),
      closesAt: new Date(closesAt),
      codeDigest: accessCodeDigest(performanceId, 'FAN-CLUB-1'),
    });
  }

  it.each(cases.map((each, index) => ({ ...each, performanceId: 80 + index })))(
    'admission halts exactly where every hold is refused: $name',
    async ({ performanceId, salesOpenInMs, apply, halt, hold, code }) => {
      const now = await redisNow();
      await onSaleWithRoom(
        performanceId,
        { admissionTtlSeconds: 60, sessionTtlSeconds: 60 },
        { salesOpenAt: new Date(now + (salesOpenInMs ?? -60_000)) },
      );
      // The first step opens the room (the pre-queue shuffle), with no one waiting.
      await rooms.admit(performanceId, 10);
      await apply?.(performanceId, now);

      expect(await rooms.admissionHalted(performanceId)).toBe(halt);
      const joined = await rooms.join(performanceId, 'waiter', newIdOf(performanceId));
      expect(joined).toMatchObject({ outcome: 'WAITING', halted: halt });
      if (halt)
        expect(await rooms.admit(performanceId, 10)).toMatchObject({ outcome: 'HALTED', halted: halt, admitted: [] });
      else {
        await waitUntil(
          async () => (await rooms.admit(performanceId, 10)).admitted.length === 1,
          'the waiter admitted',
          5000,
          20,
        );
      }

      if (hold === 'SKIP') return;
      const attempt = fx.holds.hold('buyer', performanceId, [1], undefined, code);
      if (hold === 'OK') expect((await attempt).seatIds).toEqual([1]);
      else await expect(attempt).rejects.toBeInstanceOf(hold);
    },
  );

  it('a sale sold out by holds alone halts admission (SOLD_OUT); once the holds expire and the sweeper frees their seats, admission goes on by itself', async () => {
    const performanceId = 71;
    await openTwoSeatSale(performanceId);
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
    await openTwoSeatSale(performanceId);
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
