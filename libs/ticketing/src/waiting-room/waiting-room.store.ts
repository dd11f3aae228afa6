import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { callScript } from '@app/redis';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceKeys } from '../redis-keys';
import { seedCommitment, shuffledArrivals } from './shuffle';
import {
  CLOSED_TICKETS_TTL_SECONDS,
  WAITING_ROOM_REGISTRY_KEY,
  waitingRoomKeys,
  WaitingRoomKeys,
} from './waiting-room-keys';
import {
  ADMISSION_HALTED,
  ADMIT,
  END_TICKET,
  OPEN_PRE_QUEUE,
  QUEUE_TICKET,
  USE_ADMISSION,
} from './waiting-room-scripts';
import {
  AdmissionHalt,
  AdmissionStep,
  StoredWaitingRoom,
  TicketEndReason,
  WaitingRoomFigures,
} from './waiting-room.types';

/** A ticket as Redis answers it, before the service adds the token and the units of the API. */
export type RawTicket =
  | { outcome: 'NO_QUEUE' }
  | { outcome: 'CANCELED' }
  | { outcome: 'NOT_FOUND' }
  | { outcome: 'ENDED'; ticketId: string; reason: TicketEndReason }
  | {
      outcome: 'ADMITTED';
      ticketId: string;
      admittedAt: number;
      /** Epoch ms: when the slot ends if the room's clock runs from now on (a pause moves it on). */
      slotEndsAt: number;
      admissionTtlMs: number;
      sessionTtlMs: number;
      opening: string;
      /** The admission's last moment on the room's clock (ms): the token's `exp`. */
      tokenUntil: number;
      /** The same in epoch ms, as slotEndsAt is. */
      tokenUntilAt: number;
    }
  | {
      outcome: 'WAITING';
      ticketId: string;
      position: number;
      etaMs: number;
      pollAfterMs: number;
      opening: string;
      halted: AdmissionHalt | null;
    };

/** What ending a ticket did (WaitingRoomStore.end): ended now, or why not. */
export type TicketEnding =
  { outcome: 'ENDED' | 'NOT_FOUND' | 'NOT_ADMITTED' } | { outcome: 'ALREADY_ENDED'; reason: TicketEndReason };

/** Scripts end at most this many expired slots and silent tickets each per step. */
const SWEEP_LIMIT = 1000;

/**
 * The waiting rooms in Redis: every change is one Lua script over the keys of one performance
 * (waiting-room-keys.ts), so any number of api and batch processes share them safely. Positions
 * come from sorted sets (ZRANK, O(log n)).
 */
