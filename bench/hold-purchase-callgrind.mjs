// The seat-id hold's and the purchase's scripts (hold-seats.lua; claim-hold.lua and purchase.lua)
// counted in a Redis of their own, as instructions (valgrind callgrind) or Redis's own `INFO
// commandstats` µs per call, for one or more builds side by side (e.g. main's and a branch's),
// rounds alternating between builds so both meet the same host. Each build's own code sends the
// scripts (holdSeats, claimHold and purchaseHold of its dist, keys and arguments as HoldStore and
// PurchaseStore send them on a single Redis, the user's index included), so what is counted is
// what the api's calls cost Redis. Start the Redis first, with a free port from libs/testing's
// freePort, as for bench/best-available-callgrind.mjs:
//   (cd <dir> && valgrind --tool=callgrind --instr-atstart=no redis-server --port <port> --save '' --appendonly no --dir <dir>)
//   node bench/hold-purchase-callgrind.mjs --redis redis://127.0.0.1:<port> --pid <redis pid> \
//     --dir <dir> [--rounds 2] [--seats 1024] <dist/apps/api of build A> <… of build B>
// Without --pid only commandstats are read (a plain redis-server). It unlinks only its own keys
// (prefix hp<round>:) after each build's run.
//
// The shape is `npm run bench`'s (bench/run.mjs, holdPlan and benchPurchases): a performance of
// 256 rows × 4 seats (one section, 50,000 a seat, on sale), 256 buyers, its seats in a random
// order (seeded: every build meets the same), the k-th seat held alone by buyer k mod 256 (so
// each buyer ends with four live holds of the performance); then every hold claimed
// (claim-hold.lua) and then bought (purchase.lua), each phase counted on its own. One hold,
// claim and purchase on a performance of its own go first, not counted, so every counted call
// is an EVALSHA. Prints per round, build and script: instructions per call (callgrind) or µs per
// call, and a digest of the answers (equal digests: the same answers, times left out).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Redis from 'ioredis';
import { callgrindControl, evalshaStats, lastDumpInstructions } from './callgrind-support.mjs';
import { loadBuild, setSeats, writeVenue } from './best-available-venue.mjs';

const require = createRequire(import.meta.url);
const options = { rounds: '1', seats: '1024' };
const roots = [];
for (let i = 2; i < process.argv.length; i += 1) {
  const arg = process.argv[i];
  if (arg.startsWith('--')) options[arg.slice(2)] = process.argv[++i];
  else roots.push(arg);
}
if (!options.redis || roots.length === 0) {
  console.error(
    'usage: node bench/hold-purchase-callgrind.mjs --redis <url of a Redis of its own> [--pid …] <dist/apps/api> …',
  );
  process.exit(2);
}

const BUYERS = 256;
const SEATS_PER_ROW = 4;
const LIFETIME_MS = 600_000;
const RETENTION_MS = 3_600_000;
const LEASE_MS = 20_000;

/** Build `root`'s modules the calls use, beside best-available-venue.mjs's. */
function loadCalls(root) {
  const b = loadBuild(root);
  const { defineScripts } = require(join(root, 'libs/redis/src/lua-script.js'));
  const holds = require(join(root, 'libs/ticketing/src/holds/hold-scripts.js'));
  const purchases = require(join(root, 'libs/ticketing/src/purchases/purchase-scripts.js'));
  const keys = require(join(root, 'libs/ticketing/src/redis-keys.js'));
  return { ...b, defineScripts, holds, purchases, redisKeys: keys };
}

/** The bench's hold performance: one section of `seats / 4` rows × 4 seats, ids from `firstId`. */
function hall(seats, firstId) {
  const places = [];
  for (let i = 0; i < seats; i += 1) {
    places.push({
      id: firstId + i,
      section: 'Hall',
      row: Math.floor(i / SEATS_PER_ROW) + 1,
      number: (i % SEATS_PER_ROW) + 1,
      grade: 'R',
      quality: 1000 - Math.floor(i / SEATS_PER_ROW),
      accessible: false,
      companion: false,
    });
  }
  return places;
}

