import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, LuaScript } from '@app/redis';
import { PerformanceKeys } from '../redis-keys';
import { gradeKey, sectionNameKey } from '../catalog/section-names';
import {
  HoldOutcome,
  holdOutcome,
  HoldScriptHead,
  holdScriptArgs,
  holdScriptKeys,
  unknownReply,
  withAccessCode,
} from './hold-scripts';
import type { NoFitReason } from '../errors';

export const HOLD_BEST_AVAILABLE: LuaScript = {
  name: 'boxofficeHoldBestAvailable',
  file: join(__dirname, 'hold-best-available.lua'),
};

/** Which rung of the best-available ladder placed the party (docs/seating.md). */
export type Arrangement = 'TOGETHER' | 'TOGETHER_WITH_GAP' | 'ADJACENT_ROWS' | 'SPLIT';

export const ARRANGEMENTS: readonly Arrangement[] = ['TOGETHER', 'TOGETHER_WITH_GAP', 'ADJACENT_ROWS', 'SPLIT'];

/** Where the seats may come from: the whole hall, the sections of one grade, or one section (by name). */
export type SeatScope = { kind: 'all' } | { kind: 'grade'; grade: string } | { kind: 'section'; section: string };

export interface HoldBestAvailableRequest extends HoldScriptHead {
  /** Seats wanted, 1…userLimit. */
  quantity: number;
  /** false lets the last rung split the party over any seats. */
  together: boolean;
  /** true: only accessible and companion seats, at least one accessible; false: neither kind. */
  accessible: boolean;
  scope: SeatScope;
}

export type HoldBestAvailableResult =
  | {
      outcome: 'OK';
      expiresAt: number;
      amount: number;
      currency: string;
      arrangement: Arrangement;
      /** In layout order (section, row, number). */
      seatIds: number[];
      /** Each seat's price (minor units), in the order of `seatIds`. */
      seatPrices: number[];
    }
  | { outcome: 'UNKNOWN_SECTION' }
  | { outcome: 'UNKNOWN_GRADE' }
  /** `reason`: why nothing fit, when the script can tell (NoFitReason); null otherwise. */
  | { outcome: 'NO_FIT'; reason: NoFitReason | null }
  | HoldOutcome;

/**
 * Rounds of END_HOLDS: each call ends up to 16 expired holds whose records it was given; holds
 * keep expiring (and other requests end them) while calls run, so a few rounds may be needed
 * after a sweeper pause or in a wave of expiries. The last round ends only the holds it passes
 * and searches with the other expired holds' seats still taken (the sweeper frees them).
 */
const ROUNDS = 4;

/**
 * Picks and holds the best available seats (`hold-best-available.lua`), one script run per
 * round; the first round usually answers, the last ({@link ROUNDS}) always does: when expired
 * holds keep appearing, their seats are left out of that search rather than the request failed.
 */
export function holdBestAvailable(
  redis: Redis,
  keys: PerformanceKeys,
  request: HoldBestAvailableRequest,
): Promise<HoldBestAvailableResult> {
  return bestAvailableRound(redis, keys, request, [], 1);
}

/**
 * One round of {@link holdBestAvailable} ending `ending`. A `.then` chain, not an `async` loop:
 * the usual single round makes one promise rather than an `async` function's two.
 */
function bestAvailableRound(
  redis: Redis,
  keys: PerformanceKeys,
  request: HoldBestAvailableRequest,
  ending: string[],
  round: number,
): Promise<HoldBestAvailableResult> {
  const filterValue =
    request.scope.kind === 'grade'
      ? gradeKey(request.scope.grade)
      : request.scope.kind === 'section'
        ? sectionNameKey(request.scope.section)
        : '';
  return callScript<[string, ...(string | number)[]]>(
    redis,
    HOLD_BEST_AVAILABLE.name,
    holdScriptKeys(keys, request, ending),
    withAccessCode(
      [
        ...holdScriptArgs(request),
        request.quantity,
        request.together ? 1 : 0,
        request.accessible ? 1 : 0,
        request.scope.kind,
        filterValue,
        round === ROUNDS ? 1 : 0,
        ...ending,
      ],
      request,
    ),
  ).then(([outcome, ...rest]) => {
    if (outcome !== 'END_HOLDS' || round === ROUNDS) return bestAvailableResult(outcome, rest);
    return bestAvailableRound(redis, keys, request, [...new Set([...ending, ...rest.map(String)])], round + 1);
  });
}

function bestAvailableResult(outcome: string, rest: (string | number)[]): HoldBestAvailableResult {
  switch (outcome) {
    case 'OK':
      return {
        outcome,
        expiresAt: Number(rest[0]),
        amount: Number(rest[1]),
        currency: String(rest[2]),
        arrangement: String(rest[3]) as Arrangement,
        seatIds: String(rest[4]).split(',').map(Number),
        seatPrices: String(rest[5]).split(',').map(Number),
      };
    case 'UNKNOWN_SECTION':
    case 'UNKNOWN_GRADE':
      return { outcome };
    case 'NO_FIT':
      return { outcome, reason: rest.length > 0 ? (String(rest[0]) as NoFitReason) : null };
    default:
      return holdOutcome(outcome, rest) ?? unknownReply('hold-best-available.lua', outcome);
  }
}
