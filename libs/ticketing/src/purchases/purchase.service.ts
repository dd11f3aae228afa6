import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { sendAcrossSlots } from '@app/redis';
import { Env } from '@app/config';
import {
  NewPaymentAttempt,
  PaymentAttemptsRepository,
  PaymentAttemptStatus,
  PurchaseRecord,
  PurchaseRepository,
  PurchaseStatus,
} from '@app/database';
import { decodeCursor, encodeCursor } from '../catalog/cursor';
import type { Page } from '../catalog/catalog.types';
import {
  DomainError,
  HoldExpiredError,
  HoldPurchasedError,
  HoldReleasedError,
  IdempotencyKeyInUseError,
  NotFoundError,
  PaymentDeclinedError,
  PurchaseCanceledError,
  SalesClosedError,
  SeatsUnavailableError,
} from '../errors';
import { HOLD_RETENTION_MS, performanceOfHold } from '../holds/hold.service';
import { newIdOf, performanceOfId } from '../ids';
import { assertIdempotencyKey, assertUserId, isUuid } from '../input';
import { idempotencyKey, PerformanceKeys, performanceKeys, purchasePointerKey, userPurchasesKey } from '../redis-keys';
import { defineTicketingScripts } from '../lua-scripts';
import {
  digestOfKey,
  IDEMPOTENCY_ANSWER_TTL_SECONDS,
  IDEMPOTENCY_CLAIM_LEASE_MS,
  IDEMPOTENCY_CLAIM_RENEW_MS,
  IDEMPOTENCY_RETRY_AFTER_SECONDS,
  isClaim,
  newClaim,
  purchaseIdFor,
} from './idempotency';
import { PaymentGateway } from './payment-gateway';
import { newestFirst, Purchase, purchaseFromRecord, purchaseToRecord, seatIdsFromList } from './purchase';
import {
  cancelPurchase,
  claimIdempotencyKey,
  CancelPurchaseResult,
  purchaseHold,
  PurchaseResult,
  releaseIdempotencyClaim,
  renewIdempotencyClaim,
} from './purchase-scripts';

/**
 * Buying holds, reading and canceling purchases. A purchase lives in Redis (hash, per-user
 * index, stream entry) until `batch` writes it to PostgreSQL; reads merge both.
 */
