import { hostname } from 'node:os';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import {
  Batcher,
  BoxOfficePaymentMethod,
  PurchaseCancellation,
  PurchaseFlushBatch,
  PurchaseRecord,
  PurchaseRefund,
  PurchaseRepository,
  PurchaseStatus,
  refusedForGood,
  secondActiveTicketSeat,
  sqlStateOf,
} from '@app/database';
import { seatsFromLists } from './purchase';
import { PurchaseFlushStore } from './purchase-flush.store';
import { canceledByOf, StreamEntry } from './purchase-scripts';

export interface FlushOptions {
  /**
   * Most stream entries read at once from one performance, and most written by one statement (or
   * transaction): batches of several performances read at the same time go into one statement up
   * to this size.
   */
  batchSize: number;
  /**
   * Most statements written at once, each on its own PostgreSQL connection, while the next batches
   * are read from Redis (default 1: one after the other); twice as many performances are read side
   * by side, and twice as many batches may be read and not yet written (each slot taken before its
   * read). A batch with cancellations
   * is always written alone among its performance's batches, after every earlier one and before
   * every later one (it may share its statement with other performances' batches).
   */
  inFlight?: number;
}

interface CancelEntry extends PurchaseCancellation {
  userId: string;
}

/**
 * The flush statements of one pass: batches submitted while `inFlight` statements run wait and go
 * together (`PurchaseFlusher.writeStatement`), so a sale spread over many performances still writes
 * statements of up to `batchSize` entries.
 */
type Statements = Batcher<PurchaseFlushBatch, WriteOutcome>;

/** What one batch's part of a statement came to: the ids of its new purchases, or its own error. */
type WriteOutcome = { inserted: string[] } | { failed: unknown };

/** Stream entries read together, decoded. */
interface Batch {
  /** The entries themselves, in stream order: a batch PostgreSQL refuses is split along them. */
  entries: StreamEntry[];
  entryIds: string[];
  purchases: PurchaseRecord[];
  cancellations: CancelEntry[];
  /** Partial refunds (refund-seats.lua), written before the batch's cancellations. */
  refunds: RefundEntry[];
}

interface RefundEntry extends PurchaseRefund {
  userId: string;
}

/**
 * The error of a batch PostgreSQL refused because a seat it sells already has an active ticket,
 * with that seat and the batch's purchases selling it named, so that an operator can act on a
 * flush that keeps failing; any other error as it is. The write is retried: a cancellation not
 * yet written frees the seat. With none pending, Redis's state is older than PostgreSQL's (a copy
 * restored: README, Backup and restore) and the purchases named must be refunded.
 */
function withSecondTicketNamed(error: unknown, batch: Batch): unknown {
  const seatId = secondActiveTicketSeat(error);
  if (seatId === undefined) return error;
  const selling = batch.purchases.filter((purchase) => purchase.seatIds.includes(seatId)).map((p) => p.id);
  const message = error instanceof Error ? error.message : String(error);
  return new Error(
    `${message}: seat ${seatId} has an active ticket in PostgreSQL and ${
      selling.length > 0
        ? `purchase ${selling.join(', ')} sells it again`
        : 'this batch does not sell it (another batch of the statement does)'
    }; retried until a cancellation freeing it is written (none pending: refund the purchase, README "Backup and restore")`,
    { cause: error },
  );
}

/**
 * Writes purchases (and cancellations) from the Redis purchase streams to PostgreSQL once they
 * are older than PURCHASE_FLUSH_AGE_SECONDS. Reads with a consumer group, writes a batch in one
 * statement (or transaction) whose unique keys make a replay a no-op, and acknowledges only after
 * commit; the entries of a consumer that died are taken over with XAUTOCLAIM. Any number may run
 * at once. Within one process, several batches of new entries may be written at once
 * (`FlushOptions.inFlight`); entries being written are never read again by the same process.
 *
 * With REDIS_WAIT_REPLICAS above 0 a batch is written only once that many replicas hold its
 * entries (`replicated`): an entry only the primary has is lost with it in a failover, and its
 * seats are free again on the promoted replica; written to PostgreSQL, it would hold those seats
 * there against the buyer the promoted replica sells them to next, whose purchase could then never
 * be written. Such a batch stays pending and is tried again first on the next pass.
 */
