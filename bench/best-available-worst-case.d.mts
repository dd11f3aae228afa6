/** See best-available-worst-case.mjs. */
import type { SeatPlace } from '../libs/ticketing/src/seats/seating-layout';

/** A case's figures (ms): its runs' times and the arrangements (or refusals) they answered. */
export interface CaseFigures {
  name: string;
  min: number;
  median: number;
  max: number;
  runs: number;
  answers: string[];
}

/** The groups' figures: each default case by name, the other groups as lists. */
export interface WorstCaseFigures {
  seats: number;
  [caseOrGroup: string]: CaseFigures | CaseFigures[] | number;
}

export function bestAvailableWorstCase(options?: {
  redisUrl?: string;
  keyPrefix?: string;
  runs?: number;
  fills?: number;
  groups?: string[];
  places?: SeatPlace[];
}): Promise<WorstCaseFigures>;
