import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import { AdmissionRequiredError } from '../errors';
import { WaitingRoomService } from './waiting-room.service';
import { WaitingRoomStore } from './waiting-room.store';

/**
 * The admission check of holds and purchases. Whether a performance's queue is on is read from
 * Redis at most once per WAITING_ROOM_CACHE_MS per process, so a performance without a queue
 * costs no round trip on the hot path; with a queue on, a token costs one HMAC and one Redis
 * script (its slot is still held; the first use starts the session). When Redis lost the
 * performance (no room settings, no seat state), PostgreSQL decides and a room is mirrored back:
 * a lost room never lets holds through without admission.
 */
@Injectable()
export class AdmissionGate {
  private readonly known = new Map<number, { on: boolean; until: number }>();
  /**
   * The read of a performance's queue state in flight, shared by every request that finds the
   * cached answer expired meanwhile: one Redis read per expiry rather than one per request until
   * the first answer comes back (at 64 requests in flight behind best-available scripts, most
   * of a performance's requests in that time, each building an ioredis pipeline; docs/performance.md).
   */
  private readonly reading = new Map<number, Promise<boolean>>();
  /**
   * The refusals' re-reads of a performance's queue state: the one running, and the one every
   * refusal that arrives meanwhile waits for, started when the running one ends. So each refusal
   * sees a state read after it arrived (a cancel or a removed queue is seen at once), while a
   * flood of bad tokens costs one read at a time per performance and process, not one each.
   */
  private readonly rereads = new Map<number, { running: Promise<boolean>; next?: Promise<boolean> }>();

  constructor(
    private readonly store: WaitingRoomStore,
    private readonly rooms: WaitingRoomService,
    @Inject(Env) private readonly env: Env,
    private readonly clock: Clock,
  ) {}

  /** Whether `performanceId` has its queue on, as known within WAITING_ROOM_CACHE_MS. */
  async isOn(performanceId: number): Promise<boolean> {
    const cached = this.known.get(performanceId);
    if (cached && cached.until > this.clock.nowMs()) return cached.on;
    let pending = this.reading.get(performanceId);
    if (!pending) {
      const read: Promise<boolean> = this.read(performanceId).finally(() => {
        // Not a newer read's entry (one started after forget()).
        if (this.reading.get(performanceId) === read) this.reading.delete(performanceId);
      });
      this.reading.set(performanceId, (pending = read));
    }
    return pending;
  }

  /** Reads whether the queue is on from Redis (PostgreSQL when Redis lost it) and keeps the answer. */
  private async read(performanceId: number): Promise<boolean> {
    const now = this.clock.nowMs();
    const state = await this.store.queueState(performanceId);
    // Redis lost the performance: PostgreSQL says whether a room must be mirrored back (fail closed).
    const on = state === 'on' || (state === 'lost' && (await this.rooms.restore(performanceId)) === 'on');
    // Bounded: a flood of made-up performance ids must not grow the map without end.
    if (this.known.size >= 10_000) this.known.clear();
    this.known.set(performanceId, { on, until: now + this.env.WAITING_ROOM_CACHE_MS });
    return on;
  }

  /**
   * Whether this process knows, without asking Redis, that `performanceId` has no queue: the
   * synchronous fast path of the hot routes.
   */
  knownOff(performanceId: number): boolean {
    const cached = this.known.get(performanceId);
    return cached !== undefined && !cached.on && cached.until > this.clock.nowMs();
  }

  /** Forgets what this process knows of a performance (its settings just changed here); the next check reads again. */
  forget(performanceId: number): void {
    this.known.delete(performanceId);
    this.reading.delete(performanceId);
  }

  /**
   * Lets a hold or purchase of `performanceId` by `userId` through, or throws
   * AdmissionRequiredError. Returns the ticket id of the admission used, or null when the
   * performance has no queue. A purchase passes with the token of a session a purchase ended,
   * so a retry with its Idempotency-Key gets its first answer.
   */
  async admit(
    userId: string,
    performanceId: number,
    token: unknown,
    use: 'hold' | 'purchase' = 'hold',
  ): Promise<string | null> {
    if (!(await this.isOn(performanceId))) return null;
    if (typeof token !== 'string' || token === '') {
      return this.refuse(
        performanceId,
        'this performance has a waiting room: send the Admission-Token you got once admitted',
      );
    }
    const claims = this.rooms.tokens.verify(token);
    if (!claims) return this.refuse(performanceId, 'the admission token is invalid');
    if (claims.userId !== userId || claims.performanceId !== performanceId) {
      return this.refuse(performanceId, 'the admission token is for another user or performance');
    }
    const answer = await this.store.useAdmission(performanceId, claims.ticketId, claims.expiresAt, use);
    // Canceled: no admission applies; the hold or purchase answers the cancellation (409 SalesClosed).
    if (answer === 'CANCELED') return null;
    if (answer === 'NO_QUEUE') {
      // Turned off since (the cached 'on' is stale), or lost with Redis: only a room PostgreSQL
      // no longer has lets the request through; a restored one starts with no admissions.
      this.forget(performanceId);
      if ((await this.rooms.restore(performanceId)) !== 'on') return null;
      throw new AdmissionRequiredError('the admission has ended: join the queue again');
    }
    if (answer !== 'OK') throw new AdmissionRequiredError('the admission has ended: join the queue again');
    return claims.ticketId;
  }

  /**
   * Refuses a request without a usable token (403 AdmissionRequiredError with `message`), unless
   * the performance's queue state, read again (this process's 'on' may be up to
   * WAITING_ROOM_CACHE_MS old), says no admission applies any more: the queue was removed, or the
   * performance canceled (then null: the hold or purchase answers the cancellation). The read is
   * one begun after the refusal arrived, shared with the refusals that arrive while it waits to
   * begin (`rereads`); an admitted request reads nothing.
   */
  private async refuse(performanceId: number, message: string): Promise<null> {
    if (!(await this.reread(performanceId))) return null;
    throw new AdmissionRequiredError(message);
  }

  /** A read of the queue state that begins after this call: the next one, shared (see `rereads`). */
  private reread(performanceId: number): Promise<boolean> {
    const entry = this.rereads.get(performanceId);
    if (!entry) return this.beginReread(performanceId);
    entry.next ??= entry.running.then(
      () => this.beginReread(performanceId),
      () => this.beginReread(performanceId),
    );
    return entry.next;
  }

  private beginReread(performanceId: number): Promise<boolean> {
    const entry: { running: Promise<boolean>; next?: Promise<boolean> } = { running: this.read(performanceId) };
    this.rereads.set(performanceId, entry);
    // Settled with no refusal waiting: nothing runs for this performance any more. With one
    // waiting, its own beginReread (queued after this) replaces the entry.
    const settled = () => {
      if (this.rereads.get(performanceId) === entry && entry.next === undefined) this.rereads.delete(performanceId);
    };
    entry.running.then(settled, settled);
    return entry.running;
  }

  /** Ends the session of an admission after its purchase, freeing its slot (nothing if it ended already). */
  async complete(userId: string, performanceId: number, ticketId: string): Promise<void> {
    await this.store.end(performanceId, userId, ticketId, 'DONE');
  }
}
