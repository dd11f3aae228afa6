import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import {
  EmailDeliveriesRepository,
  PurchaseReceipt,
  PurchaseReceiptsRepository,
  PurchaseStatus,
  TransactionRunner,
} from '@app/database';
import type { CanceledBy } from '@app/core';
import { PURCHASE_CANCELED_TYPE, PurchaseCanceledMessage } from '@app/messaging/contracts';
import type { TicketCodes } from '../tickets/ticket-codes';
import type { Mailer } from './mailer.port';
import { PurchaseMailService } from './purchase-mail.service';

const PURCHASE = '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f';
const calledOffAt = new Date('2026-12-01T10:00:00.000Z');

const receipt: PurchaseReceipt = {
  purchaseId: PURCHASE,
  status: PurchaseStatus.Canceled,
  buyerEmail: 'ana@example.test',
  buyerName: 'Ana',
  eventTitle: 'Rock Night',
  venue: 'Olympic Hall',
  timeZone: 'UTC',
  performanceStartsAt: new Date('2026-12-31T20:30:00.000Z'),
  amount: 198000,
  currency: 'KRW',
  purchasedAt: new Date('2026-11-25T12:00:00.000Z'),
  seats: [{ section: 'A', row: 3, rowLabel: 'C', number: 7 }],
  tickets: [],
  performanceCancellation: null,
};

function mail(options: { confirmed: boolean; calledOff: boolean }) {
  const receipts = {
    findByPurchaseId: vi.fn(async () => ({
      ...receipt,
      performanceCancellation: options.calledOff ? { reason: 'ill', requestedAt: calledOffAt } : null,
    })),
  };
  const deliveries = {
    lockPurchaseMail: vi.fn(async () => PurchaseStatus.Canceled),
    exists: vi.fn(async () => options.confirmed),
    claim: vi.fn(async () => true),
    recordSent: vi.fn(async () => undefined),
  };
  const transactions = { run: vi.fn(async (work: (manager: unknown) => Promise<unknown>) => work({})) };
  const mailer = { send: vi.fn(async () => ({ smtpMessageId: 'smtp-1' })) };
  const service = new PurchaseMailService(
    receipts as unknown as PurchaseReceiptsRepository,
    deliveries as unknown as EmailDeliveriesRepository,
    transactions as unknown as TransactionRunner,
    mailer as unknown as Mailer,
    { MAIL_FROM: 'boxoffice <tickets@boxoffice.local>' } as Env,
    {} as TicketCodes,
  );
  return { service, mailer, deliveries };
}

/** A cancellation message by `canceledBy` (none: written by an older version), at `ms`. */
const message = (canceledBy: CanceledBy | undefined, ms = calledOffAt.getTime()): PurchaseCanceledMessage => ({
  type: PURCHASE_CANCELED_TYPE,
  purchaseId: PURCHASE,
  canceledAt: new Date(ms).toISOString(),
  ...(canceledBy ? { canceledBy } : {}),
});

describe('PurchaseMailService.deliverCancellation', () => {
  it('sends the notice of a confirmed purchase, saying nothing of the performance', async () => {
    const { service, mailer } = mail({ confirmed: true, calledOff: false });
    expect(await service.deliverCancellation(message('buyer'))).toBe('sent');
    expect(mailer.send).toHaveBeenCalledOnce();
    const [[email]] = mailer.send.mock.calls as unknown as [[{ text: string }]];
    expect(email.text).not.toContain('performance was canceled');
  });

  it('sends nothing for an unconfirmed purchase its buyer canceled (P5)', async () => {
    const { service, mailer } = mail({ confirmed: false, calledOff: false });
    expect(await service.deliverCancellation(message('buyer'))).toBe('not-confirmed');
    expect(mailer.send).not.toHaveBeenCalled();
  });

  it('sends the notice, once, of an unconfirmed purchase canceled with its performance, speaking of no QR codes', async () => {
    const { service, mailer, deliveries } = mail({ confirmed: false, calledOff: true });
    expect(await service.deliverCancellation(message('performance'))).toBe('sent');
    expect(deliveries.claim).toHaveBeenCalledWith(expect.anything(), {
      messageId: `purchase-canceled:${PURCHASE}`,
      purchaseId: PURCHASE,
      recipient: 'ana@example.test',
    });
    const [[email]] = mailer.send.mock.calls as unknown as [[{ text: string }]];
    expect(email.text).toContain('The performance was canceled: ill');
    expect(email.text).toContain('No tickets will be issued for it.');
    deliveries.claim.mockResolvedValueOnce(false);
    expect(await service.deliverCancellation(message('performance'))).toBe('already-sent');
    expect(mailer.send).toHaveBeenCalledOnce();
  });

  // Whatever the two servers' clocks say: the time of the cancel is not read.
  it.each([
    ['a minute before', -60_000],
    ['a second before', -1_000],
    ['the same instant', 0],
    ['a second after (the clocks apart)', 1_000],
  ])(
    'sends nothing for an unconfirmed purchase its buyer canceled %s the performance was canceled',
    async (_, offset) => {
      const { service, mailer } = mail({ confirmed: false, calledOff: true });
      expect(await service.deliverCancellation(message('buyer', calledOffAt.getTime() + offset))).toBe('not-confirmed');
      expect(await service.deliverCancellation(message('operator', calledOffAt.getTime() + offset))).toBe(
        'not-confirmed',
      );
      expect(mailer.send).not.toHaveBeenCalled();
    },
  );

  it('words the notice of a confirmed purchase its buyer canceled, of a performance canceled since, as the buyer’s', async () => {
    const { service, mailer } = mail({ confirmed: true, calledOff: true });
    expect(await service.deliverCancellation(message('buyer', calledOffAt.getTime() + 1_000))).toBe('sent');
    const [[email]] = mailer.send.mock.calls as unknown as [[{ text: string }]];
    expect(email.text).not.toContain('performance was canceled');
    expect(email.text).toContain('the QR codes of the confirmation are void');
  });

  it('words the notice by the performance for the bulk refund’s cancel, even with the clocks saying it came first', async () => {
    const { service, mailer } = mail({ confirmed: false, calledOff: true });
    expect(await service.deliverCancellation(message('performance', calledOffAt.getTime() - 3_600_000))).toBe('sent');
    const [[email]] = mailer.send.mock.calls as unknown as [[{ text: string }]];
    expect(email.text).toContain('The performance was canceled: ill');
  });

  it('reads a message without canceledBy (an older version’s) as the performance’s when it was canceled', async () => {
    const called = mail({ confirmed: false, calledOff: true });
    expect(await called.service.deliverCancellation(message(undefined))).toBe('sent');
    const only = mail({ confirmed: false, calledOff: false });
    expect(await only.service.deliverCancellation(message(undefined))).toBe('not-confirmed');
  });
});
