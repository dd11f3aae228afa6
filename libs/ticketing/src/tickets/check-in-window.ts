import type { Env } from '@app/config';

/**
 * The check-in window of a performance: its tickets admit from `opensAt` (doors open) until just
 * before `closesAt`, both following its `startsAt` (a performance moved by PATCH moves its window).
 * Half-open, as the sales window: exactly at `opensAt` the door admits, exactly at `closesAt` it
 * no longer does.
 */
export interface CheckInWindow {
  opensAt: Date;
  closesAt: Date;
}

/** Minutes before and after a performance's start that its window spans (CHECK_IN_* settings). */
export interface CheckInWindowSettings {
  opensBeforeMinutes: number;
  closesAfterMinutes: number;
}

/** The global window: CHECK_IN_OPENS_BEFORE_MINUTES and CHECK_IN_CLOSES_AFTER_MINUTES. */
export function checkInWindowSettings(
  env: Pick<Env, 'CHECK_IN_OPENS_BEFORE_MINUTES' | 'CHECK_IN_CLOSES_AFTER_MINUTES'>,
): CheckInWindowSettings {
  return {
    opensBeforeMinutes: env.CHECK_IN_OPENS_BEFORE_MINUTES,
    closesAfterMinutes: env.CHECK_IN_CLOSES_AFTER_MINUTES,
  };
}

/** Most minutes a performance's own window reaches before or after its start: 7 days. */
export const MAX_CHECK_IN_WINDOW_MINUTES = 10_080;

/** A performance's own settings where it has them (not null), the global ones otherwise. */
export function checkInSettingsOf(
  performance: { checkInOpensBeforeMinutes?: number | null; checkInClosesAfterMinutes?: number | null },
  global: CheckInWindowSettings,
): CheckInWindowSettings {
  return {
    opensBeforeMinutes: performance.checkInOpensBeforeMinutes ?? global.opensBeforeMinutes,
    closesAfterMinutes: performance.checkInClosesAfterMinutes ?? global.closesAfterMinutes,
  };
}

/** Where an instant lies against a window: before it, inside it, from its close on. */
export type CheckInWindowState = 'NOT_OPEN' | 'OPEN' | 'CLOSED';

const MINUTE_MS = 60_000;

/** The window of a performance starting at `startsAt`. */
export function checkInWindowOf(startsAt: Date, settings: CheckInWindowSettings): CheckInWindow {
  const starts = startsAt.getTime();
  return {
    opensAt: new Date(starts - settings.opensBeforeMinutes * MINUTE_MS),
    closesAt: new Date(starts + settings.closesAfterMinutes * MINUTE_MS),
  };
}

/** `nowMs` (epoch ms) against `window`: NOT_OPEN before `opensAt`, CLOSED from `closesAt` on. */
export function checkInStateAt(window: CheckInWindow, nowMs: number): CheckInWindowState {
  if (nowMs < window.opensAt.getTime()) return 'NOT_OPEN';
  if (nowMs >= window.closesAt.getTime()) return 'CLOSED';
  return 'OPEN';
}
