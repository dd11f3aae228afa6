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
 * @param {{purchaseId: string, kind?: 'confirmation' | 'cancellation'}[]} outcome.emailDeliveries e-mails
 *   recorded as sent (kind defaults to confirmation)
 * @param {{total: number, available: number, held: number, sold: number}} outcome.redisCounts
 * @param {number} outcome.serverErrors 5xx answers seen by the load generator
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

  // A paid purchase: one confirmation. A canceled one: none if it was canceled before its
  // confirmation went out, else the confirmation and one cancellation notice (P5).
  const mails = new Map();
  for (const { purchaseId, kind = 'confirmation' } of outcome.emailDeliveries) {
    const sent = mails.get(purchaseId) ?? { confirmation: 0, cancellation: 0 };
    sent[kind] += 1;
    mails.set(purchaseId, sent);
  }
  const mailProblems = [];
  for (const id of rowsById.keys()) {
    const { confirmation, cancellation } = mails.get(id) ?? { confirmation: 0, cancellation: 0 };
    const sent = `${confirmation} confirmations and ${cancellation} cancellation notices`;
    if (statusById.get(id) === 'CANCELED') {
      if (confirmation > 1 || cancellation !== confirmation) mailProblems.push(`canceled purchase ${id} has ${sent}`);
    } else if (confirmation !== 1 || cancellation !== 0) {
      mailProblems.push(`purchase ${id} has ${sent}`);
    }
  }
  add('e-mails once per purchase', mailProblems, `${outcome.emailDeliveries.length} e-mails`);

  const counts = outcome.redisCounts;
  const countProblems = [];
  if (counts.sold !== ticketSeats.size)
    countProblems.push(`Redis says ${counts.sold} sold, PostgreSQL ${ticketSeats.size}`);
  if (counts.available + counts.held + counts.sold !== counts.total) {
    countProblems.push(`Redis counts do not add up: ${JSON.stringify(counts)}`);
  }
  add('seat counts in Redis equal PostgreSQL', countProblems, `${counts.sold} sold of ${counts.total}`);

  add('no 5xx', outcome.serverErrors > 0 ? [`${outcome.serverErrors} answers were 5xx`] : [], '0 server errors');
  return checks;
}
