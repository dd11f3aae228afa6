import { randomUUID } from 'node:crypto';
import { DataSource, DataSourceOptions } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertShow, insertUser, openMigratedDatabase } from '@app/testing';
import { PurchaseFlushBatch, PurchaseRecord, PurchaseRepository } from './purchase.repository';
import { DatabaseUnavailableError, raiseDatabaseUnavailable } from '../database-unavailable';
import { PurchaseStatus } from '../entities/purchase.entity';
import { Role } from '../entities/user.entity';
import { UsersRepository } from './users.repository';

/**
 * A batch write waits for a row lock held elsewhere (the payment reconciler holds an attempt
 * FOR UPDATE across its refund's gateway calls) only PURCHASE_BATCH_LOCK_TIMEOUT_MS, and runs
 * only PURCHASE_BATCH_STATEMENT_TIMEOUT_MS whatever else stalls it: then it fails, writing
 * nothing, and the same batch goes through once the stall is gone.
 */
describe('PurchaseRepository.writeBatch and row locks held elsewhere (real PostgreSQL)', () => {
  let db: DataSource;
  let close: () => Promise<void>;
  let userId: string;
  let performanceId: number;

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    userId = await insertUser(db, 'buyer@example.test', 'Buyer');
    ({ performanceId } = await insertShow(db));
  });
  afterAll(() => close?.());

  /** A purchase without seats, and its PENDING payment attempt in the database. */
  const purchaseWithAttempt = async (): Promise<PurchaseRecord> => {
    const id = randomUUID();
    const reservationId = randomUUID();
    await db.query(
      `INSERT INTO payment_attempts
         (purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, status)
       VALUES ($1, $2, $3, $4, 1000, 'KRW', $5, 'PENDING')`,
      [id, reservationId, userId, performanceId, `attempt-${id}`],
    );
    return {
      id,
      reservationId,
      userId,
      performanceId,
      seatIds: [],
      amount: 1000,
      currency: 'KRW',
      chargeId: `charge-${id}`,
      status: PurchaseStatus.Paid,
      createdAt: new Date(),
      canceledAt: null,
    };
  };

  /**
   * Lock bound (ms) of the writes made while a lock is held: they wait it out, so a short one keeps
   * the file fast. Production's PURCHASE_BATCH_LOCK_TIMEOUT_MS is the default of the same argument.
   */
  const LOCK_TIMEOUT_MS = 200;
  /** Statement bound of the writes here: production's default (30 s), far above any lock wait. */
  const BOUNDS = { lockTimeoutMs: LOCK_TIMEOUT_MS, statementTimeoutMs: 30_000 };

  /**
   * Holds `lockSql` (a SELECT … FOR UPDATE of one row) in a transaction of its own while
   * `batch` is written: that write must fail while the lock is still held, having waited the
   * bound, and writing nothing; after the rollback the same batch goes through.
   */
  const failsWhileLocked = async (batch: PurchaseFlushBatch, lockSql: string, lockedId: string) => {
    const repository = new PurchaseRepository(db);
    const holder = db.createQueryRunner();
    await holder.connect();
    try {
      await holder.startTransaction();
      await holder.query(lockSql, [lockedId]);
      const startedAt = performance.now();
      const error = await repository.writeBatch(batch, BOUNDS).catch((e) => e);
      // Failed while the lock was still held (without the bound it waits for the test's timeout),
      // after waiting for it the bound (not at once, as NOWAIT would).
      expect(holder.isTransactionActive).toBe(true);
      expect(error).toMatchObject({ driverError: { code: '55P03' } });
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(LOCK_TIMEOUT_MS);
      const ids = batch.purchases.map((p) => p.id);
      expect(await db.query(`SELECT count(*)::int AS n FROM purchases WHERE id = ANY($1)`, [ids])).toEqual([{ n: 0 }]);
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    expect(await repository.writeBatch(batch, BOUNDS)).toEqual(batch.purchases.map((p) => p.id));
    // The bound was the batch's own: the pooled connections keep the server's default.
    expect(await db.query(`SHOW lock_timeout`)).toEqual([{ lock_timeout: '0' }]);
  };

  it('a batch without cancellations (one write statement) fails on an attempt row the reconciler holds, then writes', async () => {
    const purchase = await purchaseWithAttempt();
    await failsWhileLocked(
      { purchases: [purchase], cancellations: [] },
      `SELECT 1 FROM payment_attempts WHERE purchase_id = $1 FOR UPDATE`,
      purchase.id,
    );
    expect(await db.query(`SELECT status FROM payment_attempts WHERE purchase_id = $1`, [purchase.id])).toEqual([
      { status: 'COMPLETED' },
    ]);
  });

  it('a batch with a cancellation (one transaction) fails on a locked purchase row, then writes', async () => {
    const sold = await purchaseWithAttempt();
    await new PurchaseRepository(db).writeBatch({ purchases: [sold], cancellations: [] }, BOUNDS);
    const purchase = await purchaseWithAttempt();
    await failsWhileLocked(
      { purchases: [purchase], cancellations: [{ purchaseId: sold.id, canceledAt: new Date(), canceledBy: 'buyer' }] },
      `SELECT 1 FROM purchases WHERE id = $1 FOR UPDATE`,
      sold.id,
    );
    expect(await db.query(`SELECT status FROM purchases WHERE id = $1`, [sold.id])).toEqual([{ status: 'CANCELED' }]);
  });

  it('a batch stalled by something other than a lock ends at the statement bound, writing nothing, then writes', async () => {
    const repository = new PurchaseRepository(db);
    const purchase = await purchaseWithAttempt();
    const batch = { purchases: [purchase], cancellations: [] };
    const statementTimeoutMs = 300;
    // A trigger that sleeps: the write runs on, holding no lock anyone else has, so lock_timeout
    // never fires; without the statement bound the write waits out the test's timeout.
    await db.query(
      `CREATE FUNCTION stall_flush() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(300); RETURN NEW; END $$`,
    );
    await db.query(`CREATE TRIGGER stall_flush BEFORE INSERT ON purchases FOR EACH ROW EXECUTE FUNCTION stall_flush()`);
    let error: unknown;
    try {
      error = await repository.writeBatch(batch, { statementTimeoutMs }).catch((e) => e);
    } finally {
      await db.query(`DROP TRIGGER stall_flush ON purchases`);
      await db.query(`DROP FUNCTION stall_flush()`);
    }
    expect(error).toMatchObject({ driverError: { code: '57014' } });
    expect(await db.query(`SELECT count(*)::int AS n FROM purchases WHERE id = $1`, [purchase.id])).toEqual([{ n: 0 }]);
    expect(await repository.writeBatch(batch, { statementTimeoutMs })).toEqual([purchase.id]);
    // The bound was the batch's own: the pooled connections keep the server's default.
    expect(await db.query(`SHOW statement_timeout`)).toEqual([{ statement_timeout: '0' }]);
  });

  it('a batch statement outlasting DATABASE_QUERY_TIMEOUT_MS is still ended by its statement bound (the server answers it)', async () => {
    // This process waits past the statement bound for a batch's statements; the other statements keep their bound.
    const bounded = new DataSource({
      ...db.options,
      extra: { ...(db.options as { extra?: object }).extra, max: 1, query_timeout: 500 },
    } as DataSourceOptions);
    raiseDatabaseUnavailable(bounded);
    await bounded.initialize();
    const repository = new PurchaseRepository(bounded);
    const purchase = await purchaseWithAttempt();
    await db.query(
      `CREATE FUNCTION stall_flush() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(300); RETURN NEW; END $$`,
    );
    await db.query(`CREATE TRIGGER stall_flush BEFORE INSERT ON purchases FOR EACH ROW EXECUTE FUNCTION stall_flush()`);
    let error: unknown;
    try {
      error = await repository
        .writeBatch({ purchases: [purchase], cancellations: [] }, { statementTimeoutMs: 1000 })
        .catch((e) => e);
    } finally {
      await db.query(`DROP TRIGGER stall_flush ON purchases`);
      await db.query(`DROP FUNCTION stall_flush()`);
    }
    try {
      expect(error).toMatchObject({ driverError: { code: '57014' } });
      expect(await bounded.query('SELECT pg_sleep(1)').catch((e: unknown) => e)).toBeInstanceOf(
        DatabaseUnavailableError,
      );
    } finally {
      await bounded.destroy();
    }
  });
});