/** A seeded shuffle (mulberry32), the same order for every build. */
function shuffled(items, seed) {
  const out = [...items];
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function callgrind(...args) {
  callgrindControl(options.pid, ...args);
}

/** Runs `calls` (functions answering a promise of a digest line) one after another, counted. */
async function counted(redis, b, script, calls) {
  const digest = createHash('sha256');
  const before = await evalshaStats(redis);
  if (options.pid) callgrind('-i', 'on');
  for (const call of calls) digest.update(await call());
  if (options.pid) {
    callgrind('-i', 'off');
    callgrind('-d');
  }
  const after = await evalshaStats(redis);
  const row = {
    script,
    build: b.root,
    calls: calls.length,
    usPerCall: Number(((after.usec - before.usec) / (after.calls - before.calls)).toFixed(2)),
    digest: digest.digest('hex').slice(0, 12),
  };
  if (options.pid) row.instructionsPerCall = Math.round(lastDumpInstructions(options.dir) / calls.length);
  return row;
}

/** A venue of `seats` places on sale as performance `performanceId`, its seating data built. */
async function register(redis, b, performanceId, seats) {
  const places = hall(seats, performanceId * 100_000);
  const layout = b.buildSeatingLayout(places);
  const keys = b.performanceKeys(performanceId);
  await writeVenue(redis, keys, places, layout);
  await setSeats(redis, b, keys, places, layout, () => 'A');
  // As a registration writes it (seat-state.store.ts, lifecycleFields): the sales window's end.
  const day = 86_400_000;
  await redis.hset(keys.meta, 'salesCloseAt', Date.now() + 30 * day, 'cancelUntil', Date.now() + 29 * day);
  await redis.hset(keys.counts, 'total', seats, 'available', seats, 'held', 0, 'sold', 0, 'blocked', 0);
  return { keys, places };
}

/** A UUID made from `kind` and `n`: every build and round sends the same ids. */
function idOf(kind, n) {
  return `00000000-0000-4000-8${kind}00-${String(n).padStart(12, '0')}`;
}

function holdOf(b, redis, keys, performanceId, userId, seatId, holdId = idOf(2, seatId)) {
  const request = {
    holdId,
    userId,
    performanceId,
    lifetimeMs: LIFETIME_MS,
    userLimit: 20,
    retentionMs: RETENTION_MS,
    seatIds: [seatId],
    userIndex: {
      key: b.redisKeys.userHoldPerformancesKey(userId),
      until: Date.now() + LIFETIME_MS + 60_000,
    },
  };
  return { holdId, userId, run: () => b.holds.holdSeats(redis, keys, request) };
}

function claimOf(b, redis, keys, hold, purchaseId) {
  return () => b.purchases.claimHold(redis, keys, hold.holdId, { userId: hold.userId, purchaseId, leaseMs: LEASE_MS });
}

function purchaseOf(b, redis, keys, performanceId, hold, purchaseId) {
  const request = {
    holdId: hold.holdId,
    userId: hold.userId,
    purchaseId,
    chargeId: `ch_${purchaseId.slice(0, 12)}`,
    holdRetentionMs: RETENTION_MS,
  };
  const index = {
    key: b.redisKeys.userPurchasesKey(hold.userId),
    member: b.redisKeys.userPurchasesMember(performanceId, purchaseId),
  };
  return () => b.purchases.purchaseHold(redis, keys, request, index);
}

/**
 * A digest of what the calls left in Redis, times left out: every hold's and purchase's record,
 * the seat letters and holders, the counts, the buyers' holds and tickets, whether the buyers'
 * keys expire, and the stream's entries (equal digests: the same data).
 */
async function recordsDigest(redis, keys, holds, purchaseIds, buyers) {
  const times = new Set(['createdAt', 'expiresAt', 'endedAt', 'claimedUntil']);
  const digest = createHash('sha256');
  const fields = (record) =>
    Object.entries(record)
      .filter(([field]) => !times.has(field))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([field, value]) => `${field}=${value}`)
      .join('&');
  for (const [i, hold] of holds.entries()) {
    digest.update(`${fields(await redis.hgetall(keys.hold(hold.holdId)))};`);
    digest.update(`${fields(await redis.hgetall(keys.purchase(purchaseIds[i])))};`);
  }
  digest.update(fields(await redis.hgetall(keys.seats)));
  digest.update(String(Object.keys(await redis.hgetall(keys.seatHolds)).length));
  digest.update(fields(await redis.hgetall(keys.counts)));
  for (const buyer of buyers) {
    digest.update(fields(await redis.hgetall(keys.userHolds(buyer))));
    digest.update(`${(await redis.pttl(keys.userHolds(buyer))) > 0}`);
  }
  digest.update(fields(await redis.hgetall(keys.ticketsBought)));
  for (const [, entry] of await redis.xrange(keys.purchaseStream, '-', '+')) {
    const pairs = [];
    for (let f = 0; f < entry.length; f += 2) if (!times.has(entry[f])) pairs.push(`${entry[f]}=${entry[f + 1]}`);
    digest.update(`${pairs.join('&')};`);
  }
  return digest.digest('hex').slice(0, 12);
}

