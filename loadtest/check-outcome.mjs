// The correctness checks of a load run, as a pure function of what was observed, so the checker
// itself can be tested with doctored outcomes.

/**
 * @param {object} outcome
 * @param {{id: string, seatIds: number[]}[]} outcome.answeredPurchases every 201 purchase
 * @param {string[]} outcome.answeredCancels purchase ids answered 200 to a cancel
 * @param {string[]} [outcome.unansweredCancels] purchase ids whose cancel was sent but got no
 *   answer (still in flight when the run stopped): either state is right for them
 * @param {string[]} [outcome.unansweredPurchases] reservation ids whose purchase was sent but got
 *   no answer (still in flight when the run stopped): a purchase of theirs may exist
 * @param {{id: string, status: string, reservationId?: string}[]} outcome.dbPurchases purchases in PostgreSQL
 * @param {{seatId: number, purchaseId: string}[]} outcome.dbActiveTickets ACTIVE tickets in PostgreSQL
 * @param {{purchaseId: string, kind?: 'confirmation' | 'cancellation'}[]} outcome.emailDeliveries
 *   e-mails recorded as sent (a confirmation unless said otherwise)
 * @param {{total: number, available: number, held: number, sold: number}} outcome.redisCounts
 * @param {number} outcome.serverErrors 5xx answers seen by the load generator
 * @param {QueueOutcome} [outcome.queue] a queue-first run: the room's settings and when each
 *   admitted buyer first asked for a hold
 * @returns {{name: string, ok: boolean, detail: string}[]}
 */
export function checkOutcome(outcome) {
  const checks = [];
  const add = (name, problems, okDetail) =>
    checks.push({
      name,
      ok: problems.length === 0,
      detail: problems.length === 0 ? okDetail : problems.slice(0, 5).join('; '),
    });

  const statusById = new Map(outcome.dbPurchases.map((row) => [row.id, row.status]));
  const uncertain = new Set(outcome.unansweredCancels ?? []);
  const canceled = new Set([
    ...outcome.answeredCancels,
    ...[...uncertain].filter((id) => statusById.get(id) === 'CANCELED'),
  ]);
  const soldSeats = new Map();
  const doubleSold = [];
  for (const purchase of outcome.answeredPurchases) {
    if (canceled.has(purchase.id)) continue;
    for (const seat of purchase.seatIds) {
      if (soldSeats.has(seat)) doubleSold.push(`seat ${seat} answered to ${soldSeats.get(seat)} and ${purchase.id}`);
      soldSeats.set(seat, purchase.id);
    }
  }
  const ticketSeats = new Map();
  for (const ticket of outcome.dbActiveTickets) {
    if (ticketSeats.has(ticket.seatId)) {
      doubleSold.push(
        `seat ${ticket.seatId} has two active tickets (${ticketSeats.get(ticket.seatId)}, ${ticket.purchaseId})`,
      );
    }
    ticketSeats.set(ticket.seatId, ticket.purchaseId);
  }
  add('no seat sold twice', doubleSold, `${ticketSeats.size} seats sold, each once`);

  const rowsById = new Map();
  for (const row of outcome.dbPurchases) rowsById.set(row.id, (rowsById.get(row.id) ?? 0) + 1);
  const persisted = [];
  for (const purchase of outcome.answeredPurchases) {
    const count = rowsById.get(purchase.id) ?? 0;
    if (count !== 1) persisted.push(`purchase ${purchase.id} is in PostgreSQL ${count} times`);
    const expected = canceled.has(purchase.id) ? 'CANCELED' : 'PAID';
    if (count === 1 && statusById.get(purchase.id) !== expected) {
      persisted.push(`purchase ${purchase.id} is ${statusById.get(purchase.id)}, answered ${expected}`);
    }
  }
  const answeredIds = new Set(outcome.answeredPurchases.map((p) => p.id));
  const inFlight = new Set(outcome.unansweredPurchases ?? []);
  for (const row of outcome.dbPurchases) {
    if (!answeredIds.has(row.id) && !inFlight.has(row.reservationId ?? '')) {
      persisted.push(`purchase ${row.id} is in PostgreSQL but was never answered 201`);
    }
  }
  add('every 201 purchase in PostgreSQL exactly once', persisted, `${answeredIds.size} purchases, each once`);

  // A PAID purchase gets one confirmation. A canceled one gets its confirmation and then one
  // cancellation notice, or neither when it was canceled before the confirmation went out.
  const mails = new Map();
  for (const { purchaseId, kind = 'confirmation' } of outcome.emailDeliveries) {
    const sent = mails.get(purchaseId) ?? { confirmation: 0, cancellation: 0 };
    sent[kind] += 1;
    mails.set(purchaseId, sent);
  }
  const mailProblems = [];
  for (const id of rowsById.keys()) {
    const { confirmation, cancellation } = mails.get(id) ?? { confirmation: 0, cancellation: 0 };
    const ok =
      statusById.get(id) === 'CANCELED'
        ? confirmation <= 1 && cancellation <= confirmation
        : confirmation === 1 && cancellation === 0;
    if (!ok) {
      mailProblems.push(
        `${statusById.get(id)} purchase ${id} has ${confirmation} confirmations and ${cancellation} cancellation notices`,
      );
    }
  }
  add('one e-mail per purchase', mailProblems, `${outcome.emailDeliveries.length} e-mails`);

  const counts = outcome.redisCounts;
  const countProblems = [];
  if (counts.sold !== ticketSeats.size)
    countProblems.push(`Redis says ${counts.sold} sold, PostgreSQL ${ticketSeats.size}`);
  if (counts.available + counts.held + counts.sold !== counts.total) {
    countProblems.push(`Redis counts do not add up: ${JSON.stringify(counts)}`);
  }
  add('seat counts in Redis equal PostgreSQL', countProblems, `${counts.sold} sold of ${counts.total}`);

  add('no 5xx', outcome.serverErrors > 0 ? [`${outcome.serverErrors} answers were 5xx`] : [], '0 server errors');

  if (outcome.queue) {
    const { allowed, busiest, windowSeconds } = holdRate(outcome.queue);
    add(
      'the hold route saw no more new buyers than the room admits',
      busiest > allowed
        ? [
            `${busiest} new buyers held within ${windowSeconds} s, at most ${allowed} may (${outcome.queue.admitPerSecond}/s)`,
          ]
        : [],
      `${outcome.queue.firstHolds.length} buyers; at most ${busiest} new in ${windowSeconds} s (${(busiest / windowSeconds).toFixed(1)}/s, allowed ${allowed} at ${outcome.queue.admitPerSecond}/s)`,
    );
  }
  return checks;
}

