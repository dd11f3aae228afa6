import { SeatPlace } from '../src/seats/seating-layout';
import { singlesBeside } from './halls';

/**
 * An ADJACENT_ROWS placement as the properties compare it: how many rows, whether its shares are
 * aligned (one seat number lies in every share), its score (the seats' quality sum), its layout
 * position (its first seat's) and the single free seats its shares leave beside them, in all.
 */
export interface AdjacentRowsSummary {
  rows: number;
  aligned: boolean;
  score: number;
  position: number;
  singles: number;
}

interface Row {
  section: string;
  /** Layout position of its first seat. */
  start: number;
  places: SeatPlace[];
}

/** One share's window: first seat index in the row (from 0), score, singles left beside it. */
interface Window {
  at: number;
  size: number;
  score: number;
  singles: number;
}

function rowsOf(places: SeatPlace[]): Row[] {
  const rows: Row[] = [];
  places.forEach((place, position) => {
    const previous = places[position - 1];
    if (!previous || previous.section !== place.section || previous.row !== place.row) {
      rows.push({ section: place.section, start: position, places: [] });
    }
    rows[rows.length - 1].places.push(place);
  });
  return rows;
}

/** Shares of n seats in k rows as equal as possible, the larger ones in front, then (if they differ) in back. */
function splitsOf(n: number, k: number): number[][] {
  const front = Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));
  return n % k === 0 ? [front] : [front, [...front].reverse()];
}

/** (score, position) order of docs/seating.md: the higher score, then the lower position. */
function beats(a: { score: number; position: number }, b: { score: number; position: number } | undefined): boolean {
  return !b || a.score > b.score || (a.score === b.score && a.position < b.position);
}

/** The order of aligned placements over sets of rows: beats, then fewer singles left. */
function beatsAligned(a: AdjacentRowsSummary, b: AdjacentRowsSummary | undefined): boolean {
  return beats(a, b) || (!!b && a.score === b.score && a.position === b.position && a.singles < b.singles);
}

/**
 * ADJACENT_ROWS by exhaustive search, as docs/seating.md states it: for k = 2, 3, … n rows, every
 * run of k consecutive rows of a section in scope and both splits of the party into shares; a
 * share is a window of seats side by side that the request may take (free, accessible or
 * companion exactly when asked for accessible; the first row's share then holds an accessible
 * seat). Aligned placements (some seat number in every share: every combination of windows is
 * tried) are chosen at the fewest rows that have one: per run and split the fewest singles in
 * all, then the best score, then the lowest position; over runs the best score, then the lowest
 * position, then the fewest singles. Without any, the placement whose shares each take their row's best window (fewest
 * singles, best score, first seat lowest) at the fewest rows that have one. Null when nothing
 * fits in adjacent rows. With `align` false, that last placement alone (the rung without
 * alignment, as it answers once its work budget is spent: see alignWorkBound).
 */
export function exhaustiveAdjacentRows(
  places: SeatPlace[],
  letters: Record<string, string>,
  quantity: number,
  accessible: boolean,
  inScope: (place: SeatPlace) => boolean,
  align = true,
): AdjacentRowsSummary | null {
  const rows = rowsOf(places);
  const windowsOf = (row: Row, size: number, needAccessible: boolean): Window[] => {
    const free = row.places.map((place) => letters[String(place.id)] === 'A');
    const eligible = row.places.map((place, i) => free[i] && (place.accessible || place.companion) === accessible);
    const windows: Window[] = [];
    for (let at = 0; at + size <= row.places.length; at += 1) {
      const seats = row.places.slice(at, at + size);
      if (!seats.every((_, k) => eligible[at + k])) continue;
      if (needAccessible && !seats.some((place) => place.accessible)) continue;
      const score = seats.reduce((sum, place) => sum + place.quality, 0);
      windows.push({ at, size, score, singles: singlesBeside(free, at, size) });
    }
    return windows;
  };
  let fallback: AdjacentRowsSummary | undefined;
  for (let k = 2; k <= quantity; k += 1) {
    let bestAligned: AdjacentRowsSummary | undefined;
    let bestUnaligned: AdjacentRowsSummary | undefined;
    for (let t = 0; t + k <= rows.length; t += 1) {
      const run = rows.slice(t, t + k);
      if (run.some((row) => row.section !== run[0].section) || !inScope(run[0].places[0])) continue;
      for (const shares of splitsOf(quantity, k)) {
        const windows = run.map((row, i) => windowsOf(row, shares[i], accessible && i === 0));
        if (windows.some((list) => list.length === 0)) continue;
        const summary = (chosen: Window[]): AdjacentRowsSummary => {
          const from = Math.max(...chosen.map((w) => w.at));
          const to = Math.min(...chosen.map((w) => w.at + w.size - 1));
          return {
            rows: k,
            aligned: from <= to,
            score: chosen.reduce((sum, w) => sum + w.score, 0),
            position: run[0].start + chosen[0].at,
            singles: chosen.reduce((sum, w) => sum + w.singles, 0),
          };
        };
        // Each row's best window alone.
        const own = windows.map((list) =>
          list.reduce((best, w) =>
            w.singles < best.singles || (w.singles === best.singles && w.score > best.score) ? w : best,
          ),
        );
        const unaligned = summary(own);
        if (beats(unaligned, bestUnaligned)) bestUnaligned = unaligned;
        // Every combination of windows whose seat numbers still share one, row by row.
        let bestHere: AdjacentRowsSummary | undefined;
        const walk = (i: number, chosen: Window[], from: number, to: number) => {
          if (i === k) {
            const candidate = summary(chosen);
            if (
              !bestHere ||
              candidate.singles < bestHere.singles ||
              (candidate.singles === bestHere.singles && beats(candidate, bestHere))
            ) {
              bestHere = candidate;
            }
            return;
          }
          for (const w of windows[i]) {
            const a = Math.max(from, w.at);
            const b = Math.min(to, w.at + w.size - 1);
            if (a <= b) walk(i + 1, [...chosen, w], a, b);
          }
        };
        if (align) walk(0, [], 0, Number.POSITIVE_INFINITY);
        if (bestHere && beatsAligned(bestHere, bestAligned)) bestAligned = bestHere;
      }
    }
    if (bestAligned) return bestAligned;
    fallback ??= bestUnaligned;
    if (!align && fallback) return fallback;
  }
  return fallback ?? null;
}

