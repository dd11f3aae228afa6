// How fast a `batch` process wrote purchases, read from PostgreSQL after the flush, for
// bench/flush.mjs and the flush phase of bench/run.mjs.
//
// Why not time it by polling `count(*)`: on a table of 20,000 purchases one count costs ~10 ms of
// a PostgreSQL backend on this 2-core machine, so polling it every 10–20 ms kept half a core busy
// counting while the batch and PostgreSQL wrote: the bench slowed down what it measured.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for the first purchase of `performanceIds` in PostgreSQL: one cheap indexed probe
 * (`EXISTS`) every `everyMs`; resolves with `Date.now()` when one is there, throws after `timeoutMs`.
 */
export async function waitForFirstRow(db, performanceIds, { everyMs = 10, timeoutMs = 300_000 } = {}) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const { rows } = await db.query(
      'SELECT EXISTS (SELECT 1 FROM purchases WHERE performance_id = ANY($1::int[])) AS any',
      [performanceIds],
    );
    if (rows[0].any) return Date.now();
    await sleep(everyMs);
  }
  throw new Error(`no purchase written within ${timeoutMs} ms`);
}

/**
 * Counts the purchases of `performanceIds` every `everyMs` (default 250 ms: a count of 20,000
 * rows costs ~10 ms) until there are at least `count`, or `timeoutMs` passed; answers the last count.
 */
export async function waitForRows(db, performanceIds, count, { everyMs = 250, timeoutMs = 300_000 } = {}) {
  const started = Date.now();
  let written = 0;
  while (Date.now() - started < timeoutMs) {
    const { rows } = await db.query('SELECT count(*)::int AS n FROM purchases WHERE performance_id = ANY($1::int[])', [
      performanceIds,
    ]);
    written = rows[0].n;
    if (written >= count) return written;
    await sleep(everyMs);
  }
  return written;
}

/**
 * The flush rate from the statements' own clocks: `persisted_at` is the start of the transaction
 * that wrote a purchase (one per flush statement). Answers `{ rows, seconds, rate }`: the
 * purchases of the statements started from the first statement's start up to (not including) the
 * last's, over that time. So neither the process start-up nor the wait for the last commit is
 * counted, and the polling interval does not matter. `rate` is null with fewer than two statements.
 */
export async function flushRate(db, performanceIds) {
  const { rows } = await db.query(
    `WITH bounds AS (
       SELECT min(persisted_at) AS first, max(persisted_at) AS last
       FROM purchases WHERE performance_id = ANY($1::int[])
     )
     SELECT extract(epoch FROM b.last - b.first)::float8 AS seconds,
            (SELECT count(*)::int FROM purchases p
             WHERE p.performance_id = ANY($1::int[]) AND p.persisted_at >= b.first AND p.persisted_at < b.last) AS rows
     FROM bounds b`,
    [performanceIds],
  );
  const { seconds, rows: timed } = rows[0];
  return { rows: timed, seconds, rate: seconds > 0 ? timed / seconds : null };
}
