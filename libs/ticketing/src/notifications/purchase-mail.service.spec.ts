import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import {
  EmailDeliveriesRepository,
  PurchaseReceiptsRepository,
  PurchaseStatus,
  TransactionRunner,
} from '@app/database';
import type { CanceledBy, Clock } from '@app/core';
import {
  PURCHASE_CANCELED_TYPE,
  PURCHASE_RESCHEDULED_TYPE,
  PURCHASE_TICKETS_RESENT_TYPE,
  PurchaseCanceledMessage,
  PurchaseRescheduledMessage,
} from '@app/messaging/contracts';
import { RECEIPT } from '../../test/receipts';
import type { TicketCodes } from '../tickets/ticket-codes';
import type { Mailer } from './mailer.port';
import { PartialRefundNotWrittenError, PurchaseMailService, PurchaseNotPersistedError } from './purchase-mail.service';

const PURCHASE = RECEIPT.purchaseId;
const calledOffAt = new Date('2026-12-01T10:00:00.000Z');

const receipt = RECEIPT;

function mail(options: { confirmed: boolean; calledOff: boolean; status?: PurchaseStatus | null }) {
  const receipts = {
    findByPurchaseId: vi.fn(async () => ({
      ...receipt,
      performanceCancellation: options.calledOff ? { reason: 'ill', requestedAt: calledOffAt } : null,
    })),
  };
  const deliveries = {
    lockPurchaseMail: vi.fn(async () => (options.status === undefined ? PurchaseStatus.Canceled : options.status)),
    // Whether the confirmation was sent; no other message was.
    exists: vi.fn(async (_manager: unknown, messageId: string) =>
      messageId.startsWith('purchase-completed:') ? options.confirmed : false,
    ),
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
    { now: () => new Date('2026-12-20T00:00:00.000Z') } as Clock,
  );
  return { service, mailer, deliveries, receipts };
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
    expect(await service.deliverCancellation(message('buyer'), 'urgent')).toBe('sent');
    expect(mailer.send).toHaveBeenCalledOnce();
    const [[email]] = mailer.send.mock.calls as unknown as [[{ text: string; stream: string }]];
    expect(email.text).not.toContain('performance was canceled');
    // The mail queue it came through picks the Mailer's stream.
    expect(email.stream).toBe('urgent');
  });

  it("holds a notice back while PostgreSQL leaves more to refund than the cancel gave back (a partial refund's write to come)", async () => {
    const { service, mailer } = mail({ confirmed: true, calledOff: false });
    const early = { ...message('buyer'), amount: receipt.amount - 1 };
    await expect(service.deliverCancellation(early, 'urgent')).rejects.toBeInstanceOf(PartialRefundNotWrittenError);
    expect(mailer.send).not.toHaveBeenCalled();
    expect(await service.deliverCancellation({ ...early, amount: receipt.amount }, 'urgent')).toBe('sent');
  });

  it('sends nothing for an unconfirmed purchase its buyer canceled (P5)', async () => {
    const { service, mailer } = mail({ confirmed: false, calledOff: false });
    expect(await service.deliverCancellation(message('buyer'), 'urgent')).toBe('not-confirmed');
    expect(mailer.send).not.toHaveBeenCalled();
  });

  it('sends the notice, once, of an unconfirmed purchase canceled with its performance, speaking of no QR codes', async () => {
    const { service, mailer, deliveries } = mail({ confirmed: false, calledOff: true });
    expect(await service.deliverCancellation(message('performance'), 'bulk')).toBe('sent');
    expect(deliveries.claim).toHaveBeenCalledWith(expect.anything(), {
      messageId: `purchase-canceled:${PURCHASE}`,
      purchaseId: PURCHASE,
      recipient: 'ana@example.test',
    });
    const [[email]] = mailer.send.mock.calls as unknown as [[{ text: string }]];
    expect(email.text).toContain('The performance was canceled: ill');
    expect(email.text).toContain('No tickets will be issued for it.');
    deliveries.claim.mockResolvedValueOnce(false);
    expect(await service.deliverCancellation(message('performance'), 'bulk')).toBe('already-sent');
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
      expect(await service.deliverCancellation(message('buyer', calledOffAt.getTime() + offset), 'urgent')).toBe(
        'not-confirmed',
      );
      expect(await service.deliverCancellation(message('operator', calledOffAt.getTime() + offset), 'urgent')).toBe(
        'not-confirmed',
      );
      expect(mailer.send).not.toHaveBeenCalled();
    },
  );

  it('words the notice of a confirmed purchase its buyer canceled, of a performance canceled since, as the buyer’s', async () => {
    const { service, mailer } = mail({ confirmed: true, calledOff: true });
    expect(await service.deliverCancellation(message('buyer', calledOffAt.getTime() + 1_000), 'urgent')).toBe('sent');
    const [[email]] = mailer.send.mock.calls as unknown as [[{ text: string }]];
    expect(email.text).not.toContain('performance was canceled');
    expect(email.text).toContain('the QR codes of the confirmation are void');
  });

  it('words the notice by the performance for the bulk refund’s cancel, even with the clocks saying it came first', async () => {
    const { service, mailer } = mail({ confirmed: false, calledOff: true });
    expect(await service.deliverCancellation(message('performance', calledOffAt.getTime() - 3_600_000), 'bulk')).toBe(
      'sent',
    );
    const [[email]] = mailer.send.mock.calls as unknown as [[{ text: string }]];
    expect(email.text).toContain('The performance was canceled: ill');
  });

  it('reads a message without canceledBy (an older version’s) as the performance’s when it was canceled', async () => {
    const called = mail({ confirmed: false, calledOff: true });
    expect(await called.service.deliverCancellation(message(undefined), 'urgent')).toBe('sent');
    const only = mail({ confirmed: false, calledOff: false });
    expect(await only.service.deliverCancellation(message(undefined), 'urgent')).toBe('not-confirmed');
  });
});

