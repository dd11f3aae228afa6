import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { isCluster, keyFirstCommand, nodeOf, PURCHASE_REDIS, sendAcrossSlots, waitForReplicas } from '@app/redis';
import type { CanceledBy } from '@app/core';
import type { CheckedInSeat } from '@app/database';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceOfHold, redisMillis } from '../holds/hold.store';
import { performanceOfId } from '../ids';
import { performanceKeys, purchasePointerKey, userPurchasesKey, userPurchasesMember } from '../redis-keys';
import { TransferMark, unmarkTransfers } from '../tickets/ticket-scripts';
import { Purchase, purchaseFromRecord, purchaseToRecord } from './purchase';
import { digestOfKey, IDEMPOTENCY_ANSWER_TTL_SECONDS } from './idempotency';
import {
  CancelMode,
  cancelPurchase,
  refundSeats,
  RefundKey,
  RefundSeatsResult,
  CancelPurchaseResult,
  claimHold,
  HoldClaim,
  purchaseHold,
  PurchaseRequest,
  PurchaseResult,
  releaseHoldClaim,
  renewHoldClaim,
  SalesRefusal,
} from './purchase-scripts';

/**
 * The hold's fields a purchase checks before charging, as Redis answered them, Redis time (epoch
 * ms), and what the pre-check's claim of the hold did (see HoldClaim).
 */
export interface HoldCheck {
  owner: string | null;
  status: string | null;
  expiresAt: string | null;
  amount: string | null;
  currency: string | null;
  boughtBy: string | null;
  now: number;
  claim: HoldClaim;
  /** Why the performance of the caller's held hold does not sell now; null when it does. */
  sales: SalesRefusal | null;
  /**
   * The payment method of a box office sale's hold (paid at the window: never charged through the
   * gateway); null for any other hold.
   */
  boxOffice: string | null;
  /**
   * Checked on the operator path (CompService, BoxOfficeService: an operator's hold, the only kind
   * it sees), so its sale is asked on the operator path too; absent for a buyer's purchase, which
   * never sees an operator's hold.
   */
  operator?: boolean;
}

/** What Redis has of one purchase attempt's sale (PurchaseStore.saleTrace), with Redis TIME. */
export interface SaleTrace {
  /** The attempt's hold: `status`, `boughtBy` (the purchase that bought it), `expiresAt` (epoch ms); null fields when absent. */
  hold: { status: string | null; boughtBy: string | null; expiresAt: number | null };
  /** The purchase's hash exists. */
  purchaseInRedis: boolean;
  /** The flusher parked the purchase (`parkedAt` on its hash: PostgreSQL refused it for good). */
  parked: boolean;
  /** The purchase was canceled (its hash's `status` is CANCELED). */
  canceled: boolean;
  /** Redis TIME, epoch ms. */
  now: number;
}

/**
 * Purchases in Redis: the sale and cancel scripts, the purchase hashes, the per-user index of
 * purchases not flushed yet and the id pointers of the previous version. The rules are in the
 * purchase services; `batch` writes the purchases behind to PostgreSQL (PurchaseFlusher).
 * Sales and their replica wait run on `PURCHASE_REDIS` (see there), all else on `Redis`.
 */
