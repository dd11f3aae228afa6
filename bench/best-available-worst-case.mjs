// The best-available script's own time in Redis on an 80,000-seat venue, in its worst cases:
// a near-full venue whose free seats are singles in alternate rows (no rung but SPLIT fits, and
// no two adjacent rows both have a free seat), asked with `together: false` (falls through to
// SPLIT and holds) and with `together: true` (searches every rung and holds nothing); and the
// bench's own case, the venue filled from empty by parties of 2 (each search lands on the row
// with the best pair leaving no single, usually the one the previous hold changed), and the same
// by parties of 3, 4, 5 and 8 (the row with the best clean window of that size); and parties of 6
// in rows of runs of three seats (ADJACENT_ROWS), aligned or staggered across rows. The script
// runs wrapped in Redis TIME readings taken inside the same script run, so the figure is the
// script's own time, without network or client. Uses the built modules (`npm run build`) and
// its own Redis key prefix; run by `npm run bench`, or alone:
//   node bench/best-available-worst-case.mjs [redis-url]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { redisKeys, root } from '../scripts/stack.mjs';

const require = createRequire(import.meta.url);
const built = (path) => join(root, 'dist/apps/api', path);

const SECTIONS = 8;
const ROWS = 100;
const SEATS_PER_ROW = 100;

/** The script wrapped so that it answers {µs it ran, its own answer}. */
function timed(lua) {
  return `local function script()\n${lua}\nend\nlocal before = redis.call('TIME')\nlocal answer = script()\nlocal after = redis.call('TIME')\nreturn {(after[1] - before[1]) * 1000000 + (after[2] - before[2]), answer}`;
}

/**
 * Builds the venue under `keyPrefix`, measures, removes it. Answers the figures in ms:
 * `{ split, noFit, empty, filling, fillingThree, fillingFour, fillingFive, fillingEight, adjacentAligned,
 * adjacentStaggered: {min, median, max, runs}, seats }`; `runs` holds per case, `fills` holds of 2 for the filling case and half as many of
 * 3, 4, 5 and 8 for theirs
 * (each script run timed).
 */