const moved = (startsAt: Date): PurchaseRescheduledMessage => ({
  type: PURCHASE_RESCHEDULED_TYPE,
  purchaseId: PURCHASE,
  rescheduleId: '7',
  previousStartsAt: '2026-12-24T20:30:00.000Z',
  startsAt: startsAt.toISOString(),
});

describe('PurchaseMailService.deliverReschedule', () => {
  const paid = (told: Date | null) => {
    const setup = mail({ confirmed: true, calledOff: false, status: PurchaseStatus.Paid });
    Object.assign(setup.deliveries, { lastToldStartsAt: vi.fn(async () => told) });
    return setup;
  };

  it('sends a confirmed buyer the new date and the time they were last told, once, reading under the mail lock', async () => {
    const { service, mailer, deliveries, receipts } = paid(new Date('2026-12-20T20:30:00.000Z'));
    expect(await service.deliverReschedule(moved(receipt.performanceStartsAt), 'bulk')).toBe('sent');
    expect(deliveries.lockPurchaseMail.mock.invocationCallOrder[0]).toBeLessThan(
      receipts.findByPurchaseId.mock.invocationCallOrder[0],
    );
    expect(receipts.findByPurchaseId).toHaveBeenCalledWith(PURCHASE, expect.anything());
    expect(deliveries.claim).toHaveBeenCalledWith(expect.anything(), {
      messageId: `performance-rescheduled:7.${PURCHASE}`,
      purchaseId: PURCHASE,
      recipient: 'ana@example.test',
      startsAt: receipt.performanceStartsAt,
    });
    const [[email]] = mailer.send.mock.calls as unknown as [[{ subject: string; text: string; stream: string }]];
    expect(email.subject).toBe('New date: Rock Night');
    expect(email.stream).toBe('bulk');
    expect(email.text).toContain('it now starts Thursday, 31 December 2026, 20:30 UTC');
    expect(email.text).toContain('it was to start Sunday, 20 December 2026, 20:30 UTC');
    deliveries.claim.mockResolvedValueOnce(false);
    expect(await service.deliverReschedule(moved(receipt.performanceStartsAt), 'bulk')).toBe('already-sent');
    expect(mailer.send).toHaveBeenCalledOnce();
  });

  it('sends nothing when no e-mail tells what the buyer was told (a confirmation after every move)', async () => {
    const { service, mailer } = paid(null);
    expect(await service.deliverReschedule(moved(receipt.performanceStartsAt), 'bulk')).toBe('superseded');
    expect(mailer.send).not.toHaveBeenCalled();
  });

  it('counts a redelivered notice sent already as already-sent', async () => {
    const { service, mailer, deliveries } = paid(receipt.performanceStartsAt);
    deliveries.exists.mockResolvedValue(true);
    expect(await service.deliverReschedule(moved(receipt.performanceStartsAt), 'bulk')).toBe('already-sent');
    expect(mailer.send).not.toHaveBeenCalled();
  });

  it('sends nothing before the confirmation went out: the confirmation shows the new time', async () => {
    const { service, mailer } = mail({ confirmed: false, calledOff: false, status: PurchaseStatus.Paid });
    expect(await service.deliverReschedule(moved(receipt.performanceStartsAt), 'bulk')).toBe('not-confirmed');
    expect(mailer.send).not.toHaveBeenCalled();
  });

  it('sends nothing when not needed: the buyer was told the current start, or purchase or performance canceled', async () => {
    const told = paid(receipt.performanceStartsAt);
    expect(await told.service.deliverReschedule(moved(receipt.performanceStartsAt), 'bulk')).toBe('superseded');
    const canceled = mail({ confirmed: true, calledOff: false, status: PurchaseStatus.Canceled });
    expect(await canceled.service.deliverReschedule(moved(receipt.performanceStartsAt), 'bulk')).toBe('superseded');
    const calledOff = mail({ confirmed: true, calledOff: true, status: PurchaseStatus.Paid });
    expect(await calledOff.service.deliverReschedule(moved(receipt.performanceStartsAt), 'bulk')).toBe('superseded');
    for (const { mailer } of [told, canceled, calledOff]) expect(mailer.send).not.toHaveBeenCalled();
  });
});

