import { Inject, Injectable } from '@nestjs/common';
import { ConflictError } from '@app/core';
import { Env } from '@app/config';
import { WaitingRoomEntity, WaitingRoomsRepository } from '@app/database';
import { auditValues, changedFields, operatorAudit } from '../audit/audit-details';
import { InvalidInputError, NotFoundError, PerformanceCanceledError, QueueTicketEndedError } from '../errors';
import { fitsId, newIdOf, performanceOfId } from '../ids';
import { assertPerformanceId, assertUserId } from '../input';
import type { Operator } from '../purchases/admin-purchases';
import { AdmissionTokens } from './admission-token';
import { newShuffleSeed, seedCommitment } from './shuffle';
import { RawTicket, WaitingRoomStore } from './waiting-room.store';
import { QueueTicket, WaitingRoomSettings, WaitingRoomView } from './waiting-room.types';

const LIMITS: Record<Exclude<keyof WaitingRoomSettings, 'opensAt'>, [number, number]> = {
  admitPerSecond: [1, 10_000],
  maxActive: [1, 1_000_000],
  admissionTtlSeconds: [1, 86_400],
  sessionTtlSeconds: [1, 86_400],
};

/**
 * The audit actions of an admin's setting or change, and removal, of a performance's waiting room
 * (`admin_audit_log`, subject `performance:<id>:waiting-room`).
 */
export const WAITING_ROOM_UPDATE_ACTION = 'waiting-room.update';
export const WAITING_ROOM_DELETE_ACTION = 'waiting-room.delete';

/** The settings of a room its audit rows tell (never its seed: secret until the opening). */
const ROOM_AUDIT_FIELDS = [
  'opensAt',
  'admitPerSecond',
  'maxActive',
  'admissionTtlSeconds',
  'sessionTtlSeconds',
] as const;

/**
 * Waiting rooms: an admin's settings (PostgreSQL, mirrored to Redis), buyers' tickets and
 * admission tokens. Admission itself is `batch`'s (WaitingRoomStore.admit).
 */
@Injectable()
export class WaitingRoomService {
  readonly tokens: AdmissionTokens;

  constructor(
    private readonly store: WaitingRoomStore,
    private readonly rooms: WaitingRoomsRepository,
    @Inject(Env) private readonly env: Env,
  ) {
    this.tokens = new AdmissionTokens(env.WAITING_ROOM_SECRET ?? '');
  }

