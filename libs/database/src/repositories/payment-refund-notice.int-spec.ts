import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertShow, insertUser, openMigratedDatabase } from '@app/testing';
import { AccountDeletionsRepository } from './account-deletions.repository';
import { PaymentAttemptsRepository } from './payment-attempts.repository';

/**
 * The reconciliation's refund notice (`payment-refunded:<purchase id>`, writeRefundNotice) goes to
 * a live buyer only: a deleted account (its row kept, anonymised to `deleted-<id>@invalid`) gets
 * none, as docs/purchases.md promises ("none … when the buyer's account is gone"). An account can be
 * deleted while its attempt awaits the reconciler's second look (DECLINED with `recheck_at`: not a
 * payment in progress for the deletion), whose `recheck_refunded` then writes the notice.
 */
describe('refund notice of a deleted account (real PostgreSQL)', () => {
  let db: DataSource;
  let close: () => Promise<void>;
  let attempts: PaymentAttemptsRepository;
  let deletions: AccountDeletionsRepository;
  let performanceId: number;

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    attempts = new PaymentAttemptsRepository(db);
    deletions = new AccountDeletionsRepository(db);
    ({ performanceId } = await insertShow(db));
  });
  afterAll(() => close?.());

  /** An attempt of `userId` with no purchase in PostgreSQL, settled DECLINED awaiting its second look. */
  const attemptAwaitingRecheck = async (userId: string): Promise<string> => {
    const id = randomUUID();
    await db.query(
      `INSERT INTO payment_attempts
         (purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, status,
          resolved_at, recheck_at)
       VALUES ($1, $2, $3, $4, 1000, 'KRW', $5, 'DECLINED', now(), now())`,
      [id, randomUUID(), userId, performanceId, id],
    );
    return id;
  };

  const noticeRows = async (purchaseId: string) =>
    (await db.query(`SELECT payload FROM outbox WHERE message_id = $1`, [`payment-refunded:${purchaseId}`])) as {
      payload: { email: string };
    }[];

  it("writes the notice to a live buyer's address", async () => {
    const userId = await insertUser(db, 'live@example.test', 'Live');
    const purchaseId = await attemptAwaitingRecheck(userId);
    const written = await db.transaction((manager) =>
      attempts.writeRefundNotice(manager, purchaseId, 1000, 'payment.refunded'),
    );
    expect(written).toBe(true);
    expect((await noticeRows(purchaseId)).map((row) => row.payload.email)).toEqual(['live@example.test']);
  });

  it('writes none for an account deleted since (no e-mail to deleted-<id>@invalid)', async () => {
    const userId = await insertUser(db, 'gone@example.test', 'Gone');
    const purchaseId = await attemptAwaitingRecheck(userId);
    await db.transaction(async (manager) => {
      await deletions.lock(userId, manager);
      await deletions.anonymise(userId, 'not-a-hash', manager);
    });
    const written = await db.transaction((manager) =>
      attempts.writeRefundNotice(manager, purchaseId, 1000, 'payment.refunded'),
    );
    expect(await noticeRows(purchaseId)).toEqual([]);
    expect(written).toBe(false);
  });
});