@Injectable()
export class WaitingRoomStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    defineTicketingScripts(redis);
  }

  /**
   * Writes (or rewrites) a room's settings and registers it with the admission loops. The seed,
   * the opening and the live state are kept across rewrites.
   */
  async configure(room: StoredWaitingRoom, pollAfterSeconds: number): Promise<void> {
    const keys = waitingRoomKeys(room.performanceId);
    await this.redis.hset(keys.config, {
      opensAt: room.opensAt.getTime(),
      admitPerSecond: room.admitPerSecond,
      maxActive: room.maxActive,
      admissionTtlMs: room.admissionTtlSeconds * 1000,
      sessionTtlMs: room.sessionTtlSeconds * 1000,
      pollAfterMs: pollAfterSeconds * 1000,
      seed: room.seed,
      seedSha256: seedCommitment(room.seed),
    });
    await this.redis.sadd(WAITING_ROOM_REGISTRY_KEY, room.performanceId);
  }

  /**
   * Turns a room off: deletes all of its state and unregisters it. Its tickets' owners are kept
   * (`closed`, CLOSED_TICKETS_TTL_SECONDS) so each ticket reads ENDED (CLOSED) to its owner, as
   * a poll or leave tells it, instead of vanishing under a buyer who is waiting in it.
   */
  async remove(performanceId: number): Promise<void> {
    const keys = waitingRoomKeys(performanceId);
    // Config first: from then on nothing asks for admission any more.
    await this.redis.del(keys.config);
    await keepClosedTickets(this.redis, keys);
    await this.redis.del(...Object.values(keys).filter((key) => key !== keys.config && key !== keys.closed));
    await this.redis.srem(WAITING_ROOM_REGISTRY_KEY, performanceId);
  }

  /** Ids of the performances with a room. */
  async performances(): Promise<number[]> {
    return (await this.redis.smembers(WAITING_ROOM_REGISTRY_KEY)).map(Number);
  }

  /**
   * Whether the performance's queue is on as Redis tells it: 'on' (its settings are there),
   * 'off', or 'lost' when Redis holds neither the room's settings nor the performance's seat
   * state (emptied, a new node): then only PostgreSQL can tell (WaitingRoomService.restore).
   * The seat state is written after the room when Redis is filled again (SeatStateRebuilder), so
   * a performance found without settings but with its seat state has no room. 'canceled' when
   * the seat state says the performance was canceled, room or not: no admission applies, its
   * holds and purchases are refused as canceled.
   */
  async queueState(performanceId: number): Promise<'on' | 'off' | 'lost' | 'canceled'> {
    const meta = performanceKeys(performanceId).meta;
    const [[, config], [, seatState], [, status]] = (await this.redis
      .multi()
      .exists(waitingRoomKeys(performanceId).config)
      .exists(meta)
      .hget(meta, 'status')
      .exec()) as [unknown, number | string | null][];
    if (status === 'CANCELED') return 'canceled';
    if (config === 1) return 'on';
    return seatState === 1 ? 'off' : 'lost';
  }

  /**
   * Why the room admits no one now, or null while admission runs: the rule admit.lua applies
   * (admission-halt.lua, run here by admission-halted.lua, so the two cannot differ).
   */
  async admissionHalted(performanceId: number): Promise<AdmissionHalt | null> {
    const perf = performanceKeys(performanceId);
    const halt = await callScript<string>(this.redis, ADMISSION_HALTED.name, [perf.meta, perf.counts], []);
    return halt === '' ? null : (halt as AdmissionHalt);
  }

  /** Live figures of a room, or null when it has none in Redis. */
  async figures(performanceId: number): Promise<WaitingRoomFigures | null> {
    const keys = waitingRoomKeys(performanceId);
    const [[, config], [, state], [, pre], [, waiting], [, active]] = (await this.redis
      .multi()
      .hmget(keys.config, 'opened', 'preQueueSize', 'opensAt')
      .hmget(keys.state, 'admitted', 'peakActive', 'rate')
      .zcard(keys.pre)
      .zcard(keys.waiting)
      .zcard(keys.active)
      .exec()) as [unknown, unknown][];
    const [opened, preQueueSize, opensAt] = config as (string | null)[];
    if (opensAt === null) return null;
    const [admitted, peakActive, rate] = state as (string | null)[];
    return {
      opened: opened === '1',
      preQueueSize: preQueueSize === null ? null : Number(preQueueSize),
      waiting: (pre as number) + (waiting as number),
      active: active as number,
      admitted: Number(admitted ?? 0),
      peakActive: Number(peakActive ?? 0),
      measuredAdmitPerSecond: Number(rate ?? 0),
    };
  }

  /** Joins (or finds the user's live ticket, with `ticketId` unused) and answers where it stands. */
  join(performanceId: number, userId: string, ticketId: string): Promise<RawTicket> {
    return this.ticket(performanceId, 'join', userId, ticketId);
  }

  /** Where the user's ticket stands; NOT_FOUND for anyone else's. Counts as a poll. */
  poll(performanceId: number, userId: string, ticketId: string): Promise<RawTicket> {
    return this.ticket(performanceId, 'poll', userId, ticketId);
  }

  /**
   * Ends the user's ticket: 'LEFT' from any live state, 'DONE' (a purchase) only from a slot.
   * A ticket that has ended already answers ALREADY_ENDED with why (a slot past its end is
   * EXPIRED to a LEFT, as a poll reads it), changing nothing. See end-ticket.lua.
   */
  async end(performanceId: number, userId: string, ticketId: string, reason: 'LEFT' | 'DONE'): Promise<TicketEnding> {
    const k = waitingRoomKeys(performanceId);
    const [outcome, endedAs] = await callScript<string[]>(
      this.redis,
      END_TICKET.name,
      [
        k.owners,
        k.pre,
        k.waiting,
        k.seen,
        k.active,
        k.ended,
        k.sessions,
        k.eta,
        k.closed,
        performanceKeys(performanceId).meta,
        k.state,
        k.config,
      ],
      [ticketId, userId, reason],
    );
    switch (outcome) {
      case 'ENDED':
      case 'NOT_FOUND':
      case 'NOT_ADMITTED':
        return { outcome };
      case 'ALREADY_ENDED':
        return { outcome, reason: endedAs as TicketEndReason };
      default:
        throw new Error(`end-ticket.lua answered ${JSON.stringify(outcome)}`);
    }
  }

  /**
   * Checks a slot at a hold or purchase, starting the session at its first use; a purchase also
   * passes with a ticket a purchase ended (a retry). `tokenUntil` is the admission token's `exp`,
   * on the room's clock (room-clock.lua): NOT_ADMITTED from then on. CANCELED for a canceled
   * performance, whatever the ticket. See use-admission.lua.
   */
  useAdmission(
    performanceId: number,
    ticketId: string,
    tokenUntil: number,
    use: 'hold' | 'purchase' = 'hold',
  ): Promise<'OK' | 'NOT_ADMITTED' | 'NO_QUEUE' | 'CANCELED'> {
    const k = waitingRoomKeys(performanceId);
    return callScript(
      this.redis,
      USE_ADMISSION.name,
      [k.config, k.active, k.sessions, k.ended, performanceKeys(performanceId).meta, k.state],
      [ticketId, use, tokenUntil],
    );
  }

  /**
   * One admission step (admit.lua); when the room is due to open, shuffles the pre-queue first
   * and answers OPENED (the next step admits). A canceled performance's room admits no one
   * (CANCELED: its tickets already read ENDED CANCELED); nor does one whose sale is paused, closed,
   * ended or sold out (HALTED with the reason; its tickets wait, told why).
   */
  async admit(performanceId: number, maxBatch: number): Promise<AdmissionStep> {
    const k = waitingRoomKeys(performanceId);
    const [outcome, expired, dropped, at, ...pairs] = await callScript<[string, number, number, number, ...string[]]>(
      this.redis,
      ADMIT.name,
      [
        ...[k.config, k.state, k.pre, k.waiting, k.seen, k.active, k.ended, k.admitted, k.eta, k.sessions],
        performanceKeys(performanceId).meta,
        performanceKeys(performanceId).counts,
      ],
      [maxBatch, SWEEP_LIMIT],
    );
    const step: AdmissionStep = {
      outcome: 'ADMITTED',
      expired: expired ?? 0,
      dropped: dropped ?? 0,
      admitted: [],
      at: null,
    };
    switch (outcome) {
      case 'NO_QUEUE':
      case 'NOT_OPEN':
      case 'CANCELED':
        return { ...step, outcome };
      case 'HALTED':
        return { ...step, outcome, halted: String(at) as AdmissionHalt };
      case 'SHUFFLE':
        await this.openPreQueue(k);
        return { ...step, outcome: 'OPENED' };
      case 'OK':
        for (let i = 0; i < pairs.length; i += 2) {
          step.admitted.push({ ticketId: pairs[i], predictedAt: pairs[i + 1] === '' ? null : Number(pairs[i + 1]) });
        }
        return { ...step, at: Number(at) };
      default:
        throw new Error(`admit.lua answered ${JSON.stringify(outcome)}`);
    }
  }

  /**
   * Shuffles the pre-queue into the line (shuffle.ts), retrying while tickets drop out between
   * the read and the script.
   */
  private async openPreQueue(k: WaitingRoomKeys): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const [seed, tickets] = await Promise.all([this.redis.hget(k.config, 'seed'), this.redis.zrange(k.pre, 0, -1)]);
      if (seed === null) return;
      const order = shuffledArrivals(seed, tickets.length);
      const positions = new Array<number>(tickets.length);
      order.forEach((arrival, index) => (positions[arrival - 1] = index + 1));
      const answer = await callScript<string>(
        this.redis,
        OPEN_PRE_QUEUE.name,
        [k.config, k.pre, k.waiting, k.opening],
        [tickets.length, ...tickets, ...positions],
      );
      if (answer !== 'CHANGED') return;
    }
    throw new Error('the pre-queue kept changing while it was being shuffled');
  }

  private async ticket(
    performanceId: number,
    mode: 'join' | 'poll',
    userId: string,
    ticketId: string,
  ): Promise<RawTicket> {
    const k = waitingRoomKeys(performanceId);
    const reply = await callScript<(string | number)[]>(
      this.redis,
      QUEUE_TICKET.name,
      [
        ...[k.config, k.state, k.pre, k.waiting, k.seen, k.active, k.users, k.owners, k.ended, k.admitted, k.eta],
        ...[k.opening, k.closed, performanceKeys(performanceId).meta, performanceKeys(performanceId).counts],
      ],
      [mode, userId, ticketId],
    );
    const [outcome, id] = reply;
    switch (outcome) {
      case 'NO_QUEUE':
      case 'CANCELED':
      case 'NOT_FOUND':
        return { outcome };
      case 'ENDED':
        return { outcome, ticketId: String(id), reason: String(reply[2]) as TicketEndReason };
      case 'ADMITTED':
        return {
          outcome,
          ticketId: String(id),
          admittedAt: Number(reply[2]),
          slotEndsAt: Number(reply[3]),
          admissionTtlMs: Number(reply[4]),
          sessionTtlMs: Number(reply[5]),
          opening: String(reply[6]),
          tokenUntil: Number(reply[7]),
          tokenUntilAt: Number(reply[8]),
        };
      case 'WAITING':
        return {
          outcome,
          ticketId: String(id),
          position: Number(reply[2]),
          etaMs: Number(reply[3]),
          pollAfterMs: Number(reply[4]),
          opening: String(reply[5]),
          halted: reply[6] ? (String(reply[6]) as AdmissionHalt) : null,
        };
      default:
        throw new Error(`queue-ticket.lua answered ${JSON.stringify(outcome)}`);
    }
  }
}

/**
 * Keeps a removed room's ticket owners as its `closed` hash for CLOSED_TICKETS_TTL_SECONDS (a
 * room removed before overwrites them: a day later no one polls those). Nothing when the room
 * had no tickets. RENAME is O(1); the keys share the performance's slot.
 */
export async function keepClosedTickets(redis: Redis, keys: WaitingRoomKeys): Promise<void> {
  const [[renameError]] = (await redis
    .multi()
    .rename(keys.owners, keys.closed)
    .expire(keys.closed, CLOSED_TICKETS_TTL_SECONDS)
    .exec()) as [Error | null, unknown][];
  // "no such key": the room had no tickets.
  if (renameError && !/no such key/i.test(renameError.message)) throw renameError;
}