/** Slack for the poll answer and the hold request between an admission and its first hold, s. */
const LATENCY_SECONDS = 1;

/**
 * @typedef {object} QueueOutcome
 * @property {number} admitPerSecond the room's setting
 * @property {number} pollAfterSeconds how long buyers wait between polls
 * @property {number[]} firstHolds epoch ms of each buyer's first hold request
 * @property {number} [windowSeconds] the sliding window the rate is judged over (default 10)
 */

/**
 * The most first holds within any sliding window, and how many the room's rate allows there.
 * A buyer notices its admission at its next poll, and its poll answer and hold request take
 * time, so first holds in a window come from admissions within the window, one poll interval
 * before it and a second of round trips (LATENCY_SECONDS); the room's token bucket adds a burst
 * of max(1, admitPerSecond / 5).
 * Allowed: floor(admitPerSecond × (window + pollAfter + LATENCY_SECONDS) + burst).
 * @param {QueueOutcome} queue
 * @returns {{busiest: number, allowed: number, windowSeconds: number}}
 */
export function holdRate(queue) {
  const windowSeconds = queue.windowSeconds ?? 10;
  const times = [...queue.firstHolds].sort((a, b) => a - b);
  let busiest = 0;
  for (let end = 0, start = 0; end < times.length; end += 1) {
    while (times[end] - times[start] >= windowSeconds * 1000) start += 1;
    busiest = Math.max(busiest, end - start + 1);
  }
  const burst = Math.max(1, queue.admitPerSecond / 5);
  const allowed = Math.floor(queue.admitPerSecond * (windowSeconds + queue.pollAfterSeconds + LATENCY_SECONDS) + burst);
  return { busiest, allowed, windowSeconds };
}
