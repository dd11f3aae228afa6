import type { AdmissionStep, WaitingRoomFigures } from '@app/ticketing';

/** One room's figures as logged (ECS custom fields `boxoffice.queue.*`, see deploy/elasticsearch). */
export interface AdmissionLogFields {
  performance_id: number;
  /** Buyers in the pre-queue and the line. */
  waiting: number;
  /** Admitted buyers holding a slot. */
  active: number;
  /** Buyers this process admitted since its previous line of the room. */
  admitted: number;
  /** The room's admission rate measured in Redis (shared by every batch process), per second. */
  admit_per_second: number;
  /** Mean and largest actual minus announced admission time of those admitted, ms; absent when none had an ETA. */
  eta_error_ms?: number;
  eta_error_max_ms?: number;
}

interface Pending {
  since: number;
  admitted: number;
  etaErrors: number;
  etaErrorSum: number;
  etaErrorMax: number;
}

/**
 * Folds the admit loop's steps (50 a second by default) into at most one log line per room and
 * interval, so a busy on-sale costs a line a second, not a line a step.
 */
export class AdmissionSummary {
  private readonly pending = new Map<number, Pending>();

  /** @param intervalMs shortest time between two lines of one room, ms. */
  constructor(private readonly intervalMs = 1000) {}

  /** Adds a step of a room taken at `now` (epoch ms); true when the room's line is due. */
  add(performanceId: number, step: AdmissionStep, now: number): boolean {
    let room = this.pending.get(performanceId);
    if (!room) {
      room = { since: now, admitted: 0, etaErrors: 0, etaErrorSum: 0, etaErrorMax: -Infinity };
      this.pending.set(performanceId, room);
    }
    room.admitted += step.admitted.length;
    for (const { predictedAt } of step.admitted) {
      if (predictedAt === null || step.at === null) continue;
      const error = step.at - predictedAt;
      room.etaErrors += 1;
      room.etaErrorSum += error;
      room.etaErrorMax = Math.max(room.etaErrorMax, error);
    }
    return now - room.since >= this.intervalMs;
  }

  /**
   * The room's line from what was added since its previous one and its live figures, then starts
   * the next interval; null for an idle room (nobody waiting, active or admitted), which logs nothing.
   */
  take(performanceId: number, figures: WaitingRoomFigures | null): AdmissionLogFields | null {
    const room = this.pending.get(performanceId);
    this.pending.delete(performanceId);
    if (!room || !figures) return null;
    if (figures.waiting === 0 && figures.active === 0 && room.admitted === 0) return null;
    const line: AdmissionLogFields = {
      performance_id: performanceId,
      waiting: figures.waiting,
      active: figures.active,
      admitted: room.admitted,
      admit_per_second: Math.round(figures.measuredAdmitPerSecond * 100) / 100,
    };
    if (room.etaErrors > 0) {
      line.eta_error_ms = Math.round(room.etaErrorSum / room.etaErrors);
      line.eta_error_max_ms = room.etaErrorMax;
    }
    return line;
  }
}
