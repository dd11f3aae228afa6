import { randomUUID } from 'node:crypto';
import { MAX_INT4 } from '@app/core';

/**
 * Hold and purchase ids that carry their performance, so a hold or a purchase is found in
 * Redis by its id alone (its keys live under the performance's hash tag) without a pointer key.
 *
 * They are RFC 9562 UUID strings of version 8 ("custom"), lower-case, with this layout (bit 0
 * is the most significant bit of the first byte, as in RFC 9562):
 *
 * | bits    | width | content                                                        |
 * | ------- | ----: | -------------------------------------------------------------- |
 * | 0–15    |    16 | layout tag `0xb0f1`                                            |
 * | 16–47   |    32 | performance id, unsigned big-endian (1 … 2,147,483,647)        |
 * | 48–51   |     4 | version `0b1000` (8)                                           |
 * | 52–63   |    12 | random (or derived)                                            |
 * | 64–65   |     2 | variant `0b10`                                                 |
 * | 66–127  |    62 | random (or derived)                                            |
 *
 * In text: `b0f1PPPP-PPPP-8rrr-Vrrr-rrrrrrrrrrrr`, where `PPPPPPPP` is the performance id in hex,
 * `V` one of `8 9 a b`, and the 74 `r` bits random (`crypto.randomUUID`) — or, for an id derived
 * from a digest ({@link idWithPerformance} of a hash-based UUID), the digest's bits.
 * 74 random bits keep ids unguessable (ownership is checked on every read anyway).
 *
 * Ids without this layout — version-4 ids and hash-based version-8 ids made before it — carry no
 * performance: callers fall back to the pointer keys the previous version wrote. A hash-based
 * id of that version starts with the tag by chance once in 65,536; it then decodes to a wrong
 * performance and is found no faster than from PostgreSQL once flushed.
 */

/** The layout tag, the first 4 hex digits of every id of this layout. */
export const ID_LAYOUT_TAG = 'b0f1';

/**
 * The largest performance id an id can carry: performance ids are PostgreSQL `integer`s, so an
 * id whose field is larger names no performance ({@link performanceOfId} answers null for it).
 */
export const MAX_ID_PERFORMANCE = MAX_INT4;

const LAYOUT = /^b0f1([0-9a-f]{4})-([0-9a-f]{4})-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID_TAIL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Whether `performanceId` fits an id: an integer 1 … {@link MAX_ID_PERFORMANCE}. */
export function fitsId(performanceId: number): boolean {
  return Number.isInteger(performanceId) && performanceId >= 1 && performanceId <= MAX_ID_PERFORMANCE;
}

/** A new random id of a hold or purchase of `performanceId`. Throws RangeError when it does not {@link fitsId}. */
export function newIdOf(performanceId: number): string {
  return idWithPerformance(performanceId, randomUUID());
}

/**
 * `uuid` (lower-case, variant `10`, such as a v4 or a hash-based v8) rewritten into the layout:
 * its first 52 bits give way to the tag, `performanceId` and the version; its other 74 bits stay.
 * The same inputs always give the same id. Throws RangeError for a performance id that does not
 * {@link fitsId}, or a `uuid` that is not such a UUID.
 */
export function idWithPerformance(performanceId: number, uuid: string): string {
  if (!fitsId(performanceId)) throw new RangeError(`performance id ${performanceId} does not fit an id`);
  if (!UUID_TAIL.test(uuid)) throw new RangeError(`not a lower-case RFC 9562 UUID: ${uuid}`);
  const hex = performanceId.toString(16).padStart(8, '0');
  return `${ID_LAYOUT_TAG}${hex.slice(0, 4)}-${hex.slice(4)}-8${uuid.slice(15)}`;
}

/**
 * The performance id an id carries, or null for any string without the layout (v4 and older ids)
 * and for one whose performance field is 0 or beyond {@link MAX_ID_PERFORMANCE} (no performance
 * has that id, and PostgreSQL would refuse it in a query).
 */
export function performanceOfId(id: string): number | null {
  const match = LAYOUT.exec(id);
  if (match === null) return null;
  const performanceId = parseInt(match[1] + match[2], 16);
  return fitsId(performanceId) ? performanceId : null;
}
