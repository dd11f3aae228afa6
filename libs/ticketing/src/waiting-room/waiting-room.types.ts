/** The settings an admin gives a performance's waiting room. */
export interface WaitingRoomSettings {
  /** Before it, arrivals join the pre-queue, shuffled at this moment. */
  opensAt: Date;
  /** Most admissions per second (1 … 10,000). */
  admitPerSecond: number;
  /** Most admitted users holding a slot at once (1 … 1,000,000). */
  maxActive: number;
  /** An admitted user who neither holds nor buys within this many seconds loses the slot. */
  admissionTtlSeconds: number;
  /** A session (from the first hold) ends this many seconds after it starts. */
  sessionTtlSeconds: number;
}

/** Settings as stored: with the seed of the pre-queue shuffle and when it was made. */
export interface StoredWaitingRoom extends WaitingRoomSettings {
  performanceId: number;
  /** 64 hex digits; secret until the opening. */
  seed: string;
  updatedAt: Date;
}

/** Live figures of a room, from Redis. */
export interface WaitingRoomFigures {
  /** Whether the pre-queue has been shuffled into the line (the seed is then revealed). */
  opened: boolean;
  /** Size of the pre-queue at the opening (null before). */
  preQueueSize: number | null;
  /** Tickets waiting (pre-queue and line). */
  waiting: number;
  /** Admitted tickets holding a slot. */
  active: number;
  /** Admissions since the room was set up. */
  admitted: number;
  /** Most slots ever held at once. */
  peakActive: number;
  /** Admissions per second, measured over the last window of ≥ 2 s. */
  measuredAdmitPerSecond: number;
}

/**
 * Why a waiting room admits no one now, though buyers wait (admission-halt.lua): the sale is
 * PAUSED or CLOSED (the performance's status, or a sales closure while it is deleted or its time
 * zone changes), has ENDED (salesCloseAt passed), has not opened (SALES_NOT_OPEN: before
 * salesOpenAt, no presale open), or is SOLD_OUT (no seat available now; seats may come back from
 * holds that expire or are released and purchases canceled). Admission goes on, in line order,
 * once it no longer applies.
 */
export type AdmissionHalt = 'PAUSED' | 'CLOSED' | 'ENDED' | 'SALES_NOT_OPEN' | 'SOLD_OUT';

/**
 * A room as an admin sees it. `seed` is null until the opening; `seedSha256` always shown.
 * `canceled`: the performance was canceled, so the room takes no one and changes no more; its
 * tickets read ENDED (CANCELED), so `figures` count none waiting or active.
 */
export interface WaitingRoomView extends WaitingRoomSettings {
  performanceId: number;
  canceled: boolean;
  pollAfterSeconds: number;
  seedSha256: string;
  seed: string | null;
  /** Why admission is halted now (null while it runs, and for a canceled performance). */
  admissionHalted: AdmissionHalt | null;
  figures: WaitingRoomFigures;
}

export type TicketStatus = 'WAITING' | 'ADMITTED' | 'ENDED';
/**
 * Why a ticket ended: the buyer LEFT, DROPPED (stopped polling), EXPIRED (slot unused or session
 * over), DONE (bought), CLOSED (an admin removed the queue, or the performance was deleted),
 * CANCELED (the performance was canceled).
 */
export type TicketEndReason = 'LEFT' | 'DROPPED' | 'EXPIRED' | 'DONE' | 'CLOSED' | 'CANCELED';

/** Where a queue ticket stands, as its owner sees it. */
export interface QueueTicket {
  ticketId: string;
  performanceId: number;
  status: TicketStatus;
  /** 1-based place in the line; null in the pre-queue before the shuffle and once admitted or ended. */
  position: number | null;
  /** Estimated seconds until admission (0 once admitted or ended). */
  etaSeconds: number;
  /** Poll again after this many seconds; a ticket silent for twice as long drops out. */
  pollAfterSeconds: number;
  /** Set once admitted: the `Admission-Token` for POST /reservations and POST /purchases. */
  admissionToken: string | null;
  /**
   * When the admission token stops being accepted: admission + admissionTtlSeconds +
   * sessionTtlSeconds, the longest a slot can last (the slot itself may end sooner: `slotEndsAt`).
   */
  admissionExpiresAt: Date | null;
  /**
   * Once admitted: when the slot ends unless the buyer moves on (EXPIRED then): admission +
   * admissionTtlSeconds until the first hold, then that hold + sessionTtlSeconds; what a countdown
   * shows. Null while waiting or once ended.
   */
  slotEndsAt: Date | null;
  /** For a pre-queue ticket after the shuffle: its arrival number (1 … preQueueSize) and opening position. */
  preQueue: { arrival: number; openingPosition: number } | null;
  /** Why the ticket ended, when it has. */
  endReason: TicketEndReason | null;
  /**
   * While WAITING: why nobody is admitted now (the sale paused, closed, ended or sold out), null
   * while admission runs and once admitted or ended. `etaSeconds` does not count the halt.
   */
  admissionHalted: AdmissionHalt | null;
}

/** What one admission step did. */
export interface AdmissionStep {
  outcome: 'NO_QUEUE' | 'CANCELED' | 'NOT_OPEN' | 'OPENED' | 'ADMITTED' | 'HALTED';
  /** Why nobody was admitted, when the outcome is HALTED. */
  halted?: AdmissionHalt;
  expired: number;
  dropped: number;
  /** Admitted tickets with the admission time they were last promised (epoch ms), when one was. */
  admitted: { ticketId: string; predictedAt: number | null }[];
  /** Redis time of the step (epoch ms), when it admitted. */
  at: number | null;
}
