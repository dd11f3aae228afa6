// What the best-available script benches share: one build's modules and scripts, the worst-case
// venue, writing a venue's seating into Redis, and one hold's script keys and arguments. Used by
// bench/best-available-worst-case.mjs (the built tree's timings) and
// bench/best-available-callgrind.mjs (several builds side by side).
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * One build's modules and scripts, from its `dist/apps/api` folder `root`: the hold and rebuild
 * scripts' Lua text (and the rebuild's key count, `rebuildKeys`), seating-layout.js's exports
 * (`buildSeatingLayout`, `SEATING_FORMAT`, …), `generateLayout`, `performanceKeys`, `seatingKeys`,
 * `holdScriptKeys`, `holdScriptArgs`.
 */
export function loadBuild(root) {
  const { loadLuaScript } = require(join(root, 'libs/redis/src/lua-script.js'));
  const layoutModule = require(join(root, 'libs/ticketing/src/seats/seating-layout.js'));
  const { generateLayout } = require(join(root, 'libs/ticketing/src/catalog/seat-layout.js'));
  const { performanceKeys, seatingKeys } = require(join(root, 'libs/ticketing/src/redis-keys.js'));
  const { holdScriptKeys, holdScriptArgs } = require(join(root, 'libs/ticketing/src/holds/hold-scripts.js'));
  const rebuild = loadLuaScript(join(root, 'libs/ticketing/src/seats/rebuild-seating.lua'));
  return {
    root,
    hold: loadLuaScript(join(root, 'libs/ticketing/src/holds/hold-best-available.lua')).lua,
    seatHold: loadLuaScript(join(root, 'libs/ticketing/src/holds/hold-seats.lua')).lua,
    rebuild: rebuild.lua,
    // 6 from the build that checks the rebuild lease on every write (KEYS[6], ARGV[4] its token), 5 before.
    rebuildKeys: rebuild.numberOfKeys,
    ...layoutModule,
    generateLayout,
    performanceKeys,
    seatingKeys,
    holdScriptKeys,
    holdScriptArgs,
  };
}

/**
 * The worst-case venue: 8 sections side by side × 100 rows × 100 seats (80,000 places, ids from
 * 10,000,000), grade VIP in the first two sections and R after; quality falls 6 a row and 0.5 a
 * seat from the centre across all sections. `marked`: every row's end seats (1 and the last) are
 * accessible and the seats next to them (2 and the one before the last) companions, so no row or
 * section is skipped by an accessible request for having no marked seat. `rows`, `seatsPerRow`
 * and `rowStep` (quality lost a row) make other venues of the same shape (shortRowsVenue).
 */
export function worstVenue({ marked = false, rows = 100, seatsPerRow = 100, rowStep = 6 } = {}) {
  const sections = 8;
  const places = [];
  for (let s = 0; s < sections; s += 1) {
    for (let row = 1; row <= rows; row += 1) {
      for (let number = 1; number <= seatsPerRow; number += 1) {
        const across = Math.abs(s * seatsPerRow + number - (sections * seatsPerRow) / 2);
        const end = number === 1 || number === seatsPerRow;
        const nextToEnd = number === 2 || number === seatsPerRow - 1;
        places.push({
          id: 10_000_000 + places.length,
          section: `S${s + 1}`,
          row,
          number,
          grade: s < 2 ? 'VIP' : 'R',
          quality: Math.max(0, Math.round(1000 - rowStep * row - across / 2)),
          accessible: marked && end,
          companion: marked && nextToEnd,
        });
      }
    }
  }
  return places;
}

/**
 * The adversarial venue: the same 80,000 places as 8 sections × 1,000 rows × 10 seats (8,000
 * short rows, ten times the row slots and 'w<row>' windows of worstVenue), quality falling 1 a row.
 */
export const shortRowsVenue = () => worstVenue({ rows: 1000, seatsPerRow: 10, rowStep: 1 });

/** Near-full: free ('A') only every 10th seat of the odd rows (5 % of the venue), sold ('S') elsewhere. */
export const nearFull = (place) => (place.row % 2 === 1 && place.number % 10 === 5 ? 'A' : 'S');

/**
 * Runs of three free seats (seats 1–3, 11–13, …) in every row: no row fits 6 side by side, and
 * every two adjacent rows' best runs lie one behind the other (ADJACENT_ROWS, aligned at once).
 */