@Injectable()
export class PurchaseStore {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(PURCHASE_REDIS) private readonly sales: Redis,
  ) {
    defineTicketingScripts(redis);
    defineTicketingScripts(sales);
  }

  /** The performance of a hold (see `performanceOfHold`); null when unknown. */
  performanceOfHold(holdId: string): Promise<number | null> {
    return performanceOfHold(this.redis, holdId);
  }

  /**
   * The pre-check of a purchase, which claims the hold for this attempt (`purchaseId`) for
   * `leaseMs` when the caller can buy it, its performance sells now and no other attempt's claim
   * is live (claim-hold.lua): one round trip, Redis time and sales state included. See HoldCheck.
   * `operator`: the operator path (see claimHold of purchase-scripts); off it an operator's hold reads as none.
   */
  claimHold(
    performanceId: number,
    holdId: string,
    request: { userId: string; purchaseId: string; leaseMs: number; operator?: boolean },
  ): Promise<HoldCheck> {
    // A `then`, not an `async` layer: one promise fewer a purchase.
    return claimHold(this.redis, performanceKeys(performanceId), holdId, request).then(
      ({ claim, now, fields, sales, boxOffice }): HoldCheck => {
        const check: HoldCheck = {
          owner: fields[0] ?? null,
          status: fields[1] ?? null,
          expiresAt: fields[2] ?? null,
          amount: fields[3] ?? null,
          currency: fields[4] ?? null,
          boughtBy: fields[5] ?? null,
          now,
          claim,
          sales,
          boxOffice,
        };
        return request.operator === true ? { ...check, operator: true } : check;
      },
    );
  }

  /**
   * Gives the attempt's claim on the hold a full lease (`leaseMs`) again while it still has it and
   * the hold is HELD (renew-hold-claim.lua); false when it no longer has it (nothing changed).
   */
  renewHoldClaim(performanceId: number, holdId: string, purchaseId: string, leaseMs: number): Promise<boolean> {
    return renewHoldClaim(this.redis, performanceKeys(performanceId).hold(holdId), purchaseId, leaseMs);
  }

  /** Drops the attempt's claim on the hold (its payment was declined, or it stopped before charging). */
  async releaseHoldClaim(performanceId: number, holdId: string, purchaseId: string): Promise<void> {
    await releaseHoldClaim(this.redis, performanceKeys(performanceId).hold(holdId), purchaseId);
  }

  /**
   * Turns the hold into a purchase (`purchase.lua`) and adds it to the user's index of purchases
   * in the same round trip. On a single Redis the script adds the entry with a new sale (score:
   * its createdAt); on a Redis Cluster the index lies in the user's slot, so a `ZADD NX` with
   * score `indexedAt` (epoch ms, at most the sale's createdAt) goes beside the script, and a
   * refused sale leaves an entry readers skip until `unindex` drops it. NX keeps the first score
   * when a retried request replays its purchase. Both go on the sales connection, the one
   * `replicated` waits on.
   */
  sell(performanceId: number, request: PurchaseRequest, indexedAt: number): Promise<PurchaseResult> {
    const keys = performanceKeys(performanceId);
    const index = {
      key: userPurchasesKey(request.userId),
      member: userPurchasesMember(performanceId, request.purchaseId),
    };
    if (!isCluster(this.sales)) return purchaseHold(this.sales, keys, request, index);
    return Promise.all([
      purchaseHold(this.sales, keys, request),
      keyFirstCommand(this.sales, 'zadd', index.key, ['NX', String(indexedAt), index.member]),
    ]).then(([result]) => result);
  }

  /**
   * Waits until `replicas` replicas have every write the performance's primary took on the
   * sales connection (the sale just made among them), at most `timeoutMs`; answers how many did.
   * Only sales queue behind it: the other commands of the process use another connection.
   */
  replicated(performanceId: number, replicas: number, timeoutMs: number): Promise<number> {
    return waitForReplicas(this.sales, performanceKeys(performanceId).meta, replicas, timeoutMs);
  }

  /**
   * Why the writes the sales connection made for the performance (a sale, a cancel) are not
   * confirmed on `replicas` replicas, or null when they are: WAIT up to `timeoutMs`, counted only
   * when the performance's primary in the client's slot map is still `writeNode` (`salesNode` read
   * once the write answered). A Redis Cluster client re-sends a command whose connection closed,
   * and follows a MOVED, to the slot's new primary after a failover: there WAIT counts that node's
   * writes, which may lack this one (lost with the old primary), and answers at once. `why` is for
   * the log (it names the nodes), `reason` for the client (no address).
   */
  async unreplicated(
    performanceId: number,
    writeNode: string,
    replicas: number,
    timeoutMs: number,
  ): Promise<{ why: string; reason: string } | null> {
    const acked = await this.replicated(performanceId, replicas, timeoutMs);
    const waitNode = this.salesNode(performanceId);
    if (waitNode !== writeNode) {
      return {
        why: `the performance's primary changed from ${writeNode} to ${waitNode}`,
        reason: "the performance's Redis primary changed (a failover) before its replicas confirmed it",
      };
    }
    if (acked >= replicas) return null;
    return {
      why: `reached ${acked} of ${replicas} replicas in time`,
      reason: `it reached ${acked} of the ${replicas} Redis replicas REDIS_WAIT_REPLICAS requires within REDIS_WAIT_TIMEOUT_MS`,
    };
  }

  /**
   * `host:port` of the node the sales connection sends the performance's commands to now (the
   * primary of its slot in the client's slot map; a single Redis's own address). Asks no server.
   */
  salesNode(performanceId: number): string {
    return nodeOf(this.sales, performanceKeys(performanceId).meta);
  }

  /** Adds the purchase to its buyer's index (score: `indexedAt`, epoch ms), so reads merge its Redis state. */
  async index(userId: string, performanceId: number, purchaseId: string, indexedAt: number): Promise<void> {
    await this.redis.zadd(userPurchasesKey(userId), indexedAt, userPurchasesMember(performanceId, purchaseId));
  }

  /** Drops the purchase from its buyer's index (a sale that did not happen). */
  async unindex(userId: string, performanceId: number, purchaseId: string): Promise<void> {
    await this.redis.zrem(userPurchasesKey(userId), userPurchasesMember(performanceId, purchaseId));
  }

  /**
   * The purchase as Redis holds it; null when it is not (or no longer) there, or when the flusher
   * parked it (`parkedAt`: PostgreSQL refused it for good, so it did not happen).
   */
  async read(performanceId: number, purchaseId: string): Promise<Purchase | null> {
    const record = await this.redis.hgetall(performanceKeys(performanceId).purchase(purchaseId));
    return record.id && record.parkedAt === undefined ? purchaseFromRecord(record) : null;
  }

  /**
   * What Redis has of the sale of `purchaseId` on hold `holdId` (see SaleTrace), in one round trip:
   * the hold and the purchase share the performance's tag, and TIME goes with them.
   */
  async saleTrace(performanceId: number, holdId: string, purchaseId: string): Promise<SaleTrace> {
    const keys = performanceKeys(performanceId);
    const replies = ((await this.redis
      .pipeline()
      .hmget(keys.hold(holdId), 'status', 'purchaseId', 'expiresAt')
      .exists(keys.purchase(purchaseId))
      .time()
      .hmget(keys.purchase(purchaseId), 'parkedAt', 'status')
      .exec()) ?? []) as [Error | null, unknown][];
    for (const [error] of replies) if (error) throw error;
    const [[, hold], [, exists], [, time], [, purchase]] = replies;
    const [status, boughtBy, expiresAt] = hold as (string | null)[];
    const [parkedAt, purchaseStatus] = purchase as (string | null)[];
    return {
      hold: { status, boughtBy, expiresAt: expiresAt === null ? null : Number(expiresAt) },
      purchaseInRedis: exists === 1,
      parked: parkedAt !== null,
      canceled: purchaseStatus === 'CANCELED',
      now: redisMillis(time as string[]),
    };
  }

  /**
   * The transfer accept marks (transfer-mark.lua) of `seatIds` of the purchase, each with the
   * transfer whose accept set it (null: a mark of an earlier version, which recorded none); seats not
   * marked are left out. Two reads, not atomic: whichever owner it reads of a mark that moves between
   * them, it read it before the caller's check in PostgreSQL that follows (see DeadAcceptMarks).
   */
  async transferMarks(performanceId: number, purchaseId: string, seatIds: readonly number[]): Promise<TransferMark[]> {
    if (seatIds.length === 0) return [];
    const keys = performanceKeys(performanceId);
    const [marked, owners] = await Promise.all([
      this.redis.smembers(keys.transferred(purchaseId)),
      this.redis.hmget(keys.transferOwners(purchaseId), ...seatIds.map(String)),
    ]);
    const markedSeats = new Set(marked);
    return seatIds.flatMap((seatId, index) =>
      markedSeats.has(String(seatId)) ? [{ seatId, transferId: owners[index] }] : [],
    );
  }

  /**
   * Takes back the transfer accept marks `marks` of the purchase, as read by `transferMarks` and
   * found dead since (see DeadAcceptMarks): each only while its seat is still marked by the same
   * transfer (unmark-transfers.lua), so the mark of an accept made after the read is kept. Answers
   * the seats whose marks it took back, in `marks`' order.
   */
  unmarkTransfers(performanceId: number, purchaseId: string, marks: readonly TransferMark[]): Promise<number[]> {
    return unmarkTransfers(this.redis, performanceKeys(performanceId), purchaseId, marks);
  }

  /**
   * What the partial refunds Redis's record of `purchaseId` lists gave back (its `refundedAmount`),
   * minor units; 0 when none or when Redis no longer holds the record. A record put back from
   * PostgreSQL carries PostgreSQL's sum, so more than PostgreSQL's sum means partial refunds whose
   * write is still to come (the flush of the purchase stream writes them).
   */
  async refundedInRedis(performanceId: number, purchaseId: string): Promise<number> {
    return Number((await this.redis.hget(performanceKeys(performanceId).purchase(purchaseId), 'refundedAmount')) ?? 0);
  }

  /**
   * The fields of the performance's purchase stream entries (not written to PostgreSQL yet) that
   * cancel a purchase with its canceled show (`cancels`: `type: cancel`, `canceledBy: performance`),
   * and of the partial refunds of those purchases (`refunds`: `type: refund`), each oldest first.
   * One XRANGE of the whole stream: for operators' routes, not a hot path.
   */
  async unwrittenShowCancels(
    performanceId: number,
  ): Promise<{ cancels: Record<string, string>[]; refunds: Record<string, string>[] }> {
    const entries = await this.redis.xrange(performanceKeys(performanceId).purchaseStream, '-', '+');
    const cancels: Record<string, string>[] = [];
    const refunds: Record<string, string>[] = [];
    for (const [, fields] of entries) {
      const entry: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) entry[fields[i]] = fields[i + 1];
      if (entry.type === 'cancel' && entry.canceledBy === 'performance') cancels.push(entry);
      else if (entry.type === 'refund') refunds.push(entry);
    }
    const canceled = new Set(cancels.map((entry) => entry.purchaseId));
    return { cancels, refunds: refunds.filter((entry) => canceled.has(entry.purchaseId)) };
  }

  /**
   * The performance of a purchase, from its id; for an id without the layout of `../ids.ts` (a
   * purchase made by the previous version, during a rolling upgrade) from the pointer key that
   * version wrote. Null when neither tells: the purchase is then only in PostgreSQL, if anywhere.
   */
  async performanceOfPurchase(purchaseId: string): Promise<number | null> {
    const performanceId = performanceOfId(purchaseId);
    if (performanceId !== null) return performanceId;
    const pointer = await this.redis.get(purchasePointerKey(purchaseId));
    return pointer === null ? null : Number(pointer);
  }

  /**
   * The user's purchases in Redis whose index score is at most `maxIndexedAt` (epoch ms; null: all),
   * newest index entry first. Entries whose purchase does not exist (a refused sale) or was parked
   * by the flusher are skipped.
   */
  async indexedOf(userId: string, maxIndexedAt: number | null): Promise<Purchase[]> {
    const members = await this.redis.zrevrangebyscore(userPurchasesKey(userId), maxIndexedAt ?? '+inf', '-inf');
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
      .filter((record) => record.id !== undefined && record.userId === userId && record.parkedAt === undefined)
      .map(purchaseFromRecord);
  }

  /**
   * Cancels the purchase (`cancel-purchase.lua`): frees its seats and appends the cancellation
   * to the purchase stream. `persisted`, the purchase from PostgreSQL, is put back into Redis
   * first when the hash is gone from there. `options.mode` says who cancels (default: the buyer,
   * within cancelUntil), `options.canceledBy` who the cancellation is recorded as by, for its notice
   * (default: the buyer for the buyer's mode, else an operator); `options.checkedIn` the seats
   * PostgreSQL says were checked in, each with its check-in's identity (one undone since is left out);
   * `options.transferredSeatIds` those it says were transferred (a buyer's cancel is refused while one
   * of them, or of the Redis marks, is still the purchase's). A purchase with a checked-in seat is
   * refused unless the mode keeps such seats sold. `options.key`: an operator's Idempotency-Key
   * (OperatorRefundKey), recorded with the cancel, or its first answer replayed. `options.operatorId`:
   * an operator's cancel, the operator's account id, carried on the cancel entry (who refunded it).
   */
  cancel(
    performanceId: number,
    purchaseId: string,
    userId: string,
    persisted: Purchase | null,
    options: {
      mode?: CancelMode;
      canceledBy?: CanceledBy;
      checkedIn?: readonly CheckedInSeat[];
      transferredSeatIds?: readonly number[];
      key?: OperatorRefundKey;
      operatorId?: string;
    } = {},
  ): Promise<CancelPurchaseResult> {
    const mode = options.mode ?? 'buyer';
    return cancelPurchase(this.sales, performanceKeys(performanceId), {
      purchaseId,
      userId,
      mode,
      canceledBy: options.canceledBy ?? (mode === 'buyer' ? 'buyer' : 'operator'),
      checkedIn: options.checkedIn ?? [],
      transferredSeatIds: options.transferredSeatIds ?? [],
      persisted: persisted ? purchaseToRecord(persisted) : null,
      ...(options.key ? { key: refundKey(performanceId, options.key) } : {}),
      ...(options.operatorId ? { operatorId: options.operatorId } : {}),
    });
  }

  /**
   * Refunds `seatIds` of the purchase (`refund-seats.lua`): frees them (checked-in ones kept sold
   * with 'operator-keep-checked-in') and appends the refund to the purchase stream; naming all its
   * seats cancels it as `cancel` does for an operator. `persisted` as for `cancel`; `flushed`:
   * PostgreSQL has the purchase (a partial refund of one it has not is refused). `request.key`: an
   * operator's Idempotency-Key (OperatorRefundKey), recorded with the refund, or its first answer replayed.
   * `request.operatorId`: who makes the refund, carried on its stream entry.
   */
  refundSeats(
    performanceId: number,
    purchaseId: string,
    userId: string,
    persisted: Purchase | null,
    request: {
      mode: Exclude<CancelMode, 'buyer'>;
      checkedIn: readonly CheckedInSeat[];
      refundId: string;
      seatIds: readonly number[];
      flushed: boolean;
      key?: OperatorRefundKey;
      operatorId: string;
    },
  ): Promise<RefundSeatsResult> {
    const { key, ...asked } = request;
    return refundSeats(this.sales, performanceKeys(performanceId), {
      purchaseId,
      userId,
      ...asked,
      persisted: persisted ? purchaseToRecord(persisted) : null,
      ...(key ? { key: refundKey(performanceId, key) } : {}),
    });
  }
}

/**
 * An operator's refund sent with an Idempotency-Key: who sends it (the key is theirs alone), the key,
 * and what the refund asks for (`refundRequestWords`).
 */
export interface OperatorRefundKey {
  operatorId: string;
  idempotencyKey: string;
  request: string;
}

/** `key` as the refund scripts of performance `performanceId` take it: its record kept IDEMPOTENCY_ANSWER_TTL_SECONDS. */
function refundKey(performanceId: number, key: OperatorRefundKey): RefundKey {
  return {
    record: performanceKeys(performanceId).refundRequest(key.operatorId, digestOfKey(key.idempotencyKey)),
    request: key.request,
    retentionMs: IDEMPOTENCY_ANSWER_TTL_SECONDS * 1000,
  };
}
