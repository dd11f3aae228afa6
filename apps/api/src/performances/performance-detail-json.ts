import { salesStateAt } from '@app/ticketing';
import type { CheckInWindow, LiveSeatCounts, Performance, SalesState } from '@app/ticketing';
import { mapPerformance } from './performance.dto';

/** The JSON of a performance around its `salesState` value: `{…,"salesState":` and `,"totalSeats":…` (no `}`). */
interface DetailParts {
  head: string;
  tail: string;
}

/**
 * Each performance copy's static JSON, made once per copy: LocalCatalog hands out the same
 * immutable object until the catalog changes, and only `salesState` (it moves with the clock) and
 * the counts are live. Weak, so the parts go with the copies LocalCatalog drops.
 */
const partsByCopy = new WeakMap<Performance, DetailParts>();

// Stands in for the live `salesState` in the JSON cut into parts; no SalesState looks like it.
const SALES_STATE_MARK = '\u0000sales-state';
const MARKED_FIELD = `"salesState":${JSON.stringify(SALES_STATE_MARK)}`;

/**
 * The body of `GET /performances/:id` (PerformanceDetailDto): the same JSON as `JSON.stringify`
 * gives for mapPerformance's answer followed by `available`, `held`, `sold`, `blocked`. The
 * performance's fields are stringified once per copy (`windowOf` is asked then: the check-in
 * window, which depends on the performance alone); a read joins them with `salesState` at
 * `nowMs` (epoch ms) and the live `counts`, instead of mapping ~20 fields and stringifying them
 * (docs/performance.md, the performance detail route).
 */
export function performanceDetailJson(
  performance: Performance,
  counts: LiveSeatCounts,
  nowMs: number,
  windowOf: (performance: Performance) => CheckInWindow,
): string {
  let parts = partsByCopy.get(performance);
  if (parts === undefined) {
    parts = partsOf(performance, windowOf(performance));
    partsByCopy.set(performance, parts);
  }
  return (
    `${parts.head}"${salesStateAt(performance, nowMs)}"${parts.tail},"available":${counts.available},` +
    `"held":${counts.held},"sold":${counts.sold},"blocked":${counts.blocked}}`
  );
}

function partsOf(performance: Performance, window: CheckInWindow): DetailParts {
  const answer = mapPerformance(performance, 0, window);
  answer.salesState = SALES_STATE_MARK as SalesState;
  const json = JSON.stringify(answer);
  const at = json.indexOf(MARKED_FIELD);
  return {
    head: json.slice(0, at + '"salesState":'.length),
    tail: json.slice(at + MARKED_FIELD.length, -1),
  };
}
