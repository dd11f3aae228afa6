import { describe, expect, it } from 'vitest';
import type { AdmissionStep, WaitingRoomFigures } from '@app/ticketing';
import { AdmissionSummary } from './admission-summary';

const figures = (waiting: number, active: number, rate = 0): WaitingRoomFigures => ({
  opened: true,
  preQueueSize: 0,
  waiting,
  active,
  admitted: 0,
  peakActive: active,
  measuredAdmitPerSecond: rate,
});

const step = (at: number | null, predicted: (number | null)[]): AdmissionStep => ({
  outcome: 'ADMITTED',
  expired: 0,
  dropped: 0,
  at,
  admitted: predicted.map((predictedAt, i) => ({ ticketId: `t${i}`, predictedAt })),
});

describe('AdmissionSummary', () => {
  it('is due once per interval and room, and sums the admitted and ETA errors of its steps', () => {
    const summary = new AdmissionSummary(1000);
    expect(summary.add(7, step(10_000, [9_000, 10_500]), 0)).toBe(false);
    expect(summary.add(8, step(null, []), 500)).toBe(false);
    expect(summary.add(7, step(11_000, [null, 11_100]), 999)).toBe(false);
    expect(summary.add(7, step(null, []), 1000)).toBe(true);
    // errors: +1000, -500, -100 ms
    expect(summary.take(7, figures(120, 30, 49.876))).toEqual({
      performance_id: 7,
      waiting: 120,
      active: 30,
      admitted: 4,
      admit_per_second: 49.88,
      eta_error_ms: 133,
      eta_error_max_ms: 1000,
    });
    // The next interval starts afresh.
    expect(summary.add(7, step(12_000, [null]), 1500)).toBe(false);
    expect(summary.add(7, step(null, []), 2500)).toBe(true);
    expect(summary.take(7, figures(0, 1))).toEqual({
      performance_id: 7,
      waiting: 0,
      active: 1,
      admitted: 1,
      admit_per_second: 0,
    });
  });

  it('logs nothing for an idle room or a room gone from Redis', () => {
    const summary = new AdmissionSummary(0);
    expect(summary.add(1, step(null, []), 0)).toBe(true);
    expect(summary.take(1, figures(0, 0))).toBeNull();
    expect(summary.add(1, step(5, [null]), 1)).toBe(true);
    expect(summary.take(1, null)).toBeNull();
    expect(summary.take(2, figures(3, 0))).toBeNull();
  });
});
