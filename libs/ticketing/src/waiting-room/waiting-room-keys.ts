/**
 * The Redis keys of the waiting rooms. Every key of one performance's room starts with the
 * performance's hash tag `{perf:<id>}` (as in ../redis-keys.ts), so each script touches one
 * Redis Cluster slot; the registry is used by single-key commands alone.
 */

/** Set of the ids of the performances that have a waiting room: what the admission loops walk. */
export const WAITING_ROOM_REGISTRY_KEY = 'waiting-rooms';

export interface WaitingRoomKeys {
  /**
   * Hash: opensAt, admitPerSecond, maxActive, admissionTtlMs, sessionTtlMs, pollAfterMs, seed,
   * seedSha256; `opened` (1 once the pre-queue is shuffled) and preQueueSize. Its existence
   * means "the queue is on".
   */
  config: string;
  /**
   * Hash: seq (last arrival number), tokens and tokensAt (the admission bucket), admitted
   * (total), peakActive, rate (measured admissions per second), rateAt, rateCount; the room's
   * clock (../lua-includes/room-clock.lua): frozenMs, pausedAt, clockAt.
   */
  state: string;
  /** Sorted set: tickets that joined before opensAt, scored by arrival number. */
  pre: string;
  /** Sorted set: waiting tickets, scored by their place (shuffled 1…n, then 1e13 + arrival). */
  waiting: string;
  /** Sorted set: waiting and pre-queue tickets, scored by their last poll (epoch ms). */
  seen: string;
  /**
   * Sorted set: admitted tickets holding a slot, scored by the end of their slot on the room's
   * clock (ms: epoch ms less the time the sale stood PAUSED, room-clock.lua).
   */
  active: string;
  /** Hash: user id → the user's last ticket id. */
  users: string;
  /** Hash: ticket id → user id. */
  owners: string;
  /** Hash: ticket id → why it ended (LEFT, DROPPED, EXPIRED, DONE). */
  ended: string;
  /** Hash: ticket id → `<admission time (epoch ms)>:<the same on the room's clock>` (a bare epoch ms before the clock). */
  admitted: string;
  /** Hash: ticket id → start of its session (first use of its admission, epoch ms). */
  sessions: string;
  /** Hash: ticket id → the admission time its last answer predicted (epoch ms). */
  eta: string;
  /** Hash: ticket id → `<arrival number>:<opening position>` for the pre-queue, written at the opening. */
  opening: string;
  /**
   * Hash: ticket id → user id of the tickets of a room that was removed (or whose performance was
   * deleted): its `owners` renamed, kept CLOSED_TICKETS_TTL_SECONDS so each ticket reads ENDED
   * (CLOSED) to its owner rather than vanishing. Outlives the room: never deleted with it.
   */
  closed: string;
}

/** How long (seconds) the tickets of a removed room keep reading ENDED (CLOSED) to their owners. */
export const CLOSED_TICKETS_TTL_SECONDS = 86_400;

/** The keys of one performance's waiting room. */
export function waitingRoomKeys(performanceId: number): WaitingRoomKeys {
  const tag = `{perf:${performanceId}}:wr`;
  return {
    config: `${tag}:config`,
    state: `${tag}:state`,
    pre: `${tag}:pre`,
    waiting: `${tag}:waiting`,
    seen: `${tag}:seen`,
    active: `${tag}:active`,
    users: `${tag}:users`,
    owners: `${tag}:owners`,
    ended: `${tag}:ended`,
    admitted: `${tag}:admitted`,
    sessions: `${tag}:sessions`,
    eta: `${tag}:eta`,
    opening: `${tag}:opening`,
    closed: `${tag}:closed`,
  };
}