/**
 * hold-best-available.lua's ALIGN_BUDGET: the units of aligned work (sets of rows visited, sets
 * scored exactly) after which ADJACENT_ROWS answers the best aligned placement found so far (at
 * the fewest rows with one: fewer rows were searched whole), else as without alignment.
 * exhaustiveAdjacentRows states the rung exactly only for requests whose alignWorkBound is within
 * it; past it, adjacentRowsClaim states what the budget leaves.
 */
export const ALIGN_BUDGET = 112;

/**
 * An upper bound on the units of aligned work ADJACENT_ROWS may spend on a request of `quantity`
 * seats: per k = 2 … quantity and set of k rows of a section in scope whose rows each have a free
 * run as long as the smallest share (the script skips the others unvisited), the set visited
 * once and scored exactly once per split. Within ALIGN_BUDGET the budget cannot change the answer.
 */
export function alignWorkBound(
  places: SeatPlace[],
  letters: Record<string, string>,
  quantity: number,
  inScope: (place: SeatPlace) => boolean,
): number {
  const rows = rowsOf(places);
  const longestRun = rows.map((row) => {
    let longest = 0;
    let run = 0;
    for (const place of row.places) {
      run = letters[String(place.id)] === 'A' ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    return longest;
  });
  let units = 0;
  for (let k = 2; k <= quantity; k += 1) {
    const smallest = Math.floor(quantity / k);
    for (let t = 0; t + k <= rows.length; t += 1) {
      const run = rows.slice(t, t + k);
      if (run.some((row) => row.section !== run[0].section) || !inScope(run[0].places[0])) continue;
      if (longestRun.slice(t, t + k).some((longest) => longest < smallest)) continue;
      units += 1 + splitsOf(quantity, k).length;
    }
  }
  return units;
}

/**
 * What an ADJACENT_ROWS answer must be, as the property compares it: within the budget exactly
 * exhaustiveAdjacentRows; past it, either an aligned placement in as many rows as the exhaustive
 * aligned one (the budget ran out after one was found), or exactly the rung without alignment.
 */
export function adjacentRowsClaim(
  answer: AdjacentRowsSummary,
  places: SeatPlace[],
  letters: Record<string, string>,
  quantity: number,
  accessible: boolean,
  inScope: (place: SeatPlace) => boolean,
): { expected: unknown; actual: unknown } {
  const exact = exhaustiveAdjacentRows(places, letters, quantity, accessible, inScope);
  if (alignWorkBound(places, letters, quantity, inScope) <= ALIGN_BUDGET) return { expected: exact, actual: answer };
  if (answer.aligned && exact?.aligned) {
    return { expected: { rows: exact.rows, aligned: true }, actual: { rows: answer.rows, aligned: true } };
  }
  return { expected: exhaustiveAdjacentRows(places, letters, quantity, accessible, inScope, false), actual: answer };
}

/** The summary of a held placement of `seats`, against the seat letters before it was held. */
export function adjacentRowsSummary(
  places: SeatPlace[],
  letters: Record<string, string>,
  seats: SeatPlace[],
): AdjacentRowsSummary {
  const rows = rowsOf(places);
  const positions = new Map(places.map((place, position) => [place.id, position]));
  const shares = rows.flatMap((row) => {
    const own = seats.filter((seat) => row.places.includes(seat));
    if (own.length === 0) return [];
    const at = Math.min(...own.map((seat) => row.places.indexOf(seat)));
    const free = row.places.map((place) => letters[String(place.id)] === 'A');
    return [{ at, size: own.length, singles: singlesBeside(free, at, own.length) }];
  });
  const from = Math.max(...shares.map((share) => share.at));
  const to = Math.min(...shares.map((share) => share.at + share.size - 1));
  return {
    rows: shares.length,
    aligned: from <= to,
    score: seats.reduce((sum, seat) => sum + seat.quality, 0),
    position: Math.min(...seats.map((seat) => positions.get(seat.id)!)),
    singles: shares.reduce((sum, share) => sum + share.singles, 0),
  };
}
