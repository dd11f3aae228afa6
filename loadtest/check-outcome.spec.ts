import { describe, expect, it } from 'vitest';
import { checkOutcome, holdRate, LoadOutcome } from './check-outcome.mjs';

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
    emailDeliveries: [{ purchaseId: 'p1' }, { purchaseId: 'p2' }, { purchaseId: 'p3' }],
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
    didNot.dbActiveTickets.push({ seatId: 4, purchaseId: 'p3' });
    didNot.redisCounts = { total: 10, available: 5, held: 1, sold: 4 };
    expect(failing(didNot)).toEqual([]);
  });

  it('fails on a missing or a second e-mail', () => {
    const none = goodOutcome();
    none.emailDeliveries.shift();
    expect(failing(none)).toEqual(['one e-mail per purchase']);
    const twice = goodOutcome();
    twice.emailDeliveries.push({ purchaseId: 'p1' });
    expect(failing(twice)).toEqual(['one e-mail per purchase']);
  });

  it('takes one cancellation notice after the confirmation of a canceled purchase, and no other', () => {
    const noticed = goodOutcome();
    noticed.emailDeliveries.push({ purchaseId: 'p3', kind: 'cancellation' });
    expect(failing(noticed)).toEqual([]);
    // Canceled before its confirmation went out: neither mail.
    const early = goodOutcome();
    early.emailDeliveries = early.emailDeliveries.filter((mail) => mail.purchaseId !== 'p3');
    expect(failing(early)).toEqual([]);

    const paid = goodOutcome();
    paid.emailDeliveries.push({ purchaseId: 'p1', kind: 'cancellation' });
    expect(failing(paid)).toEqual(['one e-mail per purchase']);
    const twice = goodOutcome();
    twice.emailDeliveries.push({ purchaseId: 'p3', kind: 'cancellation' }, { purchaseId: 'p3', kind: 'cancellation' });
    expect(failing(twice)).toEqual(['one e-mail per purchase']);
    const unconfirmed = goodOutcome();
    unconfirmed.emailDeliveries = [
      { purchaseId: 'p1' },
      { purchaseId: 'p2' },
      { purchaseId: 'p3', kind: 'cancellation' },
    ];
    expect(failing(unconfirmed)).toEqual(['one e-mail per purchase']);
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

  describe('queue first', () => {
    const RATE = 'the hold route saw no more new buyers than the room admits';
    // One new buyer every 1000 / perSecond ms, from t0.
    const steady = (perSecond: number, count: number, t0 = 1_700_000_000_000) =>
      Array.from({ length: count }, (_, i) => t0 + Math.round((i * 1000) / perSecond));

    it('passes first holds at the admitted rate, and a queue-less run has no such check', () => {
      const queued = {
        ...goodOutcome(),
        queue: { admitPerSecond: 5, pollAfterSeconds: 1, firstHolds: steady(5, 150) },
      };
      const checks = checkOutcome(queued);
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      expect(checks.find((c) => c.name === RATE)?.detail).toContain('at most 50 new in 10 s');
      expect(checkOutcome(goodOutcome()).map((c) => c.name)).not.toContain(RATE);
    });

    it('allows one poll interval and a second of round trips of bunching and the bucket burst, not more', () => {
      // 5/s over 10 s + 1 s of polls + 1 s of round trips + a burst of 1: 61 may start in any 10 s.
      expect(holdRate({ admitPerSecond: 5, pollAfterSeconds: 1, firstHolds: steady(5, 30) })).toEqual({
        busiest: 30,
        allowed: 61,
        windowSeconds: 10,
      });
      const edge = { admitPerSecond: 5, pollAfterSeconds: 1, firstHolds: steady(6.1, 61) };
      expect(holdRate(edge).busiest).toBe(61);
      expect(failing({ ...goodOutcome(), queue: edge })).toEqual([]);
    });

    it('fails when buyers reach the hold route faster than the room admits', () => {
      const flood = {
        ...goodOutcome(),
        queue: { admitPerSecond: 5, pollAfterSeconds: 1, firstHolds: steady(50, 100) },
      };
      expect(failing(flood)).toEqual([RATE]);
      // The window slides: a burst straddling two whole windows is still caught.
      const burst = [...steady(1, 5), ...steady(100, 60, 1_700_000_004_500)];
      expect(
        failing({ ...goodOutcome(), queue: { admitPerSecond: 5, pollAfterSeconds: 1, firstHolds: burst } }),
      ).toEqual([RATE]);
      expect(holdRate({ admitPerSecond: 5, pollAfterSeconds: 1, firstHolds: burst, windowSeconds: 1 }).busiest).toBe(
        60,
      );
    });
  });
});