  /**
   * Sets (or changes) a performance's room. A room keeps its seed; once it has opened, its
   * `opensAt` can no longer change. PostgreSQL and Redis are written under the performance's row
   * lock (WaitingRoomsRepository.whileLocked), so a concurrent change or removal of the room
   * ends the same in both. Throws InvalidInputError (a number out of its range, see LIMITS),
   * NotFoundError (no such performance), PerformanceCanceledError (409: the performance was
   * canceled, for good), ConflictError (opensAt after the opening). Audit log:
   * `waiting-room.update` naming `operator`, in the transaction of the change, with the settings
   * whose values changed (`changed`: each `{before, after}`, `before` null for a new room,
   * `created` true); none when every setting was the stored one.
   */
  async configure(performanceId: number, settings: WaitingRoomSettings, operator: Operator): Promise<WaitingRoomView> {
    assertPerformanceId(performanceId);
    for (const [name, [min, max]] of Object.entries(LIMITS)) {
      const value = settings[name as keyof typeof LIMITS];
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new InvalidInputError(`${name} must be an integer from ${min} to ${max}`, { [name]: value });
      }
    }
    if (!(settings.opensAt instanceof Date) || Number.isNaN(settings.opensAt.getTime())) {
      throw new InvalidInputError('opensAt must be a date-time');
    }
    const row = await this.rooms.whileLocked(performanceId, async (existing, writes, performance) => {
      if (performance.canceled) throw roomOfCanceled(performanceId);
      if (existing && existing.opensAt.getTime() !== settings.opensAt.getTime()) {
        const figures = await this.store.figures(performanceId);
        if (figures?.opened) throw new ConflictError('the queue has opened: opensAt can no longer change');
      }
      const stored = await writes.upsert({ ...settings, seed: existing?.seed ?? newShuffleSeed() });
      const changed = changedFields(existing ?? roomOfNothing, stored, ROOM_AUDIT_FIELDS);
      if (Object.keys(changed).length > 0) {
        await writes.record(
          operatorAudit(operator, WAITING_ROOM_UPDATE_ACTION, roomSubject(performanceId), {
            performanceId,
            created: existing === null,
            changed,
          }),
        );
      }
      await this.store.configure(stored, this.env.WAITING_ROOM_POLL_AFTER_SECONDS);
      return stored;
    });
    if (!row) throw new NotFoundError('performance', { performanceId });
    return this.viewOf(row);
  }

  /** The room with its live figures; NotFoundError('queue') when the performance has none, ('performance') when there is no such performance. */
  async view(performanceId: number): Promise<WaitingRoomView> {
    assertPerformanceId(performanceId);
    const row = await this.rooms.find(performanceId);
    if (!row) throw await this.noQueue(performanceId);
    return this.viewOf(row);
  }

  /**
   * Mirrors the performance's room from PostgreSQL into Redis again when Redis lost it (emptied,
   * a new node), as viewOf does: its settings and seed, not its tickets, which went with Redis.
   * Answers 'on' when the performance has a room, 'off' when it has none (or there is no such
   * performance), 'canceled' when the performance was canceled (its room, if any, mirrored too):
   * then no admission applies, its holds and purchases are refused as canceled. Called before the
   * seat state is written again (SeatStateRebuilder) and wherever a room is found missing, so a
   * lost room fails closed. Read and mirrored under the performance's row lock FOR SHARE
   * (WaitingRoomsRepository.whileShared), so a room removed meanwhile is not brought back.
   */
  async restore(performanceId: number): Promise<'on' | 'off' | 'canceled'> {
    return (await this.restoreOrMissing(performanceId)) ?? 'off';
  }

  /** {@link restore}, null when there is no such performance (a 404 then names the performance, not its queue). */
  private restoreOrMissing(performanceId: number): Promise<'on' | 'off' | 'canceled' | null> {
    return this.rooms.whileShared(performanceId, async (row, performance) => {
      if (row && !['on', 'canceled'].includes(await this.store.queueState(performanceId))) {
        await this.store.configure(row, this.env.WAITING_ROOM_POLL_AFTER_SECONDS);
      }
      if (performance.canceled) return 'canceled' as const;
      return row ? ('on' as const) : ('off' as const);
    });
  }

  /**
   * Turns the room off and forgets its tickets, in PostgreSQL and Redis under the performance's
   * row lock (as {@link configure}); NotFoundError when there was none. Redis forgets the room
   * even when PostgreSQL had none, so a room left in Redis alone (a change that wrote Redis and
   * then failed to commit) is cleared by a DELETE. Audit log: `waiting-room.delete` naming
   * `operator`, with the settings the room had, in the transaction of the removal (none when there
   * was no room). The tickets are not forgotten at once: each reads ENDED with endReason CLOSED
   * for CLOSED_TICKETS_TTL_SECONDS (WaitingRoomStore.remove). PerformanceCanceledError (409) for a
   * canceled performance: its room no longer changes (its tickets read ENDED, CANCELED).
   */
  async remove(performanceId: number, operator: Operator): Promise<void> {
    assertPerformanceId(performanceId);
    const deleted = await this.rooms.whileLocked(performanceId, async (room, writes, performance) => {
      if (performance.canceled) throw roomOfCanceled(performanceId);
      const had = await writes.delete();
      if (had && room) {
        await writes.record(
          operatorAudit(operator, WAITING_ROOM_DELETE_ACTION, roomSubject(performanceId), {
            performanceId,
            ...auditValues(room, ROOM_AUDIT_FIELDS),
          }),
        );
      }
      await this.store.remove(performanceId);
      return had;
    });
    if (deleted === null) throw new NotFoundError('performance', { performanceId });
    if (!deleted) throw new NotFoundError('queue', { performanceId });
  }

  /** The 404 of a performance without a queue: naming the performance when there is no such performance. */
  private async noQueue(performanceId: number): Promise<NotFoundError> {
    const exists = (await this.rooms.whileShared(performanceId, async () => true)) !== null;
    return new NotFoundError(exists ? 'queue' : 'performance', { performanceId });
  }

  /**
   * Joins the performance's queue, or answers the user's live ticket again (one per user and
   * performance). NotFoundError('performance') when there is no such performance (deleted),
   * NotFoundError('queue') when it has no queue; PerformanceCanceledError (409) when it was
   * canceled (with or without a queue).
   */
  async join(userId: string, performanceId: number): Promise<QueueTicket> {
    assertUserId(userId);
    assertPerformanceId(performanceId);
    // No performance has an id past PostgreSQL's integer.
    if (!fitsId(performanceId)) throw new NotFoundError('performance', { performanceId });
    let raw = await this.store.join(performanceId, userId, newIdOf(performanceId));
    if (raw.outcome === 'NO_QUEUE') {
      // Redis may have lost the room (and the performance's status with it): PostgreSQL tells.
      const restored = await this.restoreOrMissing(performanceId);
      if (restored === null) throw new NotFoundError('performance', { performanceId });
      if (restored === 'canceled') throw roomOfCanceled(performanceId);
      if (restored === 'on') raw = await this.store.join(performanceId, userId, newIdOf(performanceId));
    }
    return this.ticketOf(performanceId, userId, raw);
  }

  /**
   * The user's ticket (a poll: it keeps the ticket in line); NotFoundError('queue ticket') for
   * anyone else's, or none (as leave answers). A ticket whose queue was removed, or whose
   * performance was deleted, reads ENDED with endReason CLOSED; one of a canceled performance,
   * ENDED with CANCELED.
   */
  async get(userId: string, ticketId: string): Promise<QueueTicket> {
    const performanceId = this.performanceOf(ticketId);
    const raw = await this.store.poll(performanceId, userId, ticketId);
    // As leave answers: anyone else's ticket, or none (its queue gone), is the same 404 naming the id asked for.
    if (raw.outcome === 'NOT_FOUND' || raw.outcome === 'NO_QUEUE')
      throw new NotFoundError('queue ticket', { ticketId });
    return this.ticketOf(performanceId, userId, raw);
  }

  /**
   * Leaves the queue or gives the slot back. NotFoundError for anyone else's ticket (or none);
   * QueueTicketEndedError, with why it ended as `get` tells it, for the user's own ticket that has
   * ended already (left before, dropped, expired, done), so a repeated leave reads as what it is.
   */
  async leave(userId: string, ticketId: string): Promise<void> {
    const performanceId = this.performanceOf(ticketId);
    const answer = await this.store.end(performanceId, userId, ticketId, 'LEFT');
    if (answer.outcome === 'ALREADY_ENDED') throw new QueueTicketEndedError(ticketId, answer.reason);
    if (answer.outcome !== 'ENDED') throw new NotFoundError('queue ticket', { ticketId });
  }

  private performanceOf(ticketId: string): number {
    const performanceId = typeof ticketId === 'string' ? performanceOfId(ticketId) : null;
    if (performanceId === null) throw new NotFoundError('queue ticket', { ticketId });
    return performanceId;
  }

  private async viewOf(row: WaitingRoomEntity): Promise<WaitingRoomView> {
    const [read, halted] = await Promise.all([
      Promise.all([this.store.figures(row.performanceId), this.store.queueState(row.performanceId)]),
      this.store.admissionHalted(row.performanceId),
    ]);
    let [figures, state] = read;
    // Redis lost the room (a restart without its data): mirror it again from PostgreSQL.
    if (!figures) {
      const restored = await this.restore(row.performanceId);
      if (restored === 'canceled') state = 'canceled';
      if (restored !== 'off') figures = await this.store.figures(row.performanceId);
    }
    const opened = figures?.opened ?? false;
    const canceled = state === 'canceled';
    // A canceled performance's tickets all read ENDED (CANCELED): the slots and the line Redis
    // still lists serve no one, so none is shown as waiting or active.
    if (figures && canceled) figures = { ...figures, waiting: 0, active: 0 };
    return {
      performanceId: row.performanceId,
      canceled,
      opensAt: row.opensAt,
      admitPerSecond: row.admitPerSecond,
      maxActive: row.maxActive,
      admissionTtlSeconds: row.admissionTtlSeconds,
      sessionTtlSeconds: row.sessionTtlSeconds,
      pollAfterSeconds: this.env.WAITING_ROOM_POLL_AFTER_SECONDS,
      seedSha256: seedCommitment(row.seed),
      seed: opened ? row.seed : null,
      admissionHalted: canceled ? null : halted,
      figures: figures ?? {
        opened: false,
        preQueueSize: null,
        waiting: 0,
        active: 0,
        admitted: 0,
        peakActive: 0,
        measuredAdmitPerSecond: 0,
      },
    };
  }

  private ticketOf(performanceId: number, userId: string, raw: RawTicket): QueueTicket {
    const base = {
      performanceId,
      position: null,
      etaSeconds: 0,
      pollAfterSeconds: this.env.WAITING_ROOM_POLL_AFTER_SECONDS,
      admissionToken: null,
      admissionExpiresAt: null,
      slotEndsAt: null,
      preQueue: null,
      endReason: null,
      admissionHalted: null,
    };
    switch (raw.outcome) {
      case 'NO_QUEUE':
        throw new NotFoundError('queue', { performanceId });
      case 'NOT_FOUND':
        throw new NotFoundError('queue ticket');
      case 'CANCELED':
        throw roomOfCanceled(performanceId);
      case 'ENDED':
        return { ...base, ticketId: raw.ticketId, status: 'ENDED', endReason: raw.reason };
      case 'ADMITTED': {
        // Valid for the longest slot the admission can give, on the room's clock (a pause does
        // not run it down; use-admission.lua checks it there); the slot itself is checked in Redis.
        return {
          ...base,
          ticketId: raw.ticketId,
          status: 'ADMITTED',
          admissionToken: this.tokens.sign({
            performanceId,
            userId,
            ticketId: raw.ticketId,
            expiresAt: raw.tokenUntil,
          }),
          admissionExpiresAt: new Date(raw.tokenUntilAt),
          slotEndsAt: new Date(raw.slotEndsAt),
          preQueue: openingOf(raw.opening),
        };
      }
      case 'WAITING':
        return {
          ...base,
          ticketId: raw.ticketId,
          status: 'WAITING',
          position: raw.position > 0 ? raw.position : null,
          etaSeconds: Math.ceil(raw.etaMs / 1000),
          pollAfterSeconds: raw.pollAfterMs / 1000,
          preQueue: openingOf(raw.opening),
          admissionHalted: raw.halted,
        };
    }
  }
}

function openingOf(opening: string): QueueTicket['preQueue'] {
  const [arrival, openingPosition] = opening.split(':').map(Number);
  return opening ? { arrival, openingPosition } : null;
}

/** A room before it existed: every setting absent, so a new room's audit row tells each one with `before` null. */
const roomOfNothing: Record<(typeof ROOM_AUDIT_FIELDS)[number], null> = {
  opensAt: null,
  admitPerSecond: null,
  maxActive: null,
  admissionTtlSeconds: null,
  sessionTtlSeconds: null,
};

/** The 409 of a canceled performance's room: it no longer changes nor takes anyone. */
function roomOfCanceled(performanceId: number): PerformanceCanceledError {
  return new PerformanceCanceledError(performanceId, 'its waiting room no longer changes nor takes anyone');
}

/** The subject of a room's audit rows: under its performance's, so `?performanceId=` finds them. */
function roomSubject(performanceId: number): string {
  return `performance:${performanceId}:waiting-room`;
}
