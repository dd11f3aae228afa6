import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { EmailDeliveriesRepository } from '@app/database';
import {
  FakeClock,
  insertShow,
  insertUser,
  MigratedDatabase,
  openMigratedDatabase,
  waitUntil,
  writePaidPurchase,
} from '@app/testing';
import { EmailDeliveryPruneLoop } from './email-delivery-prune.loop';

const DAY_MS = 24 * 3600_000;
const NOW = Date.parse('2031-05-01T12:00:00Z');
/** EMAIL_DELIVERY_RETENTION_DAYS=180: records sent before this may go. */
const CUTOFF = new Date(NOW - 180 * DAY_MS);
/** Sent long before the cutoff. */
const OLD = new Date(NOW - 400 * DAY_MS);
/** Sent within the retention. */
const RECENT = new Date(NOW - 10 * DAY_MS);

/**
 * EmailDeliveryPruneLoop on real PostgreSQL, EMAIL_DELIVERY_RETENTION_DAYS=180: two loops at once
 * (two batch processes) delete every record sent more than 180 days ago that no e-mail to come reads,
 * batch after batch, and keep what is still read: every purchase's confirmation, and the records of
 * a purchase or ticket transfer whose performance is not yet 180 days past (a move of it reads what
 * was told); a row a mailer holds locked is skipped, not waited for, and deleted by a later pass.
 */
