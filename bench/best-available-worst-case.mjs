// The best-available script's own time in Redis on an 80,000-seat venue, in its worst cases:
// a near-full venue whose free seats are singles in alternate rows (no rung but SPLIT fits, and
// no two adjacent rows both have a free seat), asked with `together: false` (falls through to
// SPLIT and holds) and with `together: true` (searches every rung and holds nothing); and the
// bench's own case, the venue filled from empty by parties of 2 (each search lands on the row
// with the best pair leaving no single, usually the one the previous hold changed), and the same
// by parties of 3, 4, 5 and 8 (the row with the best clean window of that size); and parties of 6
// in rows of runs of three seats (ADJACENT_ROWS), aligned or staggered across rows.
// Past the default request: parties of 9–20 (MAX_SEATS_PER_RESERVATION allows 20; from 9 the
// together bound is composite and sections are scanned), accessible requests on the venue with
// marked seats at every row's ends, and an adversarial venue of the same 80,000 seats in 8,000
// rows of 10 (worstVenue's rows cut short) holding single free seats in a checkerboard. And the
// search that follows seat-id holds on every row: it first refreshes the rows they left stale
// (the seating include's 'dirty' list, as many as the list holds). The
// script runs wrapped in Redis TIME readings taken inside the same script run, so the figure is
// the script's own time, without network or client. Uses the built modules (`npm run build`) and
// its own Redis key prefix; run by `npm run bench`, or alone:
//   node bench/best-available-worst-case.mjs [redis-url] [groups, comma-separated: default,large,accessible,shortRows,deferred]
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { root } from '../scripts/stack.mjs';
import {
  accessibleNearFull,
  checkerboard,
  holdCall,
  loadBuild,
  nearFull,
  setSeats,
  shortRowsVenue,
  staggered,
  tens,
  threes,
  worstVenue,
  writeVenue,
} from './best-available-venue.mjs';

/** The script wrapped so that it answers {µs it ran, its own answer}. */
function timed(lua) {
  return `local function script()\n${lua}\nend\nlocal before = redis.call('TIME')\nlocal answer = script()\nlocal after = redis.call('TIME')\nreturn {(after[1] - before[1]) * 1000000 + (after[2] - before[2]), answer}`;
}

/** A case's figures from its script runs' times (ms) and the arrangements (or refusals) seen. */
function caseFigures(name, times, arrangements) {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    name,
    min: sorted[0],
    median: sorted[Math.floor(sorted.length / 2)],
    max: sorted[sorted.length - 1],
    runs: sorted.length,
    answers: [...arrangements],
  };
}

/** The default request's cases on worstVenue (`measure` bound to it); see bestAvailableWorstCase. */
async function defaultCases(measure, empty, fillingOf, { fills }) {
  // Near-full: free seats only every 10th seat of the odd rows (5 % of the venue).
  const split = await measure('near-full, together: false (falls through to SPLIT)', nearFull, {
    quantity: 4,
    together: false,
  });
  const noFit = await measure('near-full, together: true (every rung searched, nothing fits)', nearFull, {
    quantity: 4,
    together: true,
  });
  const emptyVenue = await measure('empty venue, 4 together', empty, { quantity: 4, together: true });
  // The bench's own case: the venue filled from empty by parties of 2, best seats first.
  const filling = await measure('filling from empty, 2 together', empty, { quantity: 2, together: true }, fills);
  const fillingThree = await fillingOf(3);
  const fillingFour = await fillingOf(4);
  const fillingFive = await fillingOf(5);
  const fillingEight = await fillingOf(8);
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
    empty: emptyVenue,
    filling,
    fillingThree,
    fillingFour,
    fillingFive,
    fillingEight,
    adjacentAligned,
    adjacentStaggered,
  };
}

