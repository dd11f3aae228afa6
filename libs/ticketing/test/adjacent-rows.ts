import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
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
 * ADJACENT_ROWS with equal shares by exhaustive search, as docs/seating.md states it: for k = 2, 3, … n rows, every
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
function equalAdjacentRows(
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
 * ADJACENT_ROWS leaving no single free seat, any split, by exhaustive search (searchAdjacentClean
 * in hold-best-available.lua): for k = 2, 3, … n, every run of k consecutive rows of a section in
 * scope and every split of the party into shares of at least one seat, each share a window its
 * row may take that leaves no single beside it; the fewest rows, then the best score, then the
 * lowest position (a dynamic programme over the rows' windows). Its `aligned` is whatever the
 * script's tie-break gives (ties of score and position may differ in it): any boolean. Null when no such placement exists.
 */
export function exhaustiveCleanAdjacentRows(
  places: SeatPlace[],
  letters: Record<string, string>,
  quantity: number,
  accessible: boolean,
  inScope: (place: SeatPlace) => boolean,
): AdjacentRowsSummary | null {
  const rows = rowsOf(places);
  const cleanWindows = (row: Row, needAccessible: boolean): Window[] => {
    const free = row.places.map((place) => letters[String(place.id)] === 'A');
    const eligible = row.places.map((place, i) => free[i] && (place.accessible || place.companion) === accessible);
    const windows: Window[] = [];
    for (let size = 1; size <= quantity; size += 1) {
      for (let at = 0; at + size <= row.places.length; at += 1) {
        const seats = row.places.slice(at, at + size);
        if (!seats.every((_, k) => eligible[at + k])) continue;
        if (needAccessible && !seats.some((place) => place.accessible)) continue;
        if (singlesBeside(free, at, size) > 0) continue;
        windows.push({ at, size, score: seats.reduce((sum, place) => sum + place.quality, 0), singles: 0 });
      }
    }
    return windows;
  };
  for (let k = 2; k <= quantity; k += 1) {
    let best: AdjacentRowsSummary | undefined;
    for (let t = 0; t + k <= rows.length; t += 1) {
      const run = rows.slice(t, t + k);
      if (run.some((row) => row.section !== run[0].section) || !inScope(run[0].places[0])) continue;
      const windows = run.map((row, i) => cleanWindows(row, accessible && i === 0));
      // The first row's window fixes the position; the other rows' windows, by the seats they
      // take in all, keep the best score (every combination is a sum of independent rows).
      for (const first of windows[0]) {
        let scores: Map<number, number> = new Map([[first.size, first.score]]);
        for (let i = 1; i < k; i += 1) {
          const next = new Map<number, number>();
          for (const [seats, score] of scores) {
            for (const w of windows[i]) {
              const total = seats + w.size;
              if (total > quantity - (k - i - 1)) continue;
              if ((next.get(total) ?? -1) < score + w.score) next.set(total, score + w.score);
            }
          }
          scores = next;
        }
        const score = scores.get(quantity);
        if (score === undefined) continue;
        const candidate = { rows: k, aligned: false, score, position: run[0].start + first.at, singles: 0 };
        if (beats(candidate, best)) best = candidate;
      }
    }
    if (best) return { ...best, aligned: expect.any(Boolean) as unknown as boolean };
  }
  return null;
}

/**
 * ADJACENT_ROWS by exhaustive search, as docs/seating.md states it: the equal shares' placement
 * (equalAdjacentRows) when it leaves no single free seat; else the placement of any split leaving
 * none (exhaustiveCleanAdjacentRows) if there is one; else the equal shares' placement. With
 * `align` false, the equal shares' placement is the rung's without alignment (see alignWorkBound).
 */
export function exhaustiveAdjacentRows(
  places: SeatPlace[],
  letters: Record<string, string>,
  quantity: number,
  accessible: boolean,
  inScope: (place: SeatPlace) => boolean,
  align = true,
): AdjacentRowsSummary | null {
  const equal = equalAdjacentRows(places, letters, quantity, accessible, inScope, align);
  if (equal && equal.singles === 0) return equal;
  return exhaustiveCleanAdjacentRows(places, letters, quantity, accessible, inScope) ?? equal;
}

/**
 * hold-best-available.lua's CLEAN_BUDGET: the rows searchAdjacentClean visits (first rows of sets,
 * rows added to a set) before it answers the best clean placement found so far. Within it
 * (cleanWorkBound) exhaustiveCleanAdjacentRows states that search exactly.
 */
export const CLEAN_BUDGET = 256;

/**
 * An upper bound on the rows searchAdjacentClean visits for a request of `quantity` seats: per
 * section in scope, per first row t but the section's last, t and the rows after it up to
 * `quantity` rows in all (the section's end first).
 */
export function cleanWorkBound(places: SeatPlace[], quantity: number, inScope: (place: SeatPlace) => boolean): number {
  const rows = rowsOf(places);
  let units = 0;
  rows.forEach((row, t) => {
    if (!inScope(row.places[0])) return;
    let left = 0;
    while (t + left < rows.length && rows[t + left].section === row.section) left += 1;
    if (left >= 2) units += Math.min(quantity, left);
  });
  return units;
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
 * What the equal shares' search may answer (equalAdjacentRows): within ALIGN_BUDGET exactly it;
 * past it, an aligned placement in as many rows as its aligned one, or exactly the rung without
 * alignment.
 */
function equalRowsClaim(
  answer: AdjacentRowsSummary,
  places: SeatPlace[],
  letters: Record<string, string>,
  quantity: number,
  accessible: boolean,
  inScope: (place: SeatPlace) => boolean,
): { expected: unknown; actual: unknown } {
  const exact = equalAdjacentRows(places, letters, quantity, accessible, inScope);
  if (alignWorkBound(places, letters, quantity, inScope) <= ALIGN_BUDGET) return { expected: exact, actual: answer };
  if (answer.aligned && exact?.aligned) {
    return { expected: { rows: exact.rows, aligned: true }, actual: { rows: answer.rows, aligned: true } };
  }
  return { expected: equalAdjacentRows(places, letters, quantity, accessible, inScope, false), actual: answer };
}

/**
 * What an ADJACENT_ROWS answer must be, as the properties compare it. One leaving a single: what
 * the equal shares' search may answer (equalRowsClaim), and, within CLEAN_BUDGET, no placement of
 * any split leaving none. One leaving none: the equal shares' answer, or the placement of any split
 * leaving none (exactly exhaustiveCleanAdjacentRows' within CLEAN_BUDGET, some such one past it).
 */
export function adjacentRowsClaim(
  answer: AdjacentRowsSummary,
  places: SeatPlace[],
  letters: Record<string, string>,
  quantity: number,
  accessible: boolean,
  inScope: (place: SeatPlace) => boolean,
): { expected: unknown; actual: unknown } {
  const equal = equalRowsClaim(answer, places, letters, quantity, accessible, inScope);
  const clean = exhaustiveCleanAdjacentRows(places, letters, quantity, accessible, inScope);
  const cleanExact = cleanWorkBound(places, quantity, inScope) <= CLEAN_BUDGET;
  if (answer.singles > 0) {
    return {
      expected: { equal: equal.expected, clean: cleanExact ? null : 'past the budget' },
      actual: { equal: equal.actual, clean: cleanExact ? clean : 'past the budget' },
    };
  }
  const equalHolds = isDeepStrictEqual(equal.actual, equal.expected);
  if (equalHolds) return equal;
  if (cleanExact) return { expected: clean, actual: answer };
  return {
    expected: { singles: 0, cleanExisted: true },
    actual: { singles: answer.singles, cleanExisted: clean !== null },
  };
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