describe('PurchaseRepository.pageForOperators by e-mail (real PostgreSQL)', () => {
  let db: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
  });
  afterAll(() => close?.());

  it('finds a buyer by any case variant of the address, also ß as SS and ς as Σ', async () => {
    const users = new UsersRepository(db);
    const buyer = await users.insertIfEmailFree({
      email: 'straße.οδυσσεας@example.test',
      name: 'Buyer',
      role: Role.User,
      passwordHash: 'not-a-hash',
    });
    const [event] = await db.query(`INSERT INTO events (title, venue, currency) VALUES ('S', 'H', 'KRW') RETURNING id`);
    const [performance] = await db.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
       VALUES ($1, '2030-03-01T10:00:00Z', now(), 0) RETURNING id`,
      [event.id],
    );
    const purchaseId = randomUUID();
    await db.query(
      `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, created_at)
       VALUES ($1, $2, $3, $4, 1000, 'KRW', now())`,
      [purchaseId, randomUUID(), buyer!.id, performance.id],
    );
    const repository = new PurchaseRepository(db);
    for (const email of [
      'STRASSE.ΟΔΥΣΣΕΑΣ@EXAMPLE.TEST',
      'strasse.οδυσσεασ@example.test',
      'Straße.Οδυσσεας@example.test',
    ]) {
      const page = await repository.pageForOperators({ email }, null, 10);
      expect(
        page.map((p) => p.id),
        email,
      ).toEqual([purchaseId]);
    }
    expect(await repository.pageForOperators({ email: 'strase.οδυσσεας@example.test' }, null, 10)).toEqual([]);
  });
});

/**
 * A purchase canceled before its flush is inserted CANCELED (the flusher reads the cancel mark), so
 * its cancel entry's UPDATE, which cancels only a PAID row, finds nothing to change: the operator who
 * refunded it and what was given back must still reach `canceled_by_id` and `canceled_amount`, or the
 * cash-up misses a window refund its clerk paid out (money2 trial 2026-12-07, T1).
 */
describe('PurchaseRepository.writeBatch of a purchase canceled before its flush (real PostgreSQL)', () => {
  let db: DataSource;
  let close: () => Promise<void>;
  let clerkId: string;
  let operatorId: string;
  let performanceId: number;
  const BOUNDS = { statementTimeoutMs: 30_000 };

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    clerkId = await insertUser(db, 'clerk@example.test', 'Clerk');
    operatorId = await insertUser(db, 'operator@example.test', 'Operator');
    ({ performanceId } = await insertShow(db));
  });
  afterAll(() => close?.());

  /** A window sale of 3750 canceled at `canceledAt`, as the flusher hands it over. */
  const canceledSale = (canceledAt: Date): PurchaseRecord => ({
    id: randomUUID(),
    reservationId: randomUUID(),
    userId: clerkId,
    performanceId,
    seatIds: [],
    amount: 3750,
    currency: 'EUR',
    chargeId: '',
    status: PurchaseStatus.Canceled,
    createdAt: new Date(canceledAt.getTime() - 10),
    canceledAt,
    paymentMethod: 'CARD_TERMINAL',
  });
  const cancellation = (sale: PurchaseRecord) => ({
    purchaseId: sale.id,
    canceledAt: sale.canceledAt!,
    canceledBy: 'operator' as const,
    amount: 3750,
    canceledById: operatorId,
  });
  const recorded = async (id: string) =>
    (
      await db.query(`SELECT status, canceled_by_id, canceled_amount::int AS amount FROM purchases WHERE id = $1`, [id])
    )[0];

  it('its cancel entry in the same batch records the operator and the amount', async () => {
    const repository = new PurchaseRepository(db);
    const sale = canceledSale(new Date());
    await repository.writeBatch({ purchases: [sale], cancellations: [cancellation(sale)] }, BOUNDS);
    expect(await recorded(sale.id)).toEqual({ status: 'CANCELED', canceled_by_id: operatorId, amount: 3750 });
  });

  it('its cancel entry in a later batch records them too, and a replay changes nothing', async () => {
    const repository = new PurchaseRepository(db);
    const sale = canceledSale(new Date());
    await repository.writeBatch({ purchases: [sale], cancellations: [] }, BOUNDS);
    await repository.writeBatch({ purchases: [], cancellations: [cancellation(sale)] }, BOUNDS);
    await repository.writeBatch({ purchases: [sale], cancellations: [cancellation(sale)] }, BOUNDS);
    expect(await recorded(sale.id)).toEqual({ status: 'CANCELED', canceled_by_id: operatorId, amount: 3750 });
  });

  it('written from its cancel mark alone (its cancel entry written before, by another flusher), it records them', async () => {
    const repository = new PurchaseRepository(db);
    const sale = canceledSale(new Date());
    await repository.writeBatch({ purchases: [], cancellations: [cancellation(sale)] }, BOUNDS);
    await repository.writeBatch(
      { purchases: [{ ...sale, canceledAmount: 3750, canceledById: operatorId }], cancellations: [] },
      BOUNDS,
    );
    expect(await recorded(sale.id)).toEqual({ status: 'CANCELED', canceled_by_id: operatorId, amount: 3750 });
  });

  it("a buyer's cancel entry records the amount and no operator", async () => {
    const repository = new PurchaseRepository(db);
    const sale = { ...canceledSale(new Date()), paymentMethod: null };
    await repository.writeBatch(
      { purchases: [sale], cancellations: [{ ...cancellation(sale), canceledBy: 'buyer', canceledById: null }] },
      BOUNDS,
    );
    expect(await recorded(sale.id)).toEqual({ status: 'CANCELED', canceled_by_id: null, amount: 3750 });
  });
});
