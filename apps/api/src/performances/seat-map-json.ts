import { createHash } from 'node:crypto';
import type { LiveSeatMap, SalesState, SeatMap, SeatStatus } from '@app/ticketing';

/**
 * A map's JSON cut around its seats' statuses: `pieces[i]` is everything from the end of seat
 * i − 1's status up to seat i's status (`…,"status":"`), `tail` closes the document. Built once
 * per static map (immutable and shared, see SeatMapService); weak, so the JSON goes with the map.
 */
interface MapJson {
  pieces: string[];
  tail: string;
}

const built = new WeakMap<SeatMap, MapJson>();

/** What the map route answers: the live map and the performance's `salesState` at the answer. */
export type SeatMapAnswer = Pick<LiveSeatMap, 'map' | 'statuses'> & { salesState: SalesState };

const WORDS: Record<SeatStatus, string> = { AVAILABLE: 'AVAILABLE', HELD: 'HELD', SOLD: 'SOLD', BLOCKED: 'BLOCKED' };
const LETTERS: Record<SeatStatus, string> = { AVAILABLE: 'A', HELD: 'H', SOLD: 'S', BLOCKED: 'B' };

/**
 * The body of `GET /performances/:id/map` (SeatMapDto): the same bytes `JSON.stringify` gives for
 * `{performanceId, currency, focalPoint, bounds, sections: [{name, grade, price, currency, bounds,
 * rows: [{row, rowLabel, seats: [{id, row, rowLabel, number, x, y, quality, accessible, companion,
 * status}]}]}], salesState}`,
 * joined from the map's cached pieces, the statuses and the sales state.
 */
export function seatMapJson(live: SeatMapAnswer): string {
  const json = jsonOf(live.map);
  let body = '';
  for (let i = 0; i < json.pieces.length; i += 1) body += json.pieces[i] + WORDS[live.statuses[i]] + '"}';
  return `${body}${json.tail},"salesState":"${live.salesState}"}`;
}

/**
 * A strong entity tag of the body {@link seatMapJson} gives: the static map is named by its
 * performance and catalog version (every admin write moves the version), the live part by a hash
 * of the sales state (it moves with the clock too: `ENDED` at the close time) and the statuses,
 * one letter a seat. Quoted, as ETag and If-None-Match carry it.
 */
export function seatMapEtag(live: SeatMapAnswer): string {
  let letters = `${live.salesState}:`;
  for (const status of live.statuses) letters += LETTERS[status];
  const digest = createHash('sha256').update(letters).digest('base64url').slice(0, 22);
  return `"${live.map.performanceId}.${live.map.version}.${digest}"`;
}

/**
 * Whether an If-None-Match header matches `etag` (RFC 9110 §13.1.2: `*`, or a list of tags
 * compared weakly, so a `W/` prefix is ignored).
 */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || (trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed) === etag;
  });
}

function jsonOf(map: SeatMap): MapJson {
  let json = built.get(map);
  if (json) return json;
  const pieces: string[] = [];
  let open =
    `{"performanceId":${map.performanceId},"currency":${JSON.stringify(map.currency)},` +
    `"focalPoint":${JSON.stringify(map.focalPoint)},"bounds":${JSON.stringify(map.bounds)},"sections":[`;
  map.sections.forEach((section, s) => {
    const { rows, ...fields } = section;
    open += `${s > 0 ? ']}]},' : ''}${JSON.stringify(fields).slice(0, -1)},"rows":[`;
    rows.forEach((row, r) => {
      open += `${r > 0 ? ']},' : ''}{"row":${row.row},"rowLabel":${JSON.stringify(row.rowLabel)},"seats":[`;
      row.seats.forEach((seat, k) => {
        // Cut before the closing `"}` of an empty status.
        const head = JSON.stringify({ ...seat, status: '' }).slice(0, -2);
        pieces.push(`${open}${k > 0 ? ',' : ''}${head}`);
        open = '';
      });
    });
  });
  // The document's closing `}` comes after salesState (seatMapJson).
  json = { pieces, tail: ']}]}]' };
  built.set(map, json);
  return json;
}
