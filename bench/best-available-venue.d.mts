/**
 * See best-available-venue.mjs. Typed as the current sources build (loadBuild also loads older
 * builds, whose modules may differ).
 */
import type Redis from 'ioredis';
import type { holdScriptArgs, holdScriptKeys } from '../libs/ticketing/src/holds/hold-scripts';
import type { PerformanceKeys, performanceKeys, seatingKeys } from '../libs/ticketing/src/redis-keys';
import type { buildSeatingLayout, SeatingLayout, SeatPlace } from '../libs/ticketing/src/seats/seating-layout';

/** One build's scripts and modules (loadBuild). */
export interface Build {
  root: string;
  /** hold-best-available.lua's text. */
  hold: string;
  /** hold-seats.lua's text. */
  seatHold: string;
  /** rebuild-seating.lua's text and its key count. */
  rebuild: string;
  rebuildKeys: number;
  SEATING_FORMAT: number;
  buildSeatingLayout: typeof buildSeatingLayout;
  performanceKeys: typeof performanceKeys;
  seatingKeys: typeof seatingKeys;
  holdScriptKeys: typeof holdScriptKeys;
  holdScriptArgs: typeof holdScriptArgs;
}

export function loadBuild(root: string): Build;
export function worstVenue(options?: {
  marked?: boolean;
  rows?: number;
  seatsPerRow?: number;
  rowStep?: number;
}): SeatPlace[];
export function writeVenue(
  redis: Redis,
  keys: PerformanceKeys,
  places: SeatPlace[],
  layout: SeatingLayout,
): Promise<void>;
export function setSeats(
  redis: Redis,
  b: Build,
  keys: PerformanceKeys,
  places: SeatPlace[],
  layout: SeatingLayout,
  letterOf: (place: SeatPlace) => string,
): Promise<void>;
export function holdCall(
  b: Build,
  keys: PerformanceKeys,
  request: {
    performanceId: number;
    userId: string;
    holdId: string;
    quantity: number;
    together: boolean;
    accessible?: boolean;
    lifetimeMs: number;
  },
): { keys: string[]; args: (string | number)[] };