describe('EmailDeliveryPruneLoop (real PostgreSQL)', () => {
  let { db, close } = {} as MigratedDatabase;
  /** Message ids that must stay, and those that must go, beside the bulk of old account e-mails. */
  const kept: string[] = [];
  const pruned: string[] = [];

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    const buyerId = await insertUser(db, 'buyer@example.test', 'Buyer');
    const holderId = await insertUser(db, 'holder@example.test', 'Holder', true);
    // Played a year ago, and played 120 days ago (within the retention).
    const past = await insertShow(db, { title: 'Past', startsAt: new Date(NOW - 365 * DAY_MS), seats: 2 });
    const recent = await insertShow(db, { title: 'Recent', startsAt: new Date(NOW - 120 * DAY_MS), seats: 2 });
    const pastBuy = await writePaidPurchase(db, { userId: buyerId, ...past });
    const recentBuy = await writePaidPurchase(db, { userId: buyerId, ...recent });
    const transferOf = async (ticketId: string): Promise<string> => {
      const id = randomUUID();
      await db.query(
        `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, expires_at)
         VALUES ($1, $2, $3, 'holder@example.test', 'holder@example.test', $4)`,
        [id, ticketId, buyerId, OLD],
      );
      return id;
    };
    const moveOf = async (performanceId: number): Promise<string> => {
      const [{ id }] = await db.query(
        `INSERT INTO performance_reschedules (performance_id, previous_starts_at, starts_at)
         SELECT id, starts_at, starts_at FROM performances WHERE id = $1 RETURNING id::text AS id`,
        [performanceId],
      );
      return id;
    };
    const pastTransfer = await transferOf(pastBuy.ticketIds[0]);
    const recentTransfer = await transferOf(recentBuy.ticketIds[0]);
    const pastMove = await moveOf(past.performanceId);
    const recentMove = await moveOf(recent.performanceId);

    const deliver = (list: string[], messageId: string, purchaseId: string | null, sentAt: Date) => {
      list.push(messageId);
      return db.query(
        `INSERT INTO email_deliveries (message_id, purchase_id, recipient, sent_at) VALUES ($1, $2, 'buyer@example.test', $3)`,
        [messageId, purchaseId, sentAt],
      );
    };
    // A purchase's confirmation stays with the purchase: a refund at any time asks whether it went out.
    await deliver(kept, `purchase-completed:${pastBuy.purchaseId}`, pastBuy.purchaseId, OLD);
    await deliver(kept, `purchase-completed:${recentBuy.purchaseId}`, recentBuy.purchaseId, OLD);
    // The purchase's other e-mails go once both they and the performance are past the retention.
    await deliver(pruned, `purchase-rescheduled:${pastMove}.${pastBuy.purchaseId}`, pastBuy.purchaseId, OLD);
    await deliver(pruned, `purchase-tickets-resent:${randomUUID()}`, pastBuy.purchaseId, OLD);
    await deliver(kept, `purchase-refunded:${randomUUID()}`, pastBuy.purchaseId, RECENT);
    await deliver(kept, `purchase-rescheduled:${recentMove}.${recentBuy.purchaseId}`, recentBuy.purchaseId, OLD);
    // A transfer's e-mails and a holder's new-date notices: by the performance of the ticket, or of the move.
    await deliver(pruned, `ticket-transfer-offered:${pastTransfer}`, null, OLD);
    await deliver(pruned, `ticket-transfer-rescheduled:${pastMove}.${pastTransfer}`, null, OLD);
    await deliver(pruned, `ticket-transfer-holder-rescheduled:${pastMove}.${holderId}`, null, OLD);
    await deliver(kept, `ticket-transfer-offered:${recentTransfer}`, null, OLD);
    await deliver(kept, `ticket-transfer-received:${recentTransfer}`, null, OLD);
    await deliver(kept, `ticket-transfer-rescheduled:${recentMove}.${recentTransfer}`, null, OLD);
    await deliver(kept, `ticket-transfer-holder-rescheduled:${recentMove}.${holderId}`, null, OLD);
    // Account e-mails and refunds of no purchase: by their own age only.
    await deliver(pruned, `account-notice:42`, null, OLD);
    await deliver(pruned, `payment-refunded:${randomUUID()}`, null, OLD);
    await deliver(kept, `password-reset:${randomUUID()}`, null, RECENT);
    await deliver(kept, `email-change:${randomUUID()}`, null, new Date(CUTOFF.getTime() + 3600_000));
    // The bulk: old account e-mails, three batches and more.
    await db.query(
      `INSERT INTO email_deliveries (message_id, purchase_id, recipient, sent_at)
       SELECT 'email-verification:' || gen_random_uuid(), NULL, 'someone@example.test', $1::timestamptz - make_interval(secs => i)
       FROM generate_series(1, 2300) AS i`,
      [CUTOFF],
    );
  });
  afterAll(() => close?.());

  const remaining = async (): Promise<string[]> =>
    (await db.query(`SELECT message_id FROM email_deliveries ORDER BY message_id`)).map(
      (row: { message_id: string }) => row.message_id,
    );
  const bulkLeft = async (): Promise<number> =>
    (await db.query(`SELECT count(*)::int AS n FROM email_deliveries WHERE message_id LIKE 'email-verification:%'`))[0]
      .n;

  it('deletes every old record no e-mail reads, from two processes at once, a locked one later, and keeps the rest', async () => {
    // A mailer's redelivery holding one old record: the passes skip it rather than wait.
    const locker = db.createQueryRunner();
    await locker.connect();
    await locker.startTransaction();
    const [locked] = await locker.query(
      `SELECT message_id FROM email_deliveries WHERE message_id LIKE 'email-verification:%' LIMIT 1 FOR UPDATE`,
    );

    const env = parseEnv({ EMAIL_DELIVERY_RETENTION_DAYS: '180' });
    const loops = [0, 1].map(
      () => new EmailDeliveryPruneLoop(new EmailDeliveriesRepository(db), new FakeClock(NOW), env),
    );
    try {
      for (const loop of loops) loop.start(50);
      await waitUntil(async () => (await bulkLeft()) === 1, 'every old record but the locked one deleted', 60_000);
      await waitUntil(
        async () => !(await remaining()).some((id) => pruned.includes(id)),
        'the old records no e-mail reads deleted',
        60_000,
      );
      expect(await remaining()).toEqual([...kept, locked.message_id].sort());
      await locker.commitTransaction();
      await waitUntil(async () => (await bulkLeft()) === 0, 'the locked record deleted once its mailer ended', 60_000);
    } finally {
      if (locker.isTransactionActive) await locker.rollbackTransaction();
      await locker.release();
      await Promise.all(loops.map((loop) => loop.stop()));
    }
    expect(await remaining()).toEqual([...kept].sort());
  });
});
