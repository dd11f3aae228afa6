import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { PerformanceReschedulesRepository } from '@app/database';
import { createSession, TestSession, waitForValue } from '@app/testing';
import { RescheduleNotices } from '@app/ticketing';
import { createPerformance, flushPurchases } from './purchase-helpers';
import { purchaseMail, startWindowMailStack, WindowMailStack } from './support/mail';
import { completeBulkRefund } from './support/bulk-refund';

/**
 * Box office sales (paid in cash or on the card terminal at the window, never through the gateway)
 * and their refunds: canceled with their show, the refund is owed at the window (the notice says to
 * bring the tickets there, the sales report counts it owed, operators list it and mark it paid once);
 * refunded by an operator, the notice says the money was given back at the window; moved, the
 * notice says to contact the box office (its buyer cannot cancel it). Real PostgreSQL, Redis,
 * RabbitMQ; the relay and mailer in process, a test SMTP server.
 */
describe('window refunds (box office sale → bulk refund / operator refund → outbox → RabbitMQ → mailer → SMTP)', () => {
  let { smtp, api, mailer, admin, call, close, staff } = {} as WindowMailStack;
  let secondAdmin: TestSession;

  beforeAll(async () => {
    ({ smtp, api, mailer, admin, call, close, staff } = await startWindowMailStack('window-refunds@example.test'));
    secondAdmin = await createSession(api.app, { role: Role.Admin });
  });
  afterAll(async () => {
    await mailer?.close();
    await close?.();
  });

  const mailOf = (address: string, what: string, id: string) => purchaseMail(smtp, address, what, id);

  async function sell(
    performanceId: number,
    seatIds: number[],
    paymentMethod: 'CASH' | 'CARD_TERMINAL',
    email: string,
  ): Promise<string> {
    const sold = await call('POST', `/box-office/performances/${performanceId}/sales`, {
      body: { seatIds, paymentMethod, email, name: 'Jin Park' },
      session: staff,
    });
    expect(sold.statusCode, sold.body).toBe(201);
    return sold.json().id as string;
  }

  it('counts a window sale refunded at the window before its show was canceled as refunded in the cancellation progress', async () => {
    const show = await createPerformance(api.app, admin, 10, { price: 1000, currency: 'EUR' });
    const refundedSale = await sell(show.id, [show.seatIds[0]], 'CASH', 'early.refund@example.test');
    await sell(show.id, [show.seatIds[1]], 'CARD_TERMINAL', 'owed.refund@example.test');
    await flushPurchases(api.app);
    const refunded = await call('POST', `/admin/purchases/${refundedSale}/refund`, { session: admin, body: {} });
    expect(refunded.statusCode, refunded.body).toBe(200);
    const canceled = await call('POST', `/admin/performances/${show.id}/cancel`, { session: admin, body: {} });
    expect(canceled.statusCode, canceled.body).toBe(202);
    await completeBulkRefund(api.app);
    // Every purchase of the show in a figure: the sale given back at the window before, and the one
    // owed there now (money trial L1: the first was in none).
    const progress = await call('GET', `/admin/performances/${show.id}/cancellation`, { session: admin });
    expect(progress.json()).toMatchObject({ status: 'COMPLETED', remaining: 0, refunded: 1, owedAtWindow: 1 });
  });

  it("tells a moved show's window buyer to contact the box office, not to cancel; a canceled show's to collect the refund there, owed until marked paid once", async () => {
    const show = await createPerformance(api.app, admin, 10, { price: 2275, currency: 'EUR' });
    const cashSale = await sell(show.id, show.seatIds.slice(0, 2), 'CASH', 'cash.buyer@example.test');
    const cardSale = await sell(show.id, [show.seatIds[2]], 'CARD_TERMINAL', 'card.buyer@example.test');
    await flushPurchases(api.app);
    await mailOf('cash.buyer@example.test', 'purchase-completed', cashSale);
    await mailOf('card.buyer@example.test', 'purchase-completed', cardSale);

    const moved = await call('PATCH', `/performances/${show.id}`, {
      session: admin,
      body: { startsAt: '2030-03-02T19:00:00Z' },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    const notices = new RescheduleNotices(api.app.get(PerformanceReschedulesRepository));
    while ((await notices.queueOnce(10)) !== null);
    const newDate = await waitForValue(
      () =>
        smtp.received.find(
          (mail) => mail.to.includes('cash.buyer@example.test') && mail.subject.startsWith('New date:'),
        ),
      'the new-date notice of the cash sale',
      { timeoutMs: 30_000 },
    );
    expect(newDate.text).toContain(
      'If you cannot come then, contact the box office where you bought the tickets about a refund.',
    );
    expect(newDate.text).not.toContain('you may cancel');

    const canceled = await call('POST', `/admin/performances/${show.id}/cancel`, {
      session: admin,
      body: { reason: 'The artist is ill.' },
    });
    expect(canceled.statusCode, canceled.body).toBe(202);
    await completeBulkRefund(api.app);

    const cashNotice = await mailOf('cash.buyer@example.test', 'purchase-canceled', cashSale);
    expect(cashNotice.text).toContain(
      'Bring your tickets or receipt to the box office for a refund of €45.50, paid back in cash.',
    );
    expect(cashNotice.text).toContain('The performance was canceled: The artist is ill.');
    expect(cashNotice.text).not.toContain('amount refunded');
    expect(cashNotice.html).toContain('for a refund of €45.50');
    const cardNotice = await mailOf('card.buyer@example.test', 'purchase-canceled', cardSale);
    expect(cardNotice.text).toContain(
      'Bring your tickets or receipt to the box office for a refund of €22.75, refunded to the card you paid with.',
    );
    expect(cardNotice.text).not.toContain('amount refunded');

    const progress = await call('GET', `/admin/performances/${show.id}/cancellation`, { session: admin });
    expect(progress.json()).toMatchObject({ status: 'COMPLETED', remaining: 0, refunded: 0, owedAtWindow: 2 });
    const owedReport = (await call('GET', `/performances/${show.id}/sales`, { session: admin })).json();
    expect(owedReport.totals).toMatchObject({
      cashRevenue: 0,
      cardTerminalRevenue: 0,
      boxOfficeCancellations: 2,
      windowRefundsOwed: 2,
      cashRefundsOwed: 4550,
      cardTerminalRefundsOwed: 2275,
      windowRefundsPaid: 0,
      cashRefundsPaid: 0,
      cardTerminalRefundsPaid: 0,
    });

    // Two pages of one, oldest owed first; the cursor keeps the filter.
    const first = await call('GET', `/admin/performances/${show.id}/window-refunds?status=OWED&limit=1`, {
      session: admin,
    });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().items).toHaveLength(1);
    const second = await call(
      'GET',
      `/admin/performances/${show.id}/window-refunds?status=OWED&limit=1&cursor=${first.json().nextCursor}`,
      { session: admin },
    );
    expect(second.statusCode, second.body).toBe(200);
    const owed = [...first.json().items, ...second.json().items];
    expect(owed.map((refund: { purchaseId: string }) => refund.purchaseId).sort()).toEqual([cashSale, cardSale].sort());
    expect(owed.find((refund: { purchaseId: string }) => refund.purchaseId === cashSale)).toMatchObject({
      performanceId: show.id,
      amount: 4550,
      currency: 'EUR',
      refundMethod: 'CASH',
      status: 'OWED',
      paidAt: null,
      paidBy: null,
      buyerEmail: 'cash.buyer@example.test',
      buyerName: 'Jin Park',
    });
    const otherFilter = await call(
      'GET',
      `/admin/performances/${show.id}/window-refunds?status=PAID&cursor=${first.json().nextCursor}`,
      { session: admin },
    );
    expect(otherFilter.statusCode).toBe(400);

    // Two admins mark the cash refund paid at once: one wins, the other is told it was paid.
    const marks = await Promise.all(
      [admin, secondAdmin].map((session) =>
        call('POST', `/admin/purchases/${cashSale}/window-refund/paid`, { session }),
      ),
    );
    expect(marks.map((mark) => mark.statusCode).sort()).toEqual([200, 409]);
    const won = marks.find((mark) => mark.statusCode === 200)!.json();
    expect(won).toMatchObject({ purchaseId: cashSale, status: 'PAID', amount: 4550, refundMethod: 'CASH' });
    expect(marks.find((mark) => mark.statusCode === 409)!.json()).toMatchObject({
      message: 'this window refund has already been paid',
      details: { paidBy: won.paidBy.email, paidAt: won.paidAt },
    });
    const audit = await call('GET', `/admin/audit-log?purchaseId=${cashSale}&action=purchase.window-refund-paid`, {
      session: admin,
    });
    expect(audit.statusCode, audit.body).toBe(200);
    expect(audit.json().items).toHaveLength(1);
    expect(audit.json().items[0]).toMatchObject({
      actorEmail: won.paidBy.email,
      details: { amount: 4550, currency: 'EUR', refundMethod: 'CASH', performanceId: show.id },
    });

    const paidReport = (await call('GET', `/performances/${show.id}/sales`, { session: admin })).json();
    expect(paidReport.totals).toMatchObject({
      windowRefundsOwed: 1,
      cashRefundsOwed: 0,
      cardTerminalRefundsOwed: 2275,
      windowRefundsPaid: 1,
      cashRefundsPaid: 4550,
      cardTerminalRefundsPaid: 0,
    });
    const paidProgress = await call('GET', `/admin/performances/${show.id}/cancellation`, { session: admin });
    expect(paidProgress.json()).toMatchObject({ refunded: 1, owedAtWindow: 1 });
    const stillOwed = await call('GET', `/admin/performances/${show.id}/window-refunds?status=OWED`, {
      session: admin,
    });
    expect(stillOwed.json().items.map((refund: { purchaseId: string }) => refund.purchaseId)).toEqual([cardSale]);
  });

  it('refuses to mark what is not owed at the window: an unknown purchase, an unknown performance, a bad status', async () => {
    const unknown = await call('POST', '/admin/purchases/00000000-0000-4000-8000-000000000000/window-refund/paid', {
      session: admin,
    });
    expect(unknown.statusCode).toBe(404);
    expect((await call('GET', '/admin/performances/999999/window-refunds', { session: admin })).statusCode).toBe(404);
    const show = await createPerformance(api.app, admin, 2);
    const bad = await call('GET', `/admin/performances/${show.id}/window-refunds?status=LOST`, { session: admin });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toEqual(['status must be one of OWED, PAID']);
  });

  it("says an operator's refund at the window was given back there: in cash, or to the card on the terminal", async () => {
    const show = await createPerformance(api.app, admin, 10, { price: 2275, currency: 'EUR' });
    const cashSale = await sell(show.id, show.seatIds.slice(0, 2), 'CASH', 'partial.buyer@example.test');
    const cardSale = await sell(show.id, [show.seatIds[2]], 'CARD_TERMINAL', 'whole.buyer@example.test');
    await flushPurchases(api.app);
    await mailOf('partial.buyer@example.test', 'purchase-completed', cashSale);
    await mailOf('whole.buyer@example.test', 'purchase-completed', cardSale);

    const partial = await call('POST', `/admin/purchases/${cashSale}/refund`, {
      session: admin,
      body: { seatIds: [show.seatIds[0]] },
    });
    expect(partial.statusCode, partial.body).toBe(200);
    const whole = await call('POST', `/admin/purchases/${cardSale}/refund`, { session: admin });
    expect(whole.statusCode, whole.body).toBe(200);
    await flushPurchases(api.app);

    const partialNotice = await waitForValue(
      () =>
        smtp.received.find(
          (mail) =>
            mail.to.includes('partial.buyer@example.test') && mail.messageIdHeader.includes('purchase-refunded.'),
        ),
      'the partial refund notice',
      { timeoutMs: 30_000 },
    );
    expect(partialNotice.text).toContain('€22.75 was given back to you in cash at the box office.');
    expect(partialNotice.text).not.toContain('on its way back');
    const wholeNotice = await mailOf('whole.buyer@example.test', 'purchase-canceled', cardSale);
    expect(wholeNotice.text).toContain(
      'was canceled by the box office: €22.75 was refunded to your card on the box office card terminal.',
    );
    expect(wholeNotice.text).not.toContain('Bring your tickets');

    // Given back as they were made: nothing owed, both counted paid, the partial one as the whole one.
    const report = (await call('GET', `/performances/${show.id}/sales`, { session: admin })).json();
    expect(report.totals).toMatchObject({
      windowRefundsOwed: 0,
      windowRefundsPaid: 2,
      cardTerminalRefundsPaid: 2275,
      cashRefundsPaid: 2275,
      cashRevenue: 2275,
    });
    const list = await call('GET', `/admin/performances/${show.id}/window-refunds`, { session: admin });
    expect(list.json().items).toEqual([]);
  });
});