describe('PurchaseMailService.deliver', () => {
  it('reads the purchase under its mail lock, so a notice handled before cannot leave it showing an old time', async () => {
    const { service, deliveries, receipts, mailer } = mail({
      confirmed: false,
      calledOff: false,
      status: PurchaseStatus.Canceled,
    });
    expect(await service.deliver({ purchaseId: PURCHASE } as never, 'urgent')).toBe('canceled');
    expect(receipts.findByPurchaseId).not.toHaveBeenCalled();
    expect(mailer.send).not.toHaveBeenCalled();
    deliveries.lockPurchaseMail.mockResolvedValueOnce(null as never);
    await expect(service.deliver({ purchaseId: PURCHASE } as never, 'urgent')).rejects.toThrow(/not in the database/);
  });
});

describe('PurchaseMailService.deliverResend', () => {
  const resend = {
    type: PURCHASE_TICKETS_RESENT_TYPE,
    purchaseId: PURCHASE,
    resendId: '5b0b2a3e-4c1d-4e5f-8a6b-7c8d9e0f1a2b',
    requestedBy: 'buyer',
  } as const;

  it.each([
    ['canceled since the request', PurchaseStatus.Canceled],
    ['left with no ticket to show (all transferred away)', PurchaseStatus.Paid],
  ] as const)('sends nothing for a purchase %s (superseded)', async (_, status) => {
    const { service, mailer, deliveries } = mail({ confirmed: true, calledOff: false, status });
    expect(await service.deliverResend(resend, 'urgent')).toBe('superseded');
    expect(deliveries.lockPurchaseMail).toHaveBeenCalledWith(expect.anything(), PURCHASE);
    expect(deliveries.claim).not.toHaveBeenCalled();
    expect(mailer.send).not.toHaveBeenCalled();
  });

  it('waits for a purchase not written yet (retried later)', async () => {
    const { service } = mail({ confirmed: false, calledOff: false, status: null });
    await expect(service.deliverResend(resend, 'urgent')).rejects.toBeInstanceOf(PurchaseNotPersistedError);
  });
});