export const threes = (place) => ((place.number - 1) % 10 < 3 ? 'A' : 'S');

/**
 * The same runs, every other row shifted by five seats: no shares of a party lie one behind the
 * other in any rows, so ADJACENT_ROWS spends its alignment budget before it falls back (its worst case).
 */
export const staggered = (place) => ((place.number - 1 + (place.row % 2) * 5) % 10 < 3 ? 'A' : 'S');

/**
 * Accessible near-full (a `marked` worstVenue): free only the accessible seats (the row ends) of
 * the odd rows, every companion and every other seat sold: an accessible party of 2 fits neither
 * side by side nor in adjacent rows.
 */
export const accessibleNearFull = (place) => (place.row % 2 === 1 && place.accessible ? 'A' : 'S');

/**
 * Runs of ten free seats (1–10, 21–30, …) in every row: a party of 9 has no clean window (every
 * placement leaves a single), so the TOGETHER rung, whose bound for 9 or more is composite,
 * scans the sections before TOGETHER_WITH_GAP answers.
 */
export const tens = (place) => ((place.number - 1) % 20 < 10 ? 'A' : 'S');

/**
 * A checkerboard (free where row + seat number is even): every row of shortRowsVenue is single
 * free seats, and the free seats of adjacent rows never share a seat number (no aligned shares).
 */
export const checkerboard = (place) => ((place.row + place.number) % 2 === 0 ? 'A' : 'S');

/**
 * Writes the venue's static part under `keys` (build `b`'s performanceKeys): on sale for a minute
 * already, in KRW, the layout's seat info and seating fields, every place at 50,000.
 */
export async function writeVenue(redis, keys, places, layout) {
  await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000, 'currency', 'KRW');
  await redis.set(keys.seatInfo, layout.seatInfo);
  const fields = [...layout.fields];
  for (let i = 0; i < fields.length; i += 5000)
    await redis.hset(keys.seating, Object.fromEntries(fields.slice(i, i + 5000)));
  for (let i = 0; i < places.length; i += 5000) {
    const chunk = places.slice(i, i + 5000);
    await redis.hset(keys.prices, Object.fromEntries(chunk.map((place) => [place.id, 50_000])));
  }
}

/**
 * Sets every place's status letter (`letterOf(place)`: 'A' free, 'S' sold), forgets holds' expiry
 * and the counts, rebuilds the seating index with build `b`'s rebuild script (10 rows a call) and
 * marks it ready in the build's SEATING_FORMAT (1 for a build from before it took any value).
 */
export async function setSeats(redis, b, keys, places, layout, letterOf) {
  for (let i = 0; i < places.length; i += 5000) {
    const chunk = places.slice(i, i + 5000);
    await redis.hset(keys.seats, Object.fromEntries(chunk.map((place) => [place.id, letterOf(place)])));
  }
  await redis.del(keys.expiry, keys.counts);
  const rebuildSha = await redis.script('LOAD', b.rebuild);
  const format = b.SEATING_FORMAT ?? 1;
  // A build's rebuild script writes only while `ready` is its format being built (seating-format.lua);
  // builds from before that ignore both this and the format argument.
  await redis.hset(keys.seating, 'ready', `building ${format}`);
  for (let row = 0; row < layout.rowSizes.length; row += 10) {
    const last = Math.min(row + 9, layout.rowSizes.length - 1);
    // Without a lease token ('') the build writes as a first registration does.
    const rest = b.rebuildKeys === 6 ? [keys.rebuildLease, row, last, format, ''] : [row, last, format];
    await redis.evalsha(rebuildSha, b.rebuildKeys, keys.seats, ...b.seatingKeys(keys), ...rest);
  }
  await redis.hset(keys.seating, 'ready', format);
}

/**
 * One best-available hold's call: `{ keys, args }` for build `b`'s hold script, `quantity` seats
 * (`together`: no SPLIT), a hold of `lifetimeMs`, an accessible request when `accessible`, every
 * section.
 */
export function holdCall(
  b,
  keys,
  { performanceId, userId, holdId, quantity, together, accessible = false, lifetimeMs },
) {
  const head = { holdId, userId, performanceId, lifetimeMs, userLimit: 20, retentionMs: 60_000 };
  return {
    keys: b.holdScriptKeys(keys, head, []),
    args: [...b.holdScriptArgs(head), quantity, together ? 1 : 0, accessible ? 1 : 0, 'all', '', 0],
  };
}
