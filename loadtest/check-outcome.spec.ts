import { describe, expect, it } from 'vitest';
import { checkOutcome, LoadOutcome } from './check-outcome.mjs';

function goodOutcome(): LoadOutcome {
  return {
    answeredPurchases: [
      { id: 'p1', seatIds: [1, 2] },
      { id: 'p2', seatIds: [3] },
      { id: 'p3', seatIds: [4] },
    ],
    answeredCancels: ['p3'],
    dbPurchases: [
      { id: 'p1', status: 'PAID' },
      { id: 'p2', status: 'PAID' },
      { id: 'p3', status: 'CANCELED' },
    ],
    dbActiveTickets: [
      { seatId: 1, purchaseId: 'p1' },
      { seatId: 2, purchaseId: 'p1' },
      { seatId: 3, purchaseId: 'p2' },
    ],
    emailDeliveries: [
      { purchaseId: 'p1' },
      { purchaseId: 'p2' },
      { purchaseId: 'p3' },
      { purchaseId: 'p3', kind: 'cancellation' },
    ],
    redisCounts: { total: 10, available: 6, held: 1, sold: 3 },
    serverErrors: 0,
  };
}

const failing = (outcome: LoadOutcome) =>
  checkOutcome(outcome)
    .filter((c) => !c.ok)
    .map((c) => c.name);

describe('load-run outcome checker', () => {
  it('passes a correct sale', () => {
    expect(checkOutcome(goodOutcome()).filter((c) => !c.ok)).toEqual([]);
  });

  it('fails when a seat was sold twice (two answers, or two active tickets)', () => {
    const answered = goodOutcome();
    answered.answeredPurchases.push({ id: 'p4', seatIds: [2] });
    answered.dbPurchases.push({ id: 'p4', status: 'PAID' });
    answered.emailDeliveries.push({ purchaseId: 'p4' });
    expect(failing(answered)).toContain('no seat sold twice');

    const tickets = goodOutcome();
    tickets.dbActiveTickets.push({ seatId: 3, purchaseId: 'p1' });
    expect(failing(tickets)).toContain('no seat sold twice');
  });

  it('fails when a 201 purchase is missing, duplicated, unexpected or in the wrong state', () => {
    const missing = goodOutcome();
    missing.dbPurchases = missing.dbPurchases.filter((p) => p.id !== 'p2');
    expect(failing(missing)).toContain('every 201 purchase in PostgreSQL exactly once');
    const doubled = goodOutcome();
    doubled.dbPurchases.push({ id: 'p1', status: 'PAID' });
    expect(failing(doubled)).toContain('every 201 purchase in PostgreSQL exactly once');
    const ghost = goodOutcome();
    ghost.dbPurchases.push({ id: 'p9', status: 'PAID', reservationId: 'r9' });
    expect(failing(ghost)).toContain('every 201 purchase in PostgreSQL exactly once');
    // …unless its purchase request was still in flight when the run stopped.
    ghost.unansweredPurchases = ['r9'];
    ghost.emailDeliveries.push({ purchaseId: 'p9' });
    expect(failing(ghost)).toEqual([]);
    const notCanceled = goodOutcome();
    notCanceled.dbPurchases[2].status = 'PAID';
    expect(failing(notCanceled)).toContain('every 201 purchase in PostgreSQL exactly once');
  });

  it('accepts either state for a cancel still in flight when the run stopped', () => {
    const happened = goodOutcome();
    happened.answeredCancels = [];
    happened.unansweredCancels = ['p3'];
    expect(failing(happened)).toEqual([]);

    const didNot = goodOutcome();
    didNot.answeredCancels = [];
    didNot.unansweredCancels = ['p3'];
    didNot.dbPurchases[2].status = 'PAID';
    didNot.emailDeliveries.pop();
    didNot.dbActiveTickets.push({ seatId: 4, purchaseId: 'p3' });
    didNot.redisCounts = { total: 10, available: 5, held: 1, sold: 4 };
    expect(failing(didNot)).toEqual([]);
  });

  it('fails on a missing or a second e-mail', () => {
    const none = goodOutcome();
    none.emailDeliveries.shift();
    expect(failing(none)).toEqual(['e-mails once per purchase']);
    const twice = goodOutcome();
    twice.emailDeliveries.push({ purchaseId: 'p1' });
    expect(failing(twice)).toEqual(['e-mails once per purchase']);
    const noticeOfPaid = goodOutcome();
    noticeOfPaid.emailDeliveries.push({ purchaseId: 'p2', kind: 'cancellation' });
    expect(failing(noticeOfPaid)).toEqual(['e-mails once per purchase']);
  });

  it('wants a cancellation notice exactly when a canceled purchase was confirmed', () => {
    const canceledFirst = goodOutcome();
    canceledFirst.emailDeliveries = canceledFirst.emailDeliveries.filter((d) => d.purchaseId !== 'p3');
    expect(failing(canceledFirst)).toEqual([]);
    const noNotice = goodOutcome();
    noNotice.emailDeliveries.pop();
    expect(failing(noNotice)).toEqual(['e-mails once per purchase']);
    const twoNotices = goodOutcome();
    twoNotices.emailDeliveries.push({ purchaseId: 'p3', kind: 'cancellation' });
    expect(failing(twoNotices)).toEqual(['e-mails once per purchase']);
  });

  it('fails when Redis and PostgreSQL disagree, or the counts do not add up', () => {
    const drift = goodOutcome();
    drift.redisCounts = { total: 10, available: 5, held: 1, sold: 4 };
    expect(failing(drift)).toEqual(['seat counts in Redis equal PostgreSQL']);
    const leak = goodOutcome();
    leak.redisCounts = { total: 10, available: 7, held: 1, sold: 3 };
    expect(failing(leak)).toEqual(['seat counts in Redis equal PostgreSQL']);
  });

  it('fails on any 5xx', () => {
    const errors = goodOutcome();
    errors.serverErrors = 2;
    expect(failing(errors)).toEqual(['no 5xx']);
  });
});