export async function bestAvailableWorstCase({
  redisUrl = 'redis://127.0.0.1:6379',
  keyPrefix,
  runs = 40,
  fills = 2_000,
} = {}) {
  const { loadLuaScript } = require(built('libs/redis/src/lua-script.js'));
  const { buildSeatingLayout, SEATING_FORMAT: seatingFormat } = require(
    built('libs/ticketing/src/seats/seating-layout.js'),
  );
  const { performanceKeys, seatingKeys } = redisKeys();
  const { holdScriptKeys, holdScriptArgs } = require(built('libs/ticketing/src/holds/hold-scripts.js'));
  const prefix = keyPrefix ?? `bo_bench_worst_${Date.now().toString(36)}:`;
  const redis = new Redis(redisUrl, { keyPrefix: prefix });
  const scripts = {
    hold: loadLuaScript(built('libs/ticketing/src/holds/hold-best-available.lua')).lua,
    rebuild: loadLuaScript(built('libs/ticketing/src/seats/rebuild-seating.lua')).lua,
  };
  redis.defineCommand('worstHold', { lua: timed(scripts.hold) });
  redis.defineCommand('worstRebuild', { numberOfKeys: 5, lua: scripts.rebuild });
  const performanceId = 1;
  const keys = performanceKeys(performanceId);
  try {
    // The venue: sections side by side, quality falling with the row and the distance from the centre.
    const places = [];
    for (let s = 0; s < SECTIONS; s += 1) {
      for (let row = 1; row <= ROWS; row += 1) {
        for (let number = 1; number <= SEATS_PER_ROW; number += 1) {
          const across = Math.abs(s * SEATS_PER_ROW + number - (SECTIONS * SEATS_PER_ROW) / 2);
          places.push({
            id: 10_000_000 + places.length,
            section: `S${s + 1}`,
            row,
            number,
            grade: s < 2 ? 'VIP' : 'R',
            quality: Math.max(0, Math.round(1000 - 6 * row - across / 2)),
            accessible: false,
            companion: false,
          });
        }
      }
    }
    const layout = buildSeatingLayout(places);
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000, 'currency', 'KRW');
    const writes = [redis.set(keys.seatInfo, layout.seatInfo)];
    const fields = [...layout.fields];
    for (let i = 0; i < fields.length; i += 5000)
      writes.push(redis.hset(keys.seating, Object.fromEntries(fields.slice(i, i + 5000))));
    for (let i = 0; i < places.length; i += 5000) {
      const chunk = places.slice(i, i + 5000);
      writes.push(redis.hset(keys.prices, Object.fromEntries(chunk.map((place) => [place.id, 50_000]))));
    }
    await Promise.all(writes);

    const measure = async (name, letterOf, request, holds = runs) => {
      for (let i = 0; i < places.length; i += 5000) {
        const chunk = places.slice(i, i + 5000);
        await redis.hset(keys.seats, Object.fromEntries(chunk.map((place) => [place.id, letterOf(place)])));
      }
      await redis.del(keys.expiry, keys.counts);
      for (let row = 0; row < layout.rowSizes.length; row += 10) {
        await redis.worstRebuild(keys.seats, ...seatingKeys(keys), row, Math.min(row + 9, layout.rowSizes.length - 1));
      }
      // The format the built scripts expect (a version before SEATING_FORMAT took any value).
      await redis.hset(keys.seating, 'ready', seatingFormat ?? 1);
      const times = [];
      const arrangements = new Set();
      for (let run = 0; run < holds; run += 1) {
        const userId = randomUUID();
        const holdId = randomUUID();
        const callKeys = holdScriptKeys(keys, userId, holdId, []);
        const head = { holdId, userId, performanceId, lifetimeMs: 300_000, userLimit: 20, retentionMs: 60_000 };
        const args = [...holdScriptArgs(head), request.quantity, request.together ? 1 : 0, 0, 'all', ''];
        const [micros, answer] = await redis.worstHold(callKeys.length, ...callKeys, ...args);
        times.push(micros / 1000);
        arrangements.add(answer[0] === 'OK' ? answer[4] : answer[0]);
      }
      times.sort((a, b) => a - b);
      return {
        name,
        min: times[0],
        median: times[Math.floor(times.length / 2)],
        max: times[times.length - 1],
        runs: holds,
        answers: [...arrangements],
      };
    };

    // Near-full: free seats only every 10th seat of the odd rows (5 % of the venue).
    const nearFull = (place) => (place.row % 2 === 1 && place.number % 10 === 5 ? 'A' : 'S');
    const split = await measure('near-full, together: false (falls through to SPLIT)', nearFull, {
      quantity: 4,
      together: false,
    });
    const noFit = await measure('near-full, together: true (every rung searched, nothing fits)', nearFull, {
      quantity: 4,
      together: true,
    });
    const empty = await measure('empty venue, 4 together', () => 'A', { quantity: 4, together: true });
    // The bench's own case: the venue filled from empty by parties of 2, best seats first.
    const filling = await measure('filling from empty, 2 together', () => 'A', { quantity: 2, together: true }, fills);
    const fillingThree = await measure(
      'filling from empty, 3 together',
      () => 'A',
      { quantity: 3, together: true },
      fills / 2,
    );
    const fillingFour = await measure(
      'filling from empty, 4 together',
      () => 'A',
      { quantity: 4, together: true },
      fills / 2,
    );
    const fillingFive = await measure(
      'filling from empty, 5 together',
      () => 'A',
      { quantity: 5, together: true },
      fills / 2,
    );
    const fillingEight = await measure(
      'filling from empty, 8 together',
      () => 'A',
      { quantity: 8, together: true },
      fills / 2,
    );
    // Runs of three free seats in every row (seats 1–3, 11–13, …): parties of 6 go to ADJACENT_ROWS,
    // whose shares lie one behind the other in any two rows; staggered (every other row's runs five
    // seats on), no rows have aligned shares, so every set of rows is scored before the fallback.
    const adjacentAligned = await measure(
      'runs of three, 6 together (ADJACENT_ROWS, aligned)',
      (place) => ((place.number - 1) % 10 < 3 ? 'A' : 'S'),
      { quantity: 6, together: true },
    );
    const adjacentStaggered = await measure(
      'staggered runs of three, 6 together (ADJACENT_ROWS, no aligned placement)',
      (place) => ((place.number - 1 + (place.row % 2) * 5) % 10 < 3 ? 'A' : 'S'),
      { quantity: 6, together: true },
    );
    return {
      split,
      noFit,
      empty,
      filling,
      fillingThree,
      fillingFour,
      fillingFive,
      fillingEight,
      adjacentAligned,
      adjacentStaggered,
      seats: places.length,
    };
  } finally {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (found.length > 0) await redis.unlink(...found.map((key) => key.slice(prefix.length)));
    } while (cursor !== '0');
    redis.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await bestAvailableWorstCase({ redisUrl: process.argv[2] });
  console.log(JSON.stringify(figures, null, 2));
}