@Injectable()
export class PurchaseService {
  private readonly logger = new Logger(PurchaseService.name);

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    private readonly gateway: PaymentGateway,
    private readonly purchases: PurchaseRepository,
    private readonly attempts: PaymentAttemptsRepository,
    @Inject(Env) private readonly env: Env,
  ) {
    defineTicketingScripts(redis);
  }

  /**
   * Charges the caller for their live hold, then turns it into a purchase in one atomic step
   * (refunding the charge if the hold can no longer be bought). The payment attempt is recorded
   * in PostgreSQL before the charge, so `batch` refunds a charge whose purchase never happened
   * (P9). With an `idempotencyKey`, the same user and key get the first successful answer again
   * for 24 h, also while racing.
   */
  async purchase(userId: string, holdId: string, idempotencyKey?: string): Promise<Purchase> {
    assertUserId(userId);
    if (idempotencyKey !== undefined) assertIdempotencyKey(idempotencyKey);
    const performanceId = await performanceOfHold(this.redis, holdId);
    if (performanceId === null) throw new NotFoundError('reservation');
    const keys = performanceKeys(performanceId);
    if (idempotencyKey === undefined) {
      return this.buy(userId, holdId, performanceId, newIdOf(performanceId), await this.checkHold(keys, holdId));
    }
    const purchaseId = purchaseIdFor(userId, idempotencyKey, holdId, performanceId);
    return this.buyOnce(userId, holdId, performanceId, purchaseId, idempotencyKey);
  }

  /** The caller's purchase, flushed to PostgreSQL or not; anyone else's is not found. */
  async get(userId: string, purchaseId: string): Promise<Purchase> {
    const purchase = isUuid(purchaseId) ? await this.find(purchaseId) : null;
    if (!purchase || purchase.userId !== userId) throw new NotFoundError('purchase');
    return purchase;
  }

  /** The caller's purchases, newest first, those not flushed yet included, each once. */
  async list(userId: string, cursor: string | undefined, limit: number): Promise<Page<Purchase>> {
    const after = decodeCursor<{ t: number; i: string }>(cursor, { t: 'millis', i: 'uuid' });
    const before = after ? { createdAt: new Date(after.t), id: after.i } : null;
    const [rows, unflushed] = await Promise.all([
      this.purchases.pageOfUser(userId, before, limit + 1),
      this.unflushedOf(userId, before),
    ]);
    const byId = new Map<string, Purchase>();
    for (const row of rows) byId.set(row.id, fromPersisted(row));
    // Redis holds the newer state (a cancellation not written to PostgreSQL yet).
    for (const purchase of unflushed) byId.set(purchase.id, purchase);
    const sorted = [...byId.values()].sort(newestFirst);
    const items = sorted.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: sorted.length > limit && last ? encodeCursor({ t: last.createdAt.getTime(), i: last.id }) : null,
    };
  }

  /**
   * Cancels the caller's paid purchase: refunds it and frees its seats for sale again. The
   * cancellation goes through the purchase stream, so it reaches PostgreSQL whether or not the
   * purchase had been written there yet.
   */
  async cancel(userId: string, purchaseId: string): Promise<Purchase> {
    if (!isUuid(purchaseId)) throw new NotFoundError('purchase');
    const { performanceId, result } = await this.cancelAnywhere(userId, purchaseId);
    if (result.outcome !== 'CANCELED') {
      throw result.outcome === 'NOT_FOUND' ? new NotFoundError('purchase') : new PurchaseCanceledError();
    }

    const record = await this.redis.hgetall(performanceKeys(performanceId).purchase(purchaseId));
    const purchase = purchaseFromRecord(record);
    await this.redis.zadd(userPurchasesKey(userId), purchase.createdAt.getTime(), `${performanceId}:${purchaseId}`);
    // The purchase happened and this refund settles its charge: the attempt, which a sale leaves
    // open, must never be refunded again (not even once the performance is deleted with its Redis state).
    await this.attempts.resolve(purchaseId, PaymentAttemptStatus.Completed);
    if (result.chargeId) await this.gateway.refund(result.chargeId);
    return purchase;
  }

  /** Cancels in Redis; a purchase gone from there (flushed long ago) is put back from PostgreSQL first. */
  private async cancelAnywhere(
    userId: string,
    purchaseId: string,
  ): Promise<{ performanceId: number; result: CancelPurchaseResult }> {
    const performanceId = await this.performanceOfPurchase(purchaseId);
    if (performanceId !== null) {
      const result = await cancelPurchase(this.redis, performanceKeys(performanceId), purchaseId, userId, null);
      if (result.outcome !== 'NOT_FOUND') return { performanceId, result };
    }
    const row = await this.purchases.findById(purchaseId);
    if (!row || row.userId !== userId) throw new NotFoundError('purchase');
    if (row.status === PurchaseStatus.Canceled) throw new PurchaseCanceledError();
    const persisted = purchaseToRecord(fromPersisted(row));
    const keys = performanceKeys(row.performanceId);
    return {
      performanceId: row.performanceId,
      result: await cancelPurchase(this.redis, keys, purchaseId, userId, persisted),
    };
  }

  /**
   * Claims the key before any work, so racing requests with one key charge once. A request
   * that meets another's live claim answers at once (409 with Retry-After), never waits; one
   * that meets the stored answer returns it. The claim is a short lease renewed while the
   * request works: a claim whose request died lapses within a lease and a retry takes over,
   * finding the purchase the dead request may have made (its id comes from user, key and hold).
   * A failed attempt drops its claim, so a retry runs again.
   */
  private async buyOnce(
    userId: string,
    holdId: string,
    performanceId: number,
    purchaseId: string,
    key: string,
  ): Promise<Purchase> {
    const recordKey = idempotencyKey(userId, digestOfKey(key));
    const claim = newClaim();
    // Issued together, so they share one round trip; the pre-check is wasted only when the key
    // turns out taken. Concurrent commands, not one pipeline: the record is in another Redis
    // Cluster slot than the hold, and they cost the client less CPU (docs/performance.md).
    const [claimed, hold] = await Promise.all([
      claimIdempotencyKey(this.redis, recordKey, claim, IDEMPOTENCY_CLAIM_LEASE_MS),
      this.checkHold(performanceKeys(performanceId), holdId),
    ]);
    if (claimed.outcome === 'TAKEN') {
      if (isClaim(claimed.record)) {
        throw new IdempotencyKeyInUseError(
          'a request with this Idempotency-Key is still in progress; retry shortly',
          IDEMPOTENCY_RETRY_AFTER_SECONDS,
        );
      }
      const answer = purchaseFromAnswer(claimed.record);
      if (answer.reservationId !== holdId) {
        throw new IdempotencyKeyInUseError('Idempotency-Key was already used for another reservation');
      }
      return answer;
    }

    let purchase: Purchase;
    const renewal = setInterval(() => {
      renewIdempotencyClaim(this.redis, recordKey, claim, IDEMPOTENCY_CLAIM_LEASE_MS).catch((error: Error) =>
        this.logger.warn(`Idempotency-Key claim not renewed: ${error.message}`),
      );
    }, IDEMPOTENCY_CLAIM_RENEW_MS);
    try {
      purchase = await this.buy(userId, holdId, performanceId, purchaseId, hold);
    } catch (error) {
      clearInterval(renewal);
      await releaseIdempotencyClaim(this.redis, recordKey, claim);
      throw error;
    }
    clearInterval(renewal);
    await this.redis.set(recordKey, JSON.stringify(purchase), 'EX', IDEMPOTENCY_ANSWER_TTL_SECONDS);
    return purchase;
  }

  /** The hold's fields a purchase needs, with Redis TIME read in the same round trip. */
  private async checkHold(keys: PerformanceKeys, holdId: string): Promise<HoldCheck> {
    const [hold, time] = await Promise.all([
      this.redis.hmget(keys.hold(holdId), 'userId', 'status', 'expiresAt', 'amount', 'currency', 'purchaseId'),
      this.redis.time(),
    ]);
    const [owner, status, expiresAt, amount, currency, boughtBy] = hold;
    const [seconds, micros] = time.map(Number);
    return { owner, status, expiresAt, amount, currency, boughtBy, now: seconds * 1000 + Math.floor(micros / 1000) };
  }

  private async buy(
    userId: string,
    holdId: string,
    performanceId: number,
    purchaseId: string,
    hold: HoldCheck,
  ): Promise<Purchase> {
    const { owner, status, expiresAt, amount, currency, boughtBy, now } = hold;
    // Checked before charging, so a hold that plainly cannot be bought costs no charge.
    if (owner !== userId) throw new NotFoundError('reservation');
    if (status === 'PURCHASED' && boughtBy !== purchaseId) throw new HoldPurchasedError();
    if (status === 'HELD' && Number(expiresAt) <= now) throw new HoldExpiredError();
    if (status !== 'HELD' && status !== 'PURCHASED') throw refusal({ outcome: status as 'EXPIRED' });
    // A hold recorded before amounts carried their currency (an upgrade during a sale): never
    // charge it; the buyer holds the seats again once it has expired.
    if (amount === null || currency === null) throw new HoldExpiredError();

    const chargeId = await this.charge({
      purchaseId,
      reservationId: holdId,
      userId,
      performanceId,
      amount: Number(amount),
      currency,
      // The purchase id follows from user, Idempotency-Key and hold: a retry charges the same key.
      idempotencyKey: purchaseId,
    });
    // Test-only (refused outside NODE_ENV=test): a crash between the charge and the sale (P9).
    if (this.env.FAULT_CRASH_AFTER_CHARGE) process.kill(process.pid, 'SIGKILL');
    // The user's index entry travels with the sale, in the same round trip; it is in another
    // Redis Cluster slot, so it cannot go into the script. Its score, the pre-check's
    // Redis time, is at most the purchase's createdAt: `unflushedOf` reads up to a keyset bound
    // and filters by createdAt, and skips a member whose purchase does not exist. NX keeps the
    // first score when a retried request replays its purchase.
    const member = `${performanceId}:${purchaseId}`;
    const [result] = await Promise.all([
      purchaseHold(this.redis, performanceKeys(performanceId), {
        holdId,
        userId,
        purchaseId,
        chargeId,
        holdRetentionMs: HOLD_RETENTION_MS,
      }),
      this.redis.zadd(userPurchasesKey(userId), 'NX', now, member),
    ]);
    if (result.outcome !== 'OK') {
      await this.gateway.refund(chargeId);
      await this.attempts.resolve(purchaseId, PaymentAttemptStatus.Refunded);
      this.logger.log(`purchase ${purchaseId} refused (${result.outcome}) after charging; charge refunded`);
      // The index entry of a purchase that never happened; readers skip it meanwhile.
      await this.redis.zrem(userPurchasesKey(userId), member);
      throw refusal(result);
    }
    // The attempt stays CHARGED: `batch` marks it COMPLETED (the flusher with the purchase, or the
    // reconciler, which finds the purchase), a write off the request's path.
    return {
      id: purchaseId,
      reservationId: holdId,
      userId,
      performanceId: result.performanceId,
      seatIds: seatIdsFromList(result.seats),
      amount: result.amount,
      currency: result.currency,
      status: 'PAID',
      createdAt: new Date(result.createdAt),
      canceledAt: null,
      chargeId,
    };
  }

  /**
   * Records the attempt, then charges it with its idempotency key; returns the charge. An attempt
   * `batch` already refunded (its request died) is never charged again: the buyer retries with a
   * new Idempotency-Key.
   */
  private async charge(attempt: NewPaymentAttempt): Promise<string> {
    const spent = () =>
      new IdempotencyKeyInUseError(
        'the payment of this request was refunded after it failed; retry with a new Idempotency-Key',
      );
    if ((await this.attempts.begin(attempt)) === PaymentAttemptStatus.Refunded) throw spent();
    let chargeId: string;
    try {
      ({ chargeId } = await this.gateway.charge(attempt));
    } catch (error) {
      if (error instanceof PaymentDeclinedError) {
        await this.attempts.resolve(attempt.purchaseId, PaymentAttemptStatus.Declined);
      }
      throw error;
    }
    // Not open any more: this request outlived PAYMENT_RECONCILE_AFTER_SECONDS and `batch` refunded it.
    if (!(await this.attempts.markCharged(attempt.purchaseId, chargeId))) throw spent();
    return chargeId;
  }

  private async find(purchaseId: string): Promise<Purchase | null> {
    const performanceId = await this.performanceOfPurchase(purchaseId);
    if (performanceId !== null) {
      const record = await this.redis.hgetall(performanceKeys(performanceId).purchase(purchaseId));
      if (record.id) return purchaseFromRecord(record);
    }
    const row = await this.purchases.findById(purchaseId);
    return row ? fromPersisted(row) : null;
  }

  /**
   * The performance of a purchase, from its id; for an id without the layout of `../ids.ts` (a
   * purchase made by the previous version, during a rolling upgrade) from the pointer key that
   * version wrote. Null when neither tells: the purchase is then only in PostgreSQL, if anywhere.
   */
  private async performanceOfPurchase(purchaseId: string): Promise<number | null> {
    const performanceId = performanceOfId(purchaseId);
    if (performanceId !== null) return performanceId;
    const pointer = await this.redis.get(purchasePointerKey(purchaseId));
    return pointer === null ? null : Number(pointer);
  }

  /** The user's purchases whose latest state is in Redis only, after the keyset `before`. */
  private async unflushedOf(userId: string, before: { createdAt: Date; id: string } | null): Promise<Purchase[]> {
    const members = await this.redis.zrevrangebyscore(
      userPurchasesKey(userId),
      before ? before.createdAt.getTime() : '+inf',
      '-inf',
    );
    if (members.length === 0) return [];
    // Purchases of different performances lie in different Cluster slots (see sendAcrossSlots).
    const replies = await sendAcrossSlots(
      this.redis,
      members.map((member) => {
        const [performanceId, purchaseId] = member.split(':');
        return ['hgetall', performanceKeys(Number(performanceId)).purchase(purchaseId)];
      }),
    );
    return replies
      .map(([error, record]) => {
        if (error) throw error;
        return record as Record<string, string>;
      })
      .filter((record) => record.id !== undefined && record.userId === userId)
      .map(purchaseFromRecord)
      .filter((purchase) => !before || newestFirst(before, purchase) < 0);
  }
}

