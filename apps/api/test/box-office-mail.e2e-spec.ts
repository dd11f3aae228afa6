import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPerformance, flushPurchases } from './purchase-helpers';
import { purchaseMail, startWindowMailStack, WindowMailStack } from './support/mail';

/**
 * The e-mails of a box office sale (`POST /box-office/performances/:id/sales`): with `email`, the
 * tickets (and a refund's notice) go to the walk-up's address, addressed to `name`; without, to the
 * selling account, as any purchase's go to its owner. Real PostgreSQL, Redis, RabbitMQ; the relay
 * and mailer in process, a test SMTP server.
 */
describe('box office sale e-mails (API → flusher → outbox → RabbitMQ → mailer → SMTP)', () => {
  let { smtp, api, mailer, admin, call, close, staff } = {} as WindowMailStack;
  let show: { id: number; seatIds: number[] };

  beforeAll(async () => {
    ({ smtp, api, mailer, admin, call, close, staff } = await startWindowMailStack('window-mail@example.test'));
    show = await createPerformance(api.app, admin, 10, { price: 700, currency: 'EUR' });
  });
  afterAll(async () => {
    await mailer?.close();
    await close?.();
  });

  const mailOf = (address: string, what: string, purchaseId: string) => purchaseMail(smtp, address, what, purchaseId);

  it("sends the tickets, with the codes the window printed, to the walk-up's address and name; a refund's notice follows them there", async () => {
    const sold = await call('POST', `/box-office/performances/${show.id}/sales`, {
      body: {
        seatIds: show.seatIds.slice(0, 2),
        paymentMethod: 'CASH',
        email: 'Walk.Up@Example.test',
        name: 'Jin Park',
      },
      session: staff,
    });
    expect(sold.statusCode, sold.body).toBe(201);
    const sale = sold.json() as { id: string; tickets: { code: string }[] };
    await flushPurchases(api.app);
    const mail = await mailOf('walk.up@example.test', 'purchase-completed', sale.id);
    expect(mail.text).toContain('Jin Park');
    for (const ticket of sale.tickets) expect(mail.text).toContain(ticket.code);
    expect(smtp.received.filter((received) => received.to.includes(staff.email))).toEqual([]);

    const refunded = await call('POST', `/admin/purchases/${sale.id}/refund`, { session: admin });
    expect(refunded.statusCode, refunded.body).toBe(200);
    await flushPurchases(api.app);
    const notice = await mailOf('walk.up@example.test', 'purchase-canceled', sale.id);
    expect(notice.text).toContain('Jin Park');
  });

  it('sends the tickets of a sale without an address to the selling account', async () => {
    const sold = await call('POST', `/box-office/performances/${show.id}/sales`, {
      body: { seatIds: [show.seatIds[5]], paymentMethod: 'CARD_TERMINAL' },
      session: staff,
    });
    expect(sold.statusCode, sold.body).toBe(201);
    await flushPurchases(api.app);
    const mail = await mailOf(staff.email, 'purchase-completed', sold.json().id);
    expect(mail.text).toContain(sold.json().tickets[0].code);
  });
});