/**
 * Builds the venues under `keyPrefix`, measures, removes them. Answers the figures in ms, each case
 * `{name, min, median, max, runs, answers}` (`answers`: the arrangements or refusals seen):
 * `{ split, noFit, empty, filling, fillingThree, fillingFour, fillingFive, fillingEight,
 * adjacentAligned, adjacentStaggered, large: [...], accessible: [...], shortRows: [...], seats }`;
 * `runs` holds per case, `fills` holds of 2 for the filling case and half as many for the other
 * filling cases (each script run timed). `groups` picks the groups of cases measured (default all:
 * 'default' the cases before `large`, then 'large', 'accessible', 'shortRows', 'deferred'); a group
 * left out answers nothing. `places`: the venue of the default and large groups (and the first
 * deferred case), worstVenue unless given (a smaller one of its shape checks the bench runs, in
 * bench/bench-helpers.int-spec.ts).
 */
export async function bestAvailableWorstCase({
  redisUrl = 'redis://127.0.0.1:6379',
  keyPrefix,
  runs = 40,
  fills = 2_000,
  groups = ['default', 'large', 'accessible', 'shortRows', 'deferred'],
  places = worstVenue(),
} = {}) {
  const b = loadBuild(join(root, 'dist/apps/api'));
  const prefix = keyPrefix ?? `bo_bench_worst_${Date.now().toString(36)}:`;
  const redis = new Redis(redisUrl, { keyPrefix: prefix });
  redis.defineCommand('worstHold', { lua: timed(b.hold) });
  redis.defineCommand('seatHold', { lua: b.seatHold });
  try {
    /** A venue of its own performance (`performanceId`) and its `measure(name, letterOf, request, holds)`. */
    const venue = async (performanceId, places) => {
      const keys = b.performanceKeys(performanceId);
      const layout = b.buildSeatingLayout(places);
      await writeVenue(redis, keys, places, layout);
      return async (name, letterOf, request, holds = runs) => {
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
            accessible: request.accessible,
            lifetimeMs: 300_000,
          });
          const [micros, answer] = await redis.worstHold(call.keys.length, ...call.keys, ...call.args);
          times.push(micros / 1000);
          arrangements.add(answer[0] === 'OK' ? answer[4] : answer[0]);
        }
        return caseFigures(name, times, arrangements);
      };
    };
    const measure = await venue(1, places);
    const empty = () => 'A';
    const figures = { seats: places.length };
    const fillingOf = (quantity) =>
      measure(`filling from empty, ${quantity} together`, empty, { quantity, together: true }, fills / 2);
    if (groups.includes('default')) Object.assign(figures, await defaultCases(measure, empty, fillingOf, { fills }));

    // Parties of 9–20: whole sections scanned by the composite together bound.
    if (groups.includes('large')) {
      const large = [];
      for (const quantity of [9, 12, 16, 20]) large.push(await fillingOf(quantity));
      large.push(
        await measure('runs of ten, 9 together (no clean window: TOGETHER_WITH_GAP)', tens, {
          quantity: 9,
          together: true,
        }),
        await measure('near-full, 20 together (every rung searched, nothing fits)', nearFull, {
          quantity: 20,
          together: true,
        }),
        await measure('near-full, 20, together: false (SPLIT)', nearFull, { quantity: 20, together: false }),
        await measure('runs of three, 20 together (ADJACENT_ROWS in 7 rows, aligned)', threes, {
          quantity: 20,
          together: true,
        }),
        await measure('staggered runs of three, 20 together (ADJACENT_ROWS, no aligned placement)', staggered, {
          quantity: 20,
          together: true,
        }),
      );
      figures.large = large;
    }

    // Accessible requests on the venue with marked seats at both ends of every row (6,400 of them).
    if (groups.includes('accessible')) {
      const markedMeasure = await venue(2, worstVenue({ marked: true }));
      figures.accessible = [
        await markedMeasure(
          'accessible, filling from empty, 2 together',
          empty,
          {
            quantity: 2,
            together: true,
            accessible: true,
          },
          fills / 2,
        ),
        await markedMeasure(
          'accessible, filling from empty, 4 together (ADJACENT_ROWS of marked pairs)',
          empty,
          {
            quantity: 4,
            together: true,
            accessible: true,
          },
          fills / 2,
        ),
        await markedMeasure(
          'accessible near-full, 2 together (every rung searched, nothing fits)',
          accessibleNearFull,
          {
            quantity: 2,
            together: true,
            accessible: true,
          },
        ),
        await markedMeasure('accessible near-full, 2, together: false (SPLIT)', accessibleNearFull, {
          quantity: 2,
          together: false,
          accessible: true,
        }),
      ];
    }

    // The adversarial venue: 8,000 rows of 10 seats, single free seats in a checkerboard.
    if (groups.includes('shortRows')) {
      const shortMeasure = await venue(3, shortRowsVenue());
      figures.shortRows = [
        await shortMeasure('short rows, empty, filling, 2 together', empty, { quantity: 2, together: true }, fills),
        await shortMeasure('short rows, checkerboard, 2 together (ADJACENT_ROWS, no aligned placement)', checkerboard, {
          quantity: 2,
          together: true,
        }),
        await shortMeasure('short rows, checkerboard, 20 together (ADJACENT_ROWS in 20 rows)', checkerboard, {
          quantity: 20,
          together: true,
        }),
        await shortMeasure('short rows, checkerboard, 20, together: false', checkerboard, {
          quantity: 20,
          together: false,
        }),
        await shortMeasure('short rows, near-full, 4 together (nothing fits)', nearFull, {
          quantity: 4,
          together: true,
        }),
        await shortMeasure('short rows, near-full, 20, together: false (SPLIT)', nearFull, {
          quantity: 20,
          together: false,
        }),
      ];
    }
    // The first search after seat-id holds took one seat of every row (their refresh deferred).
    if (groups.includes('deferred')) {
      const deferred = async (performanceId, deferredPlaces, name, rounds = 5) => {
        const keys = b.performanceKeys(performanceId);
        const layout = b.buildSeatingLayout(deferredPlaces);
        await writeVenue(redis, keys, deferredPlaces, layout);
        const times = [];
        const arrangements = new Set();
        let listed = 0;
        for (let round = 0; round < rounds; round += 1) {
          await setSeats(redis, b, keys, deferredPlaces, layout, () => 'A');
          await redis.hdel(keys.seating, 'dirty');
          const pipeline = redis.pipeline();
          let first = 0;
          for (const seats of layout.rowSizes) {
            const userId = randomUUID();
            const holdId = randomUUID();
            const head = { holdId, userId, performanceId, lifetimeMs: 300_000, userLimit: 20, retentionMs: 60_000 };
            const seatKeys = b.holdScriptKeys(keys, head, []);
            const seatId = deferredPlaces[first + Math.floor(seats / 2)].id;
            pipeline.seatHold(seatKeys.length, ...seatKeys, ...b.holdScriptArgs(head), seatId);
            first += seats;
          }
          await pipeline.exec();
          listed = ((await redis.hget(keys.seating, 'dirty')) ?? '').split(',').filter(Boolean).length;
          const call = holdCall(b, keys, {
            performanceId,
            userId: randomUUID(),
            holdId: randomUUID(),
            quantity: 2,
            together: true,
            lifetimeMs: 300_000,
          });
          const [micros, answer] = await redis.worstHold(call.keys.length, ...call.keys, ...call.args);
          times.push(micros / 1000);
          arrangements.add(answer[0] === 'OK' ? answer[4] : answer[0]);
        }
        return caseFigures(`${name} (${listed} rows refreshed first)`, times, arrangements);
      };
      figures.deferred = [
        await deferred(4, places, 'after a seat-id hold in every row, 2 together'),
        await deferred(5, shortRowsVenue(), 'short rows, after a seat-id hold in every row, 2 together'),
      ];
    }
    return figures;
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
  const figures = await bestAvailableWorstCase({
    redisUrl: process.argv[2],
    ...(process.argv[3] ? { groups: process.argv[3].split(',') } : {}),
  });
  console.log(JSON.stringify(figures, null, 2));
}
