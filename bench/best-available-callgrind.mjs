// The best-available script's cost in a Redis of its own, as instructions (valgrind callgrind)
// or Redis's own `INFO commandstats` µs per call, for one or more builds side by side (e.g.
// main's and a branch's), cases alternating between builds so both meet the same host. Each
// build's own scripts, seating layout and keys are used, so builds with different seating
// formats compare. Start the Redis first, with a free port from libs/testing's freePort:
//   (cd <dir> && valgrind --tool=callgrind --instr-atstart=no redis-server --port <port> --save '' --appendonly no --dir <dir>)
//   node bench/best-available-callgrind.mjs --redis redis://127.0.0.1:<port> --pid <redis pid> \
//     --dir <dir> [--cases best2,fill3,…] [--rounds 2] <dist/apps/api of build A> <… of build B>
// Without --pid only commandstats are read (a plain redis-server). Cases: best2 (the API bench's
// case: the generateLayout venue of 8 sections × 100 rows × 100 seats filled by parties of 2,
// 256 buyers in turn, each within 20 seats), then on bench/best-available-worst-case.mjs's venue
// fill2…fill8 (filling from empty by parties of that size), split, nofit and empty4 (its
// near-full and empty cases), adj6 and adj6x (parties of 6 in rows of runs of three seats, the
// runs of adjacent rows one behind the other or, adj6x, never: ADJACENT_ROWS's aligned search),
// short2x and short20x (parties of 2 and 20 on the worst-case bench's venue of 8,000 rows of 10
// seats, single free seats in a checkerboard: ADJACENT_ROWS without any aligned placement). Prints per case and build: instructions per call (callgrind) or
// µs per call (commandstats), and a digest of the answers (equal digests: the same seats).
import { createHash, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { callgrindControl, evalshaStats, lastDumpInstructions } from './callgrind-support.mjs';
import {
  holdCall,
  loadBuild,
  nearFull,
  setSeats,
  staggered,
  threes,
  worstVenue,
  shortRowsVenue,
  checkerboard,
  writeVenue,
} from './best-available-venue.mjs';

const options = {
  redis: 'redis://127.0.0.1:6379',
  rounds: '1',
  cases: 'best2,fill2,fill3,fill4,fill5,fill8,split,nofit,empty4,adj6,adj6x',
};
const roots = [];
for (let i = 2; i < process.argv.length; i += 1) {
  const arg = process.argv[i];
  if (arg.startsWith('--')) options[arg.slice(2)] = process.argv[++i];
  else roots.push(arg);
}

/** The API bench's venue: generateLayout's qualities, 8 sections × 100 rows × 100 seats. */
function benchVenue(b) {
  const sections = Array.from({ length: 8 }, (_, i) => ({
    name: `S${i + 1}`,
    grade: i < 2 ? 'VIP' : 'R',
    price: 150000,
    rows: 100,
    seatsPerRow: 100,
  }));
  const geometries = b.generateLayout(sections);
  const places = [];
  sections.forEach((section, s) => {
    for (let row = 1; row <= section.rows; row += 1) {
      for (let number = 1; number <= section.seatsPerRow; number += 1) {
        const at = (row - 1) * section.seatsPerRow + number - 1;
        places.push({
          id: 10_000_000 + places.length,
          section: section.name,
          row,
          number,
          grade: section.grade,
          quality: geometries[s].quality[at],
          accessible: false,
          companion: false,
        });
      }
    }
  });
  return places;
}

const CASES = {
  best2: { venue: 'bench', quantity: 2, together: true, holds: 2_500, buyers: 256 },
  fill2: { venue: 'worst', quantity: 2, together: true, holds: 1_000 },
  fill3: { venue: 'worst', quantity: 3, together: true, holds: 600 },
  fill4: { venue: 'worst', quantity: 4, together: true, holds: 600 },
  fill5: { venue: 'worst', quantity: 5, together: true, holds: 600 },
  fill8: { venue: 'worst', quantity: 8, together: true, holds: 600 },
  split: { venue: 'worst', letter: nearFull, quantity: 4, together: false, holds: 40 },
  nofit: { venue: 'worst', letter: nearFull, quantity: 4, together: true, holds: 40 },
  empty4: { venue: 'worst', quantity: 4, together: true, holds: 40 },
  adj6: { venue: 'worst', letter: threes, quantity: 6, together: true, holds: 40 },
  adj6x: { venue: 'worst', letter: staggered, quantity: 6, together: true, holds: 40 },
  short2x: { venue: 'short', letter: checkerboard, quantity: 2, together: true, holds: 40 },
  short20x: { venue: 'short', letter: checkerboard, quantity: 20, together: true, holds: 40 },
};

function callgrind(...args) {
  callgrindControl(options.pid, ...args);
}

async function runCase(b, name, caseSpec, prefix) {
  // --holds and --buyers override every case's (e.g. fewer calls under callgrind).
  const spec = { ...caseSpec };
  if (options.holds) spec.holds = Math.min(spec.holds, Number(options.holds));
  if (options.buyers && spec.buyers) spec.buyers = Number(options.buyers);
  const redis = new Redis(options.redis, { keyPrefix: prefix });
  const venues = { bench: () => benchVenue(b), worst: worstVenue, short: shortRowsVenue };
  const places = venues[spec.venue]();
  const layout = b.buildSeatingLayout(places);
  const performanceId = 1;
  const keys = b.performanceKeys(performanceId);
  try {
    await writeVenue(redis, keys, places, layout);
    await setSeats(redis, b, keys, places, layout, spec.letter ?? (() => 'A'));
    const sha = await redis.script('LOAD', b.hold);
    const buyers = Array.from({ length: spec.buyers ?? spec.holds }, () => randomUUID());
    const calls = [];
    for (let i = 0; i < spec.holds; i += 1) {
      const call = holdCall(b, keys, {
        performanceId,
        userId: buyers[i % buyers.length],
        holdId: randomUUID(),
        quantity: spec.quantity,
        together: spec.together,
        lifetimeMs: 3_600_000,
      });
      calls.push({ numKeys: call.keys.length, argv: [...call.keys, ...call.args] });
    }
    const digest = createHash('sha256');
    const before = await evalshaStats(redis);
    if (options.pid) callgrind('-i', 'on');
    for (const call of calls) {
      const answer = await redis.evalsha(sha, call.numKeys, ...call.argv);
      digest.update(answer[0] === 'OK' ? `${answer[4]}:${answer[5]};` : `${answer[0]};`);
    }
    if (options.pid) {
      callgrind('-i', 'off');
      callgrind('-d');
    }
    const after = await evalshaStats(redis);
    const row = {
      case: name,
      build: b.root,
      calls: spec.holds,
      usPerCall: (after.usec - before.usec) / (after.calls - before.calls),
      digest: digest.digest('hex').slice(0, 12),
    };
    if (options.pid) row.instructionsPerCall = Math.round(lastDumpInstructions(options.dir) / spec.holds);
    return row;
  } finally {
    if (!process.env.KEEP) await redis.flushdb();
    redis.disconnect();
  }
}

const builds = roots.map(loadBuild);
for (let round = 0; round < Number(options.rounds); round += 1) {
  for (const name of options.cases.split(',')) {
    for (const b of builds) {
      const row = await runCase(b, name, CASES[name], `cg${round}:`);
      console.log(JSON.stringify(row));
    }
  }
}