/** Unlinks this harness's keys (those under `prefix`), nothing else. */
async function dropPrefix(prefix) {
  const raw = new Redis(options.redis);
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await raw.unlink(...keys);
  } while (cursor !== '0');
  raw.disconnect();
}

async function runBuild(b, round) {
  const redis = new Redis(options.redis, { keyPrefix: `hp${round}:` });
  b.defineScripts(redis, [b.holds.HOLD_SEATS, b.purchases.CLAIM_HOLD, b.purchases.PURCHASE]);
  const seats = Number(options.seats);
  const buyers = Array.from({ length: BUYERS }, (_, k) => idOf(1, k));
  try {
    // Not counted: each script's first call on the connection is an EVAL.
    const warm = await register(redis, b, 1, SEATS_PER_ROW);
    const warmHold = holdOf(b, redis, warm.keys, 1, buyers[0], warm.places[0].id);
    await warmHold.run();
    const warmPurchase = idOf(3, 0);
    await claimOf(b, redis, warm.keys, warmHold, warmPurchase)();
    await purchaseOf(b, redis, warm.keys, 1, warmHold, warmPurchase)();

    const performanceId = 2;
    const { keys, places } = await register(redis, b, performanceId, seats);
    const order = shuffled(
      places.map((place) => place.id),
      42,
    );
    const holds = order.map((seatId, k) => holdOf(b, redis, keys, performanceId, buyers[k % BUYERS], seatId));
    const rows = [];
    rows.push(
      await counted(
        redis,
        b,
        'hold-seats',
        holds.map((hold) => async () => {
          const answer = await hold.run();
          return `${answer.outcome}:${answer.amount}:${answer.seatPrices};`;
        }),
      ),
    );
    const purchaseIds = holds.map((_, i) => idOf(4, i));
    rows.push(
      await counted(
        redis,
        b,
        'claim-hold',
        holds.map((hold, i) => async () => {
          const answer = await claimOf(b, redis, keys, hold, purchaseIds[i])();
          return `${answer.claim}:${answer.fields.filter((_, f) => f !== 2).join(',')}:${JSON.stringify(answer.sales)};`;
        }),
      ),
    );
    rows.push(
      await counted(
        redis,
        b,
        'purchase',
        holds.map((hold, i) => async () => {
          const answer = await purchaseOf(b, redis, keys, performanceId, hold, purchaseIds[i])();
          return `${answer.outcome}:${answer.seats}:${answer.amount}:${answer.currency}:${answer.prices};`;
        }),
      ),
    );
    rows.push({
      script: 'records',
      build: b.root,
      digest: await recordsDigest(redis, keys, holds, purchaseIds, buyers),
    });
    return rows;
  } finally {
    if (!process.env.KEEP) await dropPrefix(`hp${round}:`);
    redis.disconnect();
  }
}

const builds = roots.map(loadCalls);
for (let round = 0; round < Number(options.rounds); round += 1) {
  for (const b of builds) {
    for (const row of await runBuild(b, round)) console.log(JSON.stringify({ round, ...row }));
  }
}