/** The hold's fields a purchase checks before charging, as Redis answered them, and Redis time (epoch ms). */
interface HoldCheck {
  owner: string | null;
  status: string | null;
  expiresAt: string | null;
  amount: string | null;
  currency: string | null;
  boughtBy: string | null;
  now: number;
}

function refusal(result: Exclude<PurchaseResult, { outcome: 'OK' }>): DomainError {
  switch (result.outcome) {
    case 'NOT_FOUND':
      return new NotFoundError('reservation');
    case 'PURCHASED':
      return new HoldPurchasedError();
    case 'EXPIRED':
      return new HoldExpiredError();
    case 'RELEASED':
      return new HoldReleasedError();
    case 'UNAVAILABLE':
      return new SeatsUnavailableError([]);
    case 'SALES_CLOSED':
      return new SalesClosedError();
  }
}

function fromPersisted(row: PurchaseRecord): Purchase {
  return {
    id: row.id,
    reservationId: row.reservationId,
    userId: row.userId,
    performanceId: row.performanceId,
    seatIds: row.seatIds,
    amount: row.amount,
    currency: row.currency,
    status: row.status === PurchaseStatus.Canceled ? 'CANCELED' : 'PAID',
    createdAt: row.createdAt,
    canceledAt: row.canceledAt,
    chargeId: row.chargeId,
  };
}

/** A stored Idempotency-Key answer (a purchase as JSON) read back. */
function purchaseFromAnswer(stored: string): Purchase {
  const answer = JSON.parse(stored) as Omit<Purchase, 'createdAt' | 'canceledAt'> & {
    createdAt: string;
    canceledAt: string | null;
  };
  return {
    ...answer,
    createdAt: new Date(answer.createdAt),
    canceledAt: answer.canceledAt === null ? null : new Date(answer.canceledAt),
  };
}
