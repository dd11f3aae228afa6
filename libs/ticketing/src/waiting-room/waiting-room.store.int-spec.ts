import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { createRedis } from '@app/redis';
import { createTestEnvWithoutDatabase, deleteRedisKeys, keysMatching, REDIS_URL, waitUntil } from '@app/testing';
import { newIdOf } from '../ids';
import { performanceKeys } from '../redis-keys';
import { newShuffleSeed, seedCommitment, shuffledArrivals } from './shuffle';
import { CLOSED_TICKETS_TTL_SECONDS, waitingRoomKeys } from './waiting-room-keys';
import { RawTicket, WaitingRoomStore } from './waiting-room.store';
import { StoredWaitingRoom } from './waiting-room.types';

describe('WaitingRoomStore (real Redis)', () => {
  const testEnv = createTestEnvWithoutDatabase();
  const env = parseEnv(testEnv);
  const clients: Redis[] = [];
  const connect = () => {
    const redis = createRedis(env);
    clients.push(redis);
    return { redis, store: new WaitingRoomStore(redis) };
  };
  let redis: Redis;
  let store: WaitingRoomStore;

  const room = (performanceId: number, settings: Partial<StoredWaitingRoom> = {}): StoredWaitingRoom => ({
    performanceId,
    opensAt: new Date(Date.now() - 1000),
    admitPerSecond: 100,
    maxActive: 1000,
    admissionTtlSeconds: 60,
    sessionTtlSeconds: 600,
    seed: newShuffleSeed(),
    updatedAt: new Date(),
    ...settings,
  });
  const waiting = (ticket: RawTicket) => {
    if (ticket.outcome !== 'WAITING') throw new Error(`expected WAITING, got ${JSON.stringify(ticket)}`);
    return ticket;
  };
  /** Redis TIME, epoch ms: the clock the room's scripts go by. */
  const redisMs = async () => {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  };
  /** Admission steps until `count` were admitted in all; returns the admitted ticket ids. */
  const admitUntil = async (performanceId: number, count: number) => {
    const admitted: string[] = [];
    await waitUntil(
      async () => {
        const step = await store.admit(performanceId, count - admitted.length);
        admitted.push(...step.admitted.map((a) => a.ticketId));
        return admitted.length >= count;
      },
      `${count} admitted`,
      10_000,
      5,
    );
    return admitted;
  };

  beforeAll(() => {
    ({ redis, store } = connect());
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await deleteRedisKeys(REDIS_URL, testEnv.REDIS_KEY_PREFIX);
  });

  it('20,000 joins in a burst from two connections: one ticket per user, positions a permutation of 1..20,000', async () => {
    const performanceId = 1;
    await store.configure(room(performanceId), 300);
    const stores = [connect().store, connect().store];
    const users = Array.from({ length: 20_000 }, (_, index) => `user-${index}`);
    const first = await Promise.all(
      users.map((user, index) => stores[index % 2].join(performanceId, user, newIdOf(performanceId))),
    );
    const tickets = first.map(waiting);
    expect(new Set(tickets.map((t) => t.ticketId)).size).toBe(users.length);
    const positions = tickets.map((t) => t.position).sort((a, b) => a - b);
    expect(positions).toEqual(users.map((_, index) => index + 1));

    // Joining again, even all at once, answers the same ticket: one per user and performance.
    const again = await Promise.all(
      users.map((user, index) => stores[(index + 1) % 2].join(performanceId, user, newIdOf(performanceId))),
    );
    expect(again.map((t) => waiting(t).ticketId)).toEqual(tickets.map((t) => t.ticketId));
    expect(await redis.zcard(waitingRoomKeys(performanceId).waiting)).toBe(users.length);
    expect(await redis.hlen(waitingRoomKeys(performanceId).owners)).toBe(users.length);
  });

  it('shuffles the pre-queue at the opening by the committed seed; anyone re-derives it; later arrivals queue behind', async () => {
    const performanceId = 2;
    const seed = newShuffleSeed();
    // Far enough ahead that every early join lands before it on a loaded machine; moved to now
    // below, as an admin may move an opening.
    const opensAt = new Date(Date.now() + 600_000);
    await store.configure(room(performanceId, { opensAt, seed, admitPerSecond: 1 }), 300);
    expect(await redis.hget(waitingRoomKeys(performanceId).config, 'seedSha256')).toBe(seedCommitment(seed));

    const early: string[] = [];
    for (let index = 0; index < 300; index++) {
      const ticket = waiting(await store.join(performanceId, `early-${index}`, newIdOf(performanceId)));
      expect(ticket.position).toBe(0);
      expect(ticket.etaMs).toBeGreaterThan(0);
      early.push(ticket.ticketId);
    }
    expect((await store.admit(performanceId, 10)).outcome).toBe('NOT_OPEN');
    await store.configure(room(performanceId, { opensAt: new Date(), seed, admitPerSecond: 1 }), 300);

    await waitUntil(async () => (await store.admit(performanceId, 10)).outcome === 'OPENED', 'the opening', 5000, 20);
    const late = waiting(await store.join(performanceId, 'late', newIdOf(performanceId)));
    expect(late.position).toBe(301);

    const order = shuffledArrivals(seed, 300);
    const polled = await Promise.all(
      early.map((ticketId, index) => store.poll(performanceId, `early-${index}`, ticketId)),
    );
    polled.forEach((raw, index) => {
      const ticket = waiting(raw);
      const [arrival, openingPosition] = ticket.opening.split(':').map(Number);
      expect(arrival).toBe(index + 1);
      expect(ticket.position).toBe(openingPosition);
      expect(order[openingPosition - 1]).toBe(arrival);
    });
    expect(new Set(polled.map((t) => waiting(t).position)).size).toBe(300);
    // The shuffle happens once: a second opening changes nothing.
    expect((await store.admit(performanceId, 0)).outcome).toBe('ADMITTED');
    expect(await store.figures(performanceId)).toMatchObject({ opened: true, preQueueSize: 300, waiting: 301 });
  });

  it("a full room: a waiting ticket's ETA runs to the end of the slot it waits for, not the admission rate", async () => {
    const performanceId = 30;
    await store.configure(
      room(performanceId, { admitPerSecond: 1000, maxActive: 2, admissionTtlSeconds: 60, sessionTtlSeconds: 600 }),
      300,
    );
    const joined: ReturnType<typeof waiting>[] = [];
    for (let index = 0; index < 5; index++) {
      joined.push(waiting(await store.join(performanceId, `full-${index}`, newIdOf(performanceId))));
    }
    // Both slots taken by the first two, unused: they end 60 s after their admission at the latest.
    await admitUntil(performanceId, 2);
    const poll = async (index: number) =>
      waiting(await store.poll(performanceId, `full-${index}`, joined[index].ticketId));
    const [third, fourth, fifth] = [await poll(2), await poll(3), await poll(4)];
    expect([third.position, fourth.position, fifth.position]).toEqual([1, 2, 3]);
    for (const ticket of [third, fourth, fifth]) {
      expect(ticket.etaMs).toBeGreaterThan(50_000);
      expect(ticket.etaMs).toBeLessThanOrEqual(60_000);
    }

    // With a slot free, the next in line waits only for the admission rate.
    await store.configure(
      room(performanceId, { admitPerSecond: 1000, maxActive: 3, admissionTtlSeconds: 60, sessionTtlSeconds: 600 }),
      300,
    );
    expect((await poll(2)).etaMs).toBeLessThan(1_000);
    expect((await poll(3)).etaMs).toBeGreaterThan(50_000);
  });

  it('never holds more than maxActive slots; a purchase frees one, an unused admission expires, a session lasts', async () => {
    const performanceId = 3;
    await store.configure(
      room(performanceId, { admitPerSecond: 1000, maxActive: 5, admissionTtlSeconds: 1, sessionTtlSeconds: 3 }),
      300,
    );
    const tickets: string[] = [];
    for (let index = 0; index < 20; index++) {
      tickets.push(waiting(await store.join(performanceId, `buyer-${index}`, newIdOf(performanceId))).ticketId);
    }
    const admitted = await admitUntil(performanceId, 5);
    expect(admitted).toEqual(tickets.slice(0, 5));
    for (let step = 0; step < 5; step++) expect((await store.admit(performanceId, 100)).admitted).toEqual([]);

    const admittedTicket = await store.poll(performanceId, 'buyer-0', tickets[0]);
    expect(admittedTicket.outcome).toBe('ADMITTED');
    // buyer-0 holds seats (the session starts), buyer-1 buys: its slot goes to the next in line.
    expect(await store.useAdmission(performanceId, tickets[0], Number.MAX_SAFE_INTEGER)).toBe('OK');
    expect(await store.useAdmission(performanceId, tickets[1], Number.MAX_SAFE_INTEGER)).toBe('OK');
    expect(await store.end(performanceId, 'buyer-1', tickets[1], 'DONE')).toEqual({ outcome: 'ENDED' });
    expect(await store.end(performanceId, 'buyer-1', tickets[1], 'DONE')).toEqual({
      outcome: 'ALREADY_ENDED',
      reason: 'DONE',
    });
    expect(await store.useAdmission(performanceId, tickets[1], Number.MAX_SAFE_INTEGER)).toBe('NOT_ADMITTED');
    // A retried purchase of an ended session still passes (its Idempotency-Key answers it); a hold does not.
    expect(await store.useAdmission(performanceId, tickets[1], Number.MAX_SAFE_INTEGER, 'purchase')).toBe('OK');
    expect(await admitUntil(performanceId, 1)).toEqual([tickets[5]]);

    // buyers 2–4 and 5 never use their admission: after 1 s their slots end and the next come in.
    await waitUntil(
      async () => (await store.poll(performanceId, 'buyer-2', tickets[2])).outcome === 'ENDED',
      'expiry',
      5000,
    );
    // Leaving a slot past its end, before admission frees it, is what a poll says: EXPIRED, unchanged.
    expect(await store.end(performanceId, 'buyer-2', tickets[2], 'LEFT')).toEqual({
      outcome: 'ALREADY_ENDED',
      reason: 'EXPIRED',
    });
    await admitUntil(performanceId, 4);
    expect(await store.poll(performanceId, 'buyer-2', tickets[2])).toEqual({
      outcome: 'ENDED',
      ticketId: tickets[2],
      reason: 'EXPIRED',
    });
    // buyer-0's session (3 s from its first use) outlives the admission TTL.
    expect(await store.useAdmission(performanceId, tickets[0], Number.MAX_SAFE_INTEGER)).toBe('OK');
    expect((await store.figures(performanceId))?.peakActive).toBe(5);
    expect(await redis.zcard(waitingRoomKeys(performanceId).active)).toBeLessThanOrEqual(5);
  });

  it('drops waiting tickets not polled for 2 × pollAfter; leaving ends a ticket and a new join gets a new one', async () => {
    const performanceId = 4;
    await store.configure(room(performanceId, { opensAt: new Date(Date.now() + 60_000) }), 1);
    const silent = waiting(await store.join(performanceId, 'silent', newIdOf(performanceId)));
    const polling = waiting(await store.join(performanceId, 'polling', newIdOf(performanceId)));
    await waitUntil(
      async () => {
        expect((await store.poll(performanceId, 'polling', polling.ticketId)).outcome).toBe('WAITING');
        return (await store.admit(performanceId, 10)).dropped > 0;
      },
      'the drop-out',
      10_000,
      200,
    );
    expect(await store.poll(performanceId, 'silent', silent.ticketId)).toMatchObject({
      outcome: 'ENDED',
      reason: 'DROPPED',
    });
    expect((await store.poll(performanceId, 'polling', polling.ticketId)).outcome).toBe('WAITING');

    expect(await store.poll(performanceId, 'someone-else', polling.ticketId)).toEqual({ outcome: 'NOT_FOUND' });
    expect(await store.end(performanceId, 'someone-else', polling.ticketId, 'LEFT')).toEqual({ outcome: 'NOT_FOUND' });
    expect(await store.end(performanceId, 'polling', polling.ticketId, 'LEFT')).toEqual({ outcome: 'ENDED' });
    // Ended tickets answer why, changing nothing; anyone else's is still none.
    expect(await store.end(performanceId, 'polling', polling.ticketId, 'LEFT')).toEqual({
      outcome: 'ALREADY_ENDED',
      reason: 'LEFT',
    });
    expect(await store.end(performanceId, 'silent', silent.ticketId, 'LEFT')).toEqual({
      outcome: 'ALREADY_ENDED',
      reason: 'DROPPED',
    });
    expect(await store.end(performanceId, 'someone-else', polling.ticketId, 'LEFT')).toEqual({ outcome: 'NOT_FOUND' });
    expect(await store.poll(performanceId, 'polling', polling.ticketId)).toMatchObject({
      outcome: 'ENDED',
      reason: 'LEFT',
    });
    const rejoined = waiting(await store.join(performanceId, 'polling', newIdOf(performanceId)));
    expect(rejoined.ticketId).not.toBe(polling.ticketId);

    await store.remove(performanceId);
    expect(await store.join(performanceId, 'polling', newIdOf(performanceId))).toEqual({ outcome: 'NO_QUEUE' });
    // Only the tickets' owners stay, for a day: each ticket reads ENDED (CLOSED) to its owner alone.
    const closed = waitingRoomKeys(performanceId).closed;
    expect(await keysMatching(redis, `${testEnv.REDIS_KEY_PREFIX}{perf:${performanceId}}*`)).toEqual([
      `${testEnv.REDIS_KEY_PREFIX}${closed}`,
    ]);
    expect(await redis.ttl(closed)).toBeGreaterThan(CLOSED_TICKETS_TTL_SECONDS - 60);
    expect(await store.poll(performanceId, 'polling', rejoined.ticketId)).toEqual({
      outcome: 'ENDED',
      ticketId: rejoined.ticketId,
      reason: 'CLOSED',
    });
    expect(await store.end(performanceId, 'polling', rejoined.ticketId, 'LEFT')).toEqual({
      outcome: 'ALREADY_ENDED',
      reason: 'CLOSED',
    });
    expect(await store.poll(performanceId, 'someone-else', rejoined.ticketId)).toEqual({ outcome: 'NO_QUEUE' });
    expect(await store.end(performanceId, 'someone-else', rejoined.ticketId, 'LEFT')).toEqual({ outcome: 'NOT_FOUND' });
  });

  it('a stretch with no admission step (Redis or batch down) drops no one who polled until it; one who never polls again drops after 2 × pollAfter', async () => {
    const performanceId = 31;
    await store.configure(room(performanceId, { opensAt: new Date(Date.now() + 60_000) }), 1);
    const ticket = waiting(await store.join(performanceId, 'buyer', newIdOf(performanceId)));
    const joinedAt = await redisMs();
    await waitUntil(
      async () => {
        expect((await store.poll(performanceId, 'buyer', ticket.ticketId)).outcome).toBe('WAITING');
        expect((await store.admit(performanceId, 10)).dropped).toBe(0);
        return (await redisMs()) > joinedAt + 500;
      },
      'a few polls and steps',
      10_000,
      100,
    );
    // An outage: for longer than 2 × pollAfter (1 s) neither a poll nor a step reaches Redis.
    const outageFrom = await redisMs();
    await waitUntil(async () => (await redisMs()) > outageFrom + 2_500, 'an outage of 2.5 s', 10_000, 100);
    // The first step after it spares the ticket, which polled until the outage began.
    expect((await store.admit(performanceId, 10)).dropped).toBe(0);
    expect((await store.figures(performanceId))?.waiting).toBe(1);
    // Not for good: a buyer who never polls again drops out once 2 × pollAfter more have passed.
    await waitUntil(async () => (await store.admit(performanceId, 10)).dropped === 1, 'the drop-out', 10_000, 100);
    expect(await store.poll(performanceId, 'buyer', ticket.ticketId)).toMatchObject({
      outcome: 'ENDED',
      reason: 'DROPPED',
    });
  });

  it('an outage longer than admissionTtl (nothing reads the room) costs an admitted buyer none of their slot; the clock runs again after it', async () => {
    const performanceId = 32;
    await store.configure(room(performanceId, { admissionTtlSeconds: 2, sessionTtlSeconds: 600 }), 1);
    const ticket = waiting(await store.join(performanceId, 'buyer', newIdOf(performanceId))).ticketId;
    expect(await admitUntil(performanceId, 1)).toEqual([ticket]);
    const admitted = await store.poll(performanceId, 'buyer', ticket);
    if (admitted.outcome !== 'ADMITTED') throw new Error(`expected ADMITTED, got ${JSON.stringify(admitted)}`);
    const left = admitted.slotEndsAt - (await redisMs());

    // An outage (Redis down): for 3 s, longer than the 2 s slot and than pollAfter (1 s), no step,
    // poll or use reaches the room.
    const outageFrom = await redisMs();
    await waitUntil(async () => (await redisMs()) > outageFrom + 3_000, 'an outage of 3 s', 10_000, 100);
    // The first step after it expires no one; the admitted buyer still holds with the token they have.
    expect((await store.admit(performanceId, 10)).expired).toBe(0);
    expect(await store.useAdmission(performanceId, ticket, admitted.tokenUntil)).toBe('OK');
    const after = await store.poll(performanceId, 'buyer', ticket);
    expect(after).toMatchObject({ outcome: 'ADMITTED', tokenUntil: admitted.tokenUntil });
    if (after.outcome !== 'ADMITTED') return;
    // Its slot ends the time it had left after the outage (less the step above), not before.
    expect(after.slotEndsAt - (await redisMs())).toBeGreaterThan(left - 1_000);
  });

  it('a buyer who leaves first thing after an outage longer than their slot is recorded LEFT, not EXPIRED; the clock stood still for everyone', async () => {
    const performanceId = 34;
    await store.configure(room(performanceId, { admissionTtlSeconds: 2, sessionTtlSeconds: 600 }), 1);
    const [leaver, stayer] = [
      waiting(await store.join(performanceId, 'leaver', newIdOf(performanceId))).ticketId,
      waiting(await store.join(performanceId, 'stayer', newIdOf(performanceId))).ticketId,
    ];
    expect((await admitUntil(performanceId, 2)).sort()).toEqual([leaver, stayer].sort());
    const before = await store.poll(performanceId, 'stayer', stayer);
    if (before.outcome !== 'ADMITTED') throw new Error(`expected ADMITTED, got ${JSON.stringify(before)}`);
    const left = before.slotEndsAt - (await redisMs());

    // An outage (Redis down): for 3 s, longer than the 2 s slots and than pollAfter (1 s), no step,
    // poll or use reaches the room. The first thing to reach it after: a buyer leaving.
    const outageFrom = await redisMs();
    await waitUntil(async () => (await redisMs()) > outageFrom + 3_000, 'an outage of 3 s', 10_000, 100);
    expect(await store.end(performanceId, 'leaver', leaver, 'LEFT')).toEqual({ outcome: 'ENDED' });
    expect(await store.poll(performanceId, 'leaver', leaver)).toMatchObject({ outcome: 'ENDED', reason: 'LEFT' });

    // The outage cost the other admitted buyer nothing either: the next step expires no one.
    expect((await store.admit(performanceId, 10)).expired).toBe(0);
    const after = await store.poll(performanceId, 'stayer', stayer);
    expect(after).toMatchObject({ outcome: 'ADMITTED', tokenUntil: before.tokenUntil });
    if (after.outcome !== 'ADMITTED') return;
    expect(after.slotEndsAt - (await redisMs())).toBeGreaterThan(left - 1_000);
  });

  it('a slot whose time is watched runs out as ever: steps and polls within pollAfter stop no clock', async () => {
    const performanceId = 33;
    await store.configure(room(performanceId, { admissionTtlSeconds: 1 }), 1);
    const ticket = waiting(await store.join(performanceId, 'buyer', newIdOf(performanceId))).ticketId;
    expect(await admitUntil(performanceId, 1)).toEqual([ticket]);
    await waitUntil(
      async () => {
        await store.admit(performanceId, 10);
        return (await store.poll(performanceId, 'buyer', ticket)).outcome === 'ENDED';
      },
      'the slot to run out',
      5_000,
      200,
    );
    expect(await store.poll(performanceId, 'buyer', ticket)).toMatchObject({ outcome: 'ENDED', reason: 'EXPIRED' });
  });

  it("a canceled performance's room admits no one: its waiting tickets stay unadmitted and read ENDED CANCELED", async () => {
    const performanceId = 5;
    await store.configure(room(performanceId), 300);
    const tickets = await Promise.all(
      ['a', 'b', 'c'].map(async (user) => waiting(await store.join(performanceId, user, newIdOf(performanceId)))),
    );
    await redis.hset(performanceKeys(performanceId).meta, 'status', 'CANCELED');
    const step = await store.admit(performanceId, 10);
    expect(step).toMatchObject({ outcome: 'CANCELED', admitted: [] });
    expect(await redis.zcard(waitingRoomKeys(performanceId).active)).toBe(0);
    expect(await redis.zcard(waitingRoomKeys(performanceId).waiting)).toBe(tickets.length);
    for (const [index, user] of ['a', 'b', 'c'].entries()) {
      expect(await store.poll(performanceId, user, tickets[index].ticketId)).toMatchObject({
        outcome: 'ENDED',
        reason: 'CANCELED',
      });
    }
  });
});
