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
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { root } from '../scripts/stack.mjs';
import {
  holdCall,
  loadBuild,
  nearFull,
  setSeats,
  staggered,
  threes,
  worstVenue,
  writeVenue,
} from './best-available-venue.mjs';

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
  const b = loadBuild(join(root, 'dist/apps/api'));
  const prefix = keyPrefix ?? `bo_bench_worst_${Date.now().toString(36)}:`;
  const redis = new Redis(redisUrl, { keyPrefix: prefix });
  redis.defineCommand('worstHold', { lua: timed(b.hold) });
  const performanceId = 1;
  const keys = b.performanceKeys(performanceId);
  try {
    const places = worstVenue();
    const layout = b.buildSeatingLayout(places);
    await writeVenue(redis, keys, places, layout);

    const measure = async (name, letterOf, request, holds = runs) => {
      await setSeats(redis, b, keys, places, layout, letterOf);
      const times = [];
      const arrangements = new Set();
      for (let run = 0; run < holds; run += 1) {
        const call = holdCall(b, keys, {
          performanceId,
          userId: randomUUID(),
          holdId: randomUUID(),
          quantity: request.quantity,
          together: request.together,
          lifetimeMs: 300_000,
        });
        const [micros, answer] = await redis.worstHold(call.keys.length, ...call.keys, ...call.args);
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
    // seats on), no rows have aligned shares, so the alignment budget is spent before the fallback.
    const adjacentAligned = await measure('runs of three, 6 together (ADJACENT_ROWS, aligned)', threes, {
      quantity: 6,
      together: true,
    });
    const adjacentStaggered = await measure(
      'staggered runs of three, 6 together (ADJACENT_ROWS, no aligned placement)',
      staggered,
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