@Injectable()
export class PurchaseFlusher {
  private readonly logger = new Logger(PurchaseFlusher.name);
  /** This process's consumer name in the group. */
  readonly consumer = `${hostname()}-${process.pid}`;
  /**
   * Seconds from a purchase (or cancellation) to the commit of its flush, one observation per
   * stream entry; includes PURCHASE_FLUSH_AGE_SECONDS. The purchase time is the Redis clock of its
   * XADD, the commit time this process's `Clock`. In no registry until a process adds it.
   */
  readonly lag = new Histogram({
    name: 'boxoffice_purchase_flush_lag_seconds',
    help: 'Seconds from a purchase (stream append) to the commit of its write to PostgreSQL',
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 7.5, 10, 30, 60, 300],
    registers: [],
  });
  /**
   * Batches read but not written because REDIS_WAIT_REPLICAS replicas did not confirm them within
   * REDIS_WAIT_TIMEOUT_MS; they stay pending. In no registry until a process adds it.
   */
  readonly unreplicated = new Counter({
    name: 'boxoffice_purchase_flush_unreplicated_total',
    help: 'Purchase batches left pending because their stream entries were not on enough Redis replicas yet',
    registers: [],
  });
  /**
   * Purchase entries PostgreSQL refused for good and the flusher parked in the performance's
   * dead-letter stream (see `writeIsolating`). In no registry until a process adds it.
   */
  readonly parked = new Counter({
    name: 'boxoffice_purchases_parked_total',
    help: 'Purchase stream entries PostgreSQL refused for good (integrity errors), parked in a dead-letter stream',
    registers: [],
  });

  constructor(
    private readonly store: PurchaseFlushStore,
    @Inject(Env) private readonly env: Env,
    private readonly purchases: PurchaseRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * Writes the due entries of every performance that has some; returns how many entries it wrote.
   * Options default to PURCHASE_FLUSH_BATCH_SIZE and PURCHASE_FLUSH_IN_FLIGHT.
   */
  async flushOnce(
    options: FlushOptions = {
      batchSize: this.env.PURCHASE_FLUSH_BATCH_SIZE,
      inFlight: this.env.PURCHASE_FLUSH_IN_FLIGHT,
    },
  ): Promise<number> {
    const performanceIds = await this.store.performanceIds();
    if (performanceIds.length === 0) return 0;
    // Stream ids start with the Redis time (ms) of their XADD: entries up to here are due.
    const dueUntil = (await this.store.now()) - this.env.PURCHASE_FLUSH_AGE_SECONDS * 1000;
    let written = 0;
    // One performance whose batch cannot be written must not hold back the others' purchases.
    const failures: string[] = [];
    // Several performances at once, their batches sharing `inFlight` statements: a sale spread over
    // many performances (a few hundred purchases each) otherwise had one batch in flight at a time,
    // or statements of a few hundred rows, which cost PostgreSQL and this process more a purchase.
    // Twice as many batches as statements, so that some wait and share a statement.
    const inFlight = Math.max(1, options.inFlight ?? 1);
    const slots = new WriteSlots(2 * inFlight);
    const statements: Statements = new Batcher((batches) => this.writeStatement(batches), {
      maxBatch: options.batchSize,
      maxInFlight: inFlight,
      sizeOf: (batch) => batch.purchases.length + batch.cancellations.length + (batch.refunds?.length ?? 0),
    });
    const queue = [...performanceIds];
    const worker = async (): Promise<void> => {
      for (let performanceId = queue.shift(); performanceId !== undefined; performanceId = queue.shift()) {
        try {
          // Not `written += await …`: that reads `written` before the await, losing the other workers' counts.
          const count = await this.flushPerformance(performanceId, dueUntil, options, slots, statements);
          written += count;
        } catch (error) {
          if (await this.deletedMeanwhile(performanceId, error)) continue;
          failures.push(`performance ${performanceId}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(2 * inFlight, queue.length) }, worker));
    if (failures.length > 0) throw new Error(`${failures.join('; ')} (${written} entries of others written)`);
    return written;
  }

  private async flushPerformance(
    performanceId: number,
    dueUntil: number,
    options: FlushOptions,
    slots: WriteSlots,
    statements: Statements,
  ): Promise<number> {
    if (!(await this.store.ensureGroup(performanceId))) {
      // Removed after the pass read the registry: nothing of it is left to write.
      if (!(await this.store.isRegistered(performanceId))) return 0;
      throw new Error(`performance ${performanceId} is registered but its meta hash is gone from Redis`);
    }
    const due = (entries: StreamEntry[]) => entries.filter(([id]) => Number(id.split('-')[0]) <= dueUntil);
    // Own unacknowledged entries first (a failed write, or entries delivered before they were due),
    // then those of dead consumers: nothing of this process is in flight between passes, so these
    // are no batch being written. Written alone, in stream order.
    let recovered = due(await this.store.readOwnPending(performanceId, this.consumer, options.batchSize));
    if (recovered.length === 0) recovered = due(await this.claimAbandoned(performanceId, options));
    if (recovered.length > 0) {
      await this.replicated(performanceId, recovered);
      await slots.take();
      try {
        return await this.writeIsolating(performanceId, decode(recovered), statements);
      } finally {
        slots.give();
      }
    }
    return this.flushNew(performanceId, dueUntil, options, slots, statements);
  }

  /**
   * New entries: the next batch is read while earlier ones are written (`slots` bounds the batches
   * read and not yet written, shared with the other performances of the pass).
   * After a failed write nothing more is read, so no later cancellation overtakes the failed
   * batch's purchases; its entries stay pending and the next pass writes them first.
   */
  private async flushNew(
    performanceId: number,
    dueUntil: number,
    options: FlushOptions,
    slots: WriteSlots,
    statements: Statements,
  ): Promise<number> {
    const writes = new Set<Promise<void>>();
    let written = 0;
    let failure: unknown = null;
    const start = (batch: Batch): Promise<void> => {
      const write: Promise<void> = this.writeIsolating(performanceId, batch, statements)
        .then(
          (count) => {
            written += count;
          },
          (error: unknown) => {
            failure ??= error;
          },
        )
        .finally(() => slots.give());
      writes.add(write);
      void write.finally(() => writes.delete(write));
      return write;
    };
    while (failure === null) {
      // The slot before the read: it bounds the batches read and not yet written.
      await slots.take();
      // A batch of this performance failed while this one waited: nothing more is read, as above.
      if (failure !== null) {
        slots.give();
        break;
      }
      let entries: StreamEntry[];
      try {
        entries = await this.store.deliverDue(performanceId, this.consumer, dueUntil, options.batchSize);
        if (entries.length > 0) await this.replicated(performanceId, entries);
      } catch (error) {
        // As after a failed write: a batch read stays pending, nothing later is read.
        slots.give();
        failure ??= error;
        break;
      }
      if (entries.length === 0) {
        slots.give();
        break;
      }
      const batch = decode(entries);
      if (batch.cancellations.length > 0 || batch.refunds.length > 0) {
        // A partial refund is a cancellation of some seats: the same order.
        // In stream order: after every earlier batch (the purchase it cancels), before every later
        // one (a new sale of a seat it frees). Its slot is held meanwhile: the earlier batches
        // hold their own, and their statements go on without any.
        await Promise.all(writes);
        if (failure !== null) {
          slots.give();
          break;
        }
        await start(batch);
      } else {
        start(batch);
      }
      // Fewer than asked: caught up with the due entries.
      if (entries.length < options.batchSize) break;
    }
    await Promise.all(writes);
    if (failure !== null) throw failure;
    return written;
  }

  /**
   * Returns once REDIS_WAIT_REPLICAS replicas hold `entries` (at once when it is 0); else throws
   * and counts `unreplicated`, leaving them pending (`PurchaseFlushStore.confirmOnReplicas`). A
   * node that no longer holds all of them (a failover since the read) is treated the same way.
   */
  private async replicated(performanceId: number, entries: StreamEntry[]): Promise<void> {
    const replicas = this.env.REDIS_WAIT_REPLICAS;
    if (replicas === 0) return;
    const ids = entries.map(([id]) => id);
    const { claimed, acked, node } = await this.store.confirmOnReplicas(
      performanceId,
      this.consumer,
      ids,
      replicas,
      this.env.REDIS_WAIT_TIMEOUT_MS,
    );
    const missing = ids.length - claimed;
    if (acked >= replicas && missing === 0) return;
    this.unreplicated.inc();
    // The node that waited, for the operator: during a failover, the old primary or the new one.
    throw new Error(
      `${ids.length} stream entries of performance ${performanceId} left pending: ` +
        (missing > 0
          ? `${missing} no longer on the stream's primary`
          : `on ${acked} of ${replicas} replicas (REDIS_WAIT_REPLICAS) after REDIS_WAIT_TIMEOUT_MS`) +
        ` (on ${node})`,
    );
  }

  /**
   * Whether `error` of a performance's flush only says its stream is gone (NOGROUP, or "no such
   * key" from a script's XINFO) because the performance was deleted (out of the registry) after
   * this pass read the registry: nothing is left to write, so it is no failure (logged at debug).
   * Either way a gone stream is forgotten as having the group, so a next visit makes it again: under
   * a performance still registered it is a real failure, reported, and the next pass recovers.
   */
  private async deletedMeanwhile(performanceId: number, error: unknown): Promise<boolean> {
    const message = error instanceof Error ? error.message : String(error);
    if (!/^NOGROUP|no such key/i.test(message)) return false;
    this.store.forgetGroup(performanceId);
    if (await this.store.isRegistered(performanceId)) return false;
    this.logger.debug(`performance ${performanceId} was deleted during a flush pass: its purchase stream is gone`);
    return true;
  }

  /** Entries of consumers idle for PURCHASE_CLAIM_IDLE_SECONDS (stopped flushers), now this one's. */
  private async claimAbandoned(performanceId: number, options: FlushOptions): Promise<StreamEntry[]> {
    const claimed = await this.store.claimAbandoned(
      performanceId,
      this.consumer,
      this.env.PURCHASE_CLAIM_IDLE_SECONDS * 1000,
      options.batchSize,
    );
    if (claimed.length > 0) this.logger.log(`took over ${claimed.length} purchase entries of a stopped flusher`);
    return claimed;
  }

  /**
   * Writes `batch` as `write` does; returns how many of its entries were written. When PostgreSQL
   * refuses it for good (`refusedForGood`: an integrity error, which a retry would meet again and
   * again, holding back every later purchase of the performance), it is split in halves, written
   * one after the other in stream order, until each refused purchase entry is alone; that one is
   * parked (`park`). Any other error (a lock or statement timeout, a lost connection) is thrown:
   * the batch stays pending and is tried again.
   */
  private async writeIsolating(performanceId: number, batch: Batch, statements: Statements): Promise<number> {
    try {
      await this.write(performanceId, batch, statements);
      return batch.entryIds.length;
    } catch (error) {
      if (!refusedForGood(error)) throw withSecondTicketNamed(error, batch);
      if (batch.entries.length === 1) {
        // A lone cancellation refused: nothing to isolate it from, and parking it would lose it.
        if (batch.purchases.length !== 1) throw error;
        await this.park(performanceId, batch.entries[0], batch.purchases[0], error);
        return 0;
      }
      const half = Math.ceil(batch.entries.length / 2);
      // Decoded again: `write` may have marked the decoded purchases CANCELED.
      const first = await this.writeIsolating(performanceId, decode(batch.entries.slice(0, half)), statements);
      return first + (await this.writeIsolating(performanceId, decode(batch.entries.slice(half)), statements));
    }
  }

  /**
   * Parks a purchase entry PostgreSQL refused for good (`PurchaseFlushStore.park`: copied with the
   * error and the time to the performance's dead-letter stream, acknowledged and deleted from the
   * purchase stream, its purchase hash marked `parkedAt`, its seats out of its buyer's count of
   * seats bought). Its seats are
   * then backed by nothing (no stream entry, no ticket): the seat reconciler frees them. Its payment
   * attempt stays open: the payment reconciler refunds a parked purchase's charge (P9). Logged at
   * error (`purchase_parked`) and counted in `parked`.
   */
  private async park(
    performanceId: number,
    entry: StreamEntry,
    purchase: PurchaseRecord,
    error: unknown,
  ): Promise<void> {
    const reason = describeRefusal(error);
    const deadLetters = await this.store.park(
      performanceId,
      entry,
      { id: purchase.id, userId: purchase.userId, seats: purchase.seatIds.length },
      reason,
      this.clock.nowMs(),
    );
    const entryId = entry[0];
    this.parked.inc();
    this.logger.error({
      message: `purchase ${purchase.id} of performance ${performanceId} refused by PostgreSQL for good, parked in ${deadLetters}: ${reason}`,
      boxoffice: {
        event: 'purchase_parked',
        purchase_parked: {
          purchase_id: purchase.id,
          performance_id: performanceId,
          user_id: purchase.userId,
          entry_id: entryId,
          error: reason,
        },
      },
    });
  }

  private async write(performanceId: number, batch: Batch, statements: Statements): Promise<void> {
    const { purchases, cancellations, refunds } = batch;
    // A purchase canceled before it is written goes in as CANCELED: the cancellation may be
    // flushed by another consumer before this entry is.
    const canceled = await this.store.canceledPurchases(
      performanceId,
      purchases.map((purchase) => purchase.id),
    );
    for (const [position, { canceledAt, amount, canceledById }] of canceled) {
      purchases[position].status = PurchaseStatus.Canceled;
      purchases[position].canceledAt = new Date(canceledAt);
      // Who gave it back and how much, for the cash-up: its cancel entry's write may find no row.
      purchases[position].canceledAmount = amount;
      purchases[position].canceledById = canceledById;
    }

    const outcome = await statements.submit({ purchases, cancellations, refunds });
    if ('failed' in outcome) throw outcome.failed;
    const inserted = new Set(outcome.inserted);
    await this.applyLateCancellations(performanceId, purchases, inserted, statements);
    const committedAt = this.clock.nowMs();
    let oldestAt = committedAt;
    for (const id of batch.entryIds) {
      const appendedAt = Number(id.slice(0, id.indexOf('-')));
      oldestAt = Math.min(oldestAt, appendedAt);
      this.lag.observe(Math.max(0, committedAt - appendedAt) / 1000);
    }
    this.logger.log({
      message: `flushed ${purchases.length} purchases and ${cancellations.length} cancellations of performance ${performanceId}`,
      boxoffice: { flush: { purchases: purchases.length, lag_ms: Math.max(0, committedAt - oldestAt) } },
    });

    // Only after commit. A crash before this line replays the batch: a no-op in PostgreSQL.
    const written = [
      ...purchases.map(({ id, userId }) => ({ id, userId })),
      ...cancellations.map((c) => ({ id: c.purchaseId, userId: c.userId })),
      ...refunds.map((r) => ({ id: r.purchaseId, userId: r.userId })),
    ];
    await this.store.ackFlushed(performanceId, batch.entryIds, written);
  }

  /**
   * Writes the batches of one statement (`statements`), of one performance or several, in one
   * transaction (`PurchaseRepository.writeBatch`); answers each batch's new purchases. When
   * PostgreSQL refuses a statement of several batches (any error with a SQLSTATE: an integrity
   * error, a seat's second active ticket, a lock or statement timeout, a deadlock), each batch is
   * written again alone, in order, so that one batch's error is not another's: each gets its own
   * outcome (`writeIsolating` then isolates an entry refused for good within its batch, and parks
   * it; a batch failing otherwise stays pending alone). An error without a SQLSTATE (the connection
   * lost) fails every batch of the statement, which stay pending.
   */
  private async writeStatement(batches: PurchaseFlushBatch[]): Promise<WriteOutcome[]> {
    const bounds = { statementTimeoutMs: this.env.PURCHASE_BATCH_STATEMENT_TIMEOUT_MS };
    try {
      const inserted = new Set(
        await this.purchases.writeBatch(
          batches.length === 1
            ? batches[0]
            : {
                purchases: batches.flatMap((batch) => batch.purchases),
                cancellations: batches.flatMap((batch) => batch.cancellations),
                refunds: batches.flatMap((batch) => batch.refunds ?? []),
              },
          bounds,
        ),
      );
      return batches.map((batch) => ({
        inserted: batch.purchases.filter((purchase) => inserted.has(purchase.id)).map((purchase) => purchase.id),
      }));
    } catch (error) {
      // Only an error of the connection or the client (no SQLSTATE) is every batch's for sure.
      if (batches.length === 1 || sqlStateOf(error) === undefined) throw error;
      const outcomes: WriteOutcome[] = [];
      for (const batch of batches) {
        try {
          outcomes.push({ inserted: await this.purchases.writeBatch(batch, bounds) });
        } catch (refusal) {
          outcomes.push({ failed: refusal });
        }
      }
      return outcomes;
    }
  }

  /**
   * After the purchases' commit, before their acknowledgement: cancels in PostgreSQL those canceled
   * in Redis after the check above, and those a replay found already written (PAID, no insert).
   * Their cancellation entry may have been written by another flusher while this batch was in
   * flight: its UPDATE found no row, and it was acknowledged. The cancel script marks the purchase
   * hash before appending that entry, so either this check sees the mark, or the entry's UPDATE
   * ran after this commit and found the row. Writing it here keeps it as late as the entry would
   * (P5: after the purchase-completed message, as for any purchase canceled after its flush) and
   * never loses it: a crash before the acknowledgement replays the batch, and this check with it.
   * Leaving such an entry pending instead would make its flusher wait on another process's batch.
   * A batch of this process in flight meanwhile that sells the freed seat again meets the purchase's
   * active ticket, fails, and is written on the next pass (the tickets' unique active seat).
   */
  private async applyLateCancellations(
    performanceId: number,
    purchases: PurchaseRecord[],
    inserted: Set<string>,
    statements: Statements,
  ): Promise<void> {
    const canceled = await this.store.canceledPurchases(
      performanceId,
      purchases.map((purchase) => purchase.id),
    );
    const late: PurchaseCancellation[] = [];
    for (const [position, { canceledAt, canceledBy, keptSeatIds, amount, canceledById }] of canceled) {
      const purchase = purchases[position];
      // Inserted as CANCELED by this write: nothing left to do.
      if (purchase.status === PurchaseStatus.Canceled && inserted.has(purchase.id)) continue;
      late.push({
        purchaseId: purchase.id,
        canceledAt: new Date(canceledAt),
        canceledBy,
        keptSeatIds,
        ...(amount === null ? {} : { amount }),
        ...(canceledById === null ? {} : { canceledById }),
      });
    }
    if (late.length === 0) return;
    // Through the pass's statements, so they hold no connection beyond `inFlight`: sharing a
    // statement with a later batch of this performance is safe, cancellations go first in it.
    const outcome = await statements.submit({ purchases: [], cancellations: late });
    if ('failed' in outcome) throw outcome.failed;
    this.logger.log(`canceled ${late.length} purchases whose cancellation was flushed before them`);
  }
}

/** At most `limit` batches read and not yet written; FIFO. */
class WriteSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Resolves once a slot is this caller's; `give` it back after the write. */
  async take(): Promise<void> {
    while (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active += 1;
  }

  give(): void {
    this.active -= 1;
    this.waiting.shift()?.();
  }
}

/** SQLSTATE, constraint and message of a refused write, for the dead-letter entry and the log. */
function describeRefusal(error: unknown): string {
  const name = (error as { driverError?: { constraint?: string } }).driverError?.constraint;
  const message = error instanceof Error ? error.message : String(error);
  return `${sqlStateOf(error)}${name ? ` ${name}` : ''}: ${message}`;
}

function decode(entries: StreamEntry[]): Batch {
  const batch: Batch = { entries, entryIds: [], purchases: [], cancellations: [], refunds: [] };
  for (const [id, fields] of entries) {
    batch.entryIds.push(id);
    const entry = pairsToObject(fields as string[]);
    if (entry.type === 'purchase') batch.purchases.push(purchaseFromEntry(entry));
    else if (entry.type === 'cancel') batch.cancellations.push(cancellationFromEntry(entry));
    else if (entry.type === 'refund') batch.refunds.push(refundFromEntry(entry));
  }
  return batch;
}

function purchaseFromEntry(entry: Record<string, string>): PurchaseRecord {
  return {
    id: entry.id,
    reservationId: entry.reservationId,
    userId: entry.userId,
    performanceId: Number(entry.performanceId),
    ...seatsFromLists(entry.seats, entry.prices, entry.ticketIds),
    amount: Number(entry.amount),
    currency: entry.currency,
    chargeId: entry.chargeId,
    status: PurchaseStatus.Paid,
    createdAt: new Date(Number(entry.createdAt)),
    canceledAt: null,
    // A comp's note (purchase.lua copies it from the comp's hold); absent for a sale.
    ...(entry.comp ? { compNote: entry.comp } : {}),
    // A box office sale's payment method and its ticket ids taken ahead (purchase.lua copies both
    // from its hold); absent for every other purchase.
    ...(entry.boxOffice ? { paymentMethod: entry.boxOffice as BoxOfficePaymentMethod } : {}),
    // And, when the window took them, where its e-mails go.
    ...(entry.deliveryEmail ? { deliveryEmail: entry.deliveryEmail } : {}),
    ...(entry.deliveryName ? { deliveryName: entry.deliveryName } : {}),
    // The presale whose access code let its hold in (purchase.lua copies it from the hold).
    ...(entry.presale ? { presaleId: entry.presale } : {}),
  };
}

/** A cancel entry of the purchase stream as the flush writes it (canceledBy null from an older version). */
export function cancellationFromEntry(entry: Record<string, string>): CancelEntry {
  return {
    purchaseId: entry.purchaseId,
    userId: entry.userId,
    canceledAt: new Date(Number(entry.canceledAt)),
    // Absent from an entry an older version wrote.
    canceledBy: canceledByOf(entry.canceledBy),
    keptSeatIds: entry.keptSeatIds ? entry.keptSeatIds.split(',').map(Number) : [],
    // An operator's cancel names the operator (who gave a window sale's money back); absent otherwise.
    ...(entry.operatorId ? { canceledById: entry.operatorId } : {}),
    // What it gave back, as Redis decided it; absent from an entry an older version wrote.
    ...(entry.amount !== undefined && entry.amount !== '' ? { amount: Number(entry.amount) } : {}),
  };
}

/** A partial refund's stream entry (`type: refund`, refund-seats.lua) as the flush writes it. */
export function refundFromEntry(entry: Record<string, string>): RefundEntry {
  return {
    refundId: entry.refundId,
    purchaseId: entry.purchaseId,
    userId: entry.userId,
    seatIds: entry.seats.split(',').map(Number),
    keptSeatIds: entry.keptSeatIds ? entry.keptSeatIds.split(',').map(Number) : [],
    amount: Number(entry.amount),
    currency: entry.currency,
    chargeId: entry.chargeId,
    refundedAt: new Date(Number(entry.refundedAt)),
    // Who made it; absent from an entry an older version wrote.
    ...(entry.operatorId ? { refundedById: entry.operatorId } : {}),
  };
}

/** `[k1, v1, k2, v2]` → `{ k1: v1, k2: v2 }`. */
function pairsToObject(pairs: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) result[String(pairs[i])] = String(pairs[i + 1]);
  return result;
}
