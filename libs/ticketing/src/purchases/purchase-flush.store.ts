import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { isCluster, nodeOf, PURCHASE_REDIS, RedisCommand, sendAcrossSlots, sendThenWaitForReplicas } from '@app/redis';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceOfId } from '../ids';
import { PERFORMANCE_REGISTRY_KEY, performanceKeys, purchasePointerKey, userPurchasesKey } from '../redis-keys';
import {
  ackFlushed,
  CancelMark,
  canceledPurchases,
  deliverDuePurchases,
  ensureFlushGroup,
  forgetFlushed,
  parkPurchase,
  StreamEntry,
} from './purchase-scripts';

/** The consumer group every flusher reads the purchase streams with. */
export const FLUSH_GROUP = 'flusher';
/** How long a purchase stays readable from Redis after it has been written to PostgreSQL. */
export const FLUSHED_RETENTION_MS = 24 * 60 * 60 * 1000;

/** A purchase (or a cancellation's purchase) a flush wrote: its id and its buyer. */
export interface FlushedPurchase {
  id: string;
  userId: string;
}

/** What {@link PurchaseFlushStore.confirmOnReplicas} found. */
export interface ReplicaConfirmation {
  /** Of the entries asked about, how many the node that waited still holds. */
  claimed: number;
  /** Replicas that acknowledged the wait (0 when none did within the timeout). */
  acked: number;
  /** The node that waited (`host:port`), for the operator. */
  node: string;
}

/**
 * The purchase streams in Redis as the flusher reads and acknowledges them (one stream and one
 * consumer group, {@link FLUSH_GROUP}, per performance). Entries come back in stream order, as
 * `[id, fields]` with their fields as a flat list; entries deleted since they were delivered are
 * left out. The rules (what is due, batching, parking, the replica wait) are in PurchaseFlusher.
 */
@Injectable()
export class PurchaseFlushStore {
  private readonly streamsWithGroup = new Set<string>();

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    /** Where `confirmOnReplicas` waits (see PURCHASE_REDIS): a WAIT there holds up no other loop of the process. */
    @Inject(PURCHASE_REDIS) private readonly replicaWaits: Redis,
  ) {
    defineTicketingScripts(redis);
  }

  /** Every performance that has (or had) a purchase stream. */
  async performanceIds(): Promise<number[]> {
    return (await this.redis.smembers(PERFORMANCE_REGISTRY_KEY)).map(Number);
  }

  /** Whether the performance is still in the registry (a deleted one is taken out of it). */
  async isRegistered(performanceId: number): Promise<boolean> {
    return (await this.redis.sismember(PERFORMANCE_REGISTRY_KEY, String(performanceId))) === 1;
  }

  /** Forgets that the performance's stream has the group: the next `ensureGroup` asks Redis again. */
  forgetGroup(performanceId: number): void {
    this.streamsWithGroup.delete(performanceKeys(performanceId).purchaseStream);
  }

  /** Redis TIME, epoch ms: the clock of the stream ids (an entry's id starts with its XADD's time). */
  async now(): Promise<number> {
    const [seconds, micros] = (await this.redis.time()).map(Number);
    return seconds * 1000 + Math.floor(micros / 1000);
  }

  /**
   * Creates the performance's consumer group unless it exists (asked once per stream and process).
   * False when the performance is removed from Redis (its meta hash gone): nothing is created, so a
   * delete racing the pass leaves no empty stream behind.
   */
  async ensureGroup(performanceId: number): Promise<boolean> {
    const keys = performanceKeys(performanceId);
    if (this.streamsWithGroup.has(keys.purchaseStream)) return true;
    if (!(await ensureFlushGroup(this.redis, keys, FLUSH_GROUP))) return false;
    this.streamsWithGroup.add(keys.purchaseStream);
    return true;
  }

  /** Up to `count` entries delivered to `consumer` and not acknowledged, oldest first. */
  async readOwnPending(performanceId: number, consumer: string, count: number): Promise<StreamEntry[]> {
    const reply = (await this.redis.xreadgroup(
      'GROUP',
      FLUSH_GROUP,
      consumer,
      'COUNT',
      count,
      'STREAMS',
      performanceKeys(performanceId).purchaseStream,
      '0',
    )) as [string, StreamEntry[]][] | null;
    return (reply?.[0]?.[1] ?? []).filter(([, fields]) => fields !== null);
  }

  /**
   * Takes over up to `count` entries other consumers were delivered and left unacknowledged for at
   * least `idleMs` (XAUTOCLAIM): they are `consumer`'s afterwards.
   */
  async claimAbandoned(performanceId: number, consumer: string, idleMs: number, count: number): Promise<StreamEntry[]> {
    const [, entries] = (await this.redis.xautoclaim(
      performanceKeys(performanceId).purchaseStream,
      FLUSH_GROUP,
      consumer,
      idleMs,
      '0-0',
      'COUNT',
      count,
    )) as [string, StreamEntry[], string[]];
    return entries.filter(([, fields]) => fields !== null);
  }

  /** Delivers up to `count` new entries no newer than `dueUntil` (epoch ms) to `consumer`. */
  deliverDue(performanceId: number, consumer: string, dueUntil: number, count: number): Promise<StreamEntry[]> {
    return deliverDuePurchases(this.redis, performanceKeys(performanceId).purchaseStream, {
      group: FLUSH_GROUP,
      consumer,
      dueUntil,
      count,
    });
  }

  /**
   * Waits up to `timeoutMs` for `replicas` replicas to hold `entryIds` (entries of `consumer`).
   * `XCLAIM … JUSTID` of the entries to `consumer` changes nothing (they are its own, just read;
   * JUSTID keeps their delivery count) but is a write Redis always propagates, and WAIT counts up
   * to a connection's last propagated write only: the XREADGROUP that delivered them may have run
   * on another connection, before a reconnect, and a read of own pending entries (id 0) propagates
   * nothing. Both go to the stream's primary in one pipeline, so the node that waits is the one
   * that claimed; a claim that misses entries means that node lacks them (a failover since the read).
   */
  async confirmOnReplicas(
    performanceId: number,
    consumer: string,
    entryIds: string[],
    replicas: number,
    timeoutMs: number,
  ): Promise<ReplicaConfirmation> {
    const stream = performanceKeys(performanceId).purchaseStream;
    const [claimed, acked] = await sendThenWaitForReplicas(
      this.replicaWaits,
      ['xclaim', stream, FLUSH_GROUP, consumer, 0, ...entryIds, 'JUSTID'],
      replicas,
      timeoutMs,
    );
    return { claimed: (claimed as string[]).length, acked, node: nodeOf(this.replicaWaits, stream) };
  }

  /** Which of `purchaseIds` (of the performance) are canceled in Redis: position in the list → when and by whom. */
  canceledPurchases(performanceId: number, purchaseIds: string[]): Promise<Map<number, CancelMark>> {
    const keys = performanceKeys(performanceId);
    return canceledPurchases(
      this.redis,
      purchaseIds.map((id) => keys.purchase(id)),
    );
  }

  /**
   * Parks a purchase entry (park-purchase.lua, one script in the performance's slot): copies it
   * (with `reason` and `parkedAt`, epoch ms) to the performance's dead-letter stream, acknowledges
   * and deletes it from the purchase stream, marks its purchase hash `parkedAt`, and takes its seats
   * out of its buyer's count of seats bought (the ticket limit's) when it was still paid; then takes
   * it out of the buyer's list of purchases (outside the slot). Answers the dead-letter stream's key.
   */
  async park(
    performanceId: number,
    [entryId, fields]: StreamEntry,
    purchase: FlushedPurchase & { seats: number },
    reason: string,
    parkedAt: number,
  ): Promise<string> {
    const keys = performanceKeys(performanceId);
    await parkPurchase(
      this.redis,
      {
        stream: keys.purchaseStream,
        deadLetters: keys.purchaseDeadLetters,
        purchase: keys.purchase(purchase.id),
        ticketsBought: keys.ticketsBought,
      },
      { group: FLUSH_GROUP, entryId, fields: (fields ?? []).map(String), reason, parkedAt },
      { userId: purchase.userId, seats: purchase.seats },
    );
    await sendAcrossSlots(this.redis, [['zrem', userPurchasesKey(purchase.userId), `${performanceId}:${purchase.id}`]]);
    return keys.purchaseDeadLetters;
  }

  /**
   * After a flush committed: acknowledges and deletes `entryIds`, lets the hashes of `written`
   * expire after {@link FLUSHED_RETENTION_MS}, and takes them out of their buyers' lists of
   * purchases (the user index and the id pointer live outside the performance's slot; only ids of
   * the previous version have a pointer). On a single Redis the lists are one script
   * (`forget-flushed.lua`): a pipeline of one `ZREM` per purchase cost the batch process 2–4 times
   * the CPU (docs/performance.md); on a Cluster each is a plain command in its own slot.
   */
  async ackFlushed(performanceId: number, entryIds: string[], written: FlushedPurchase[]): Promise<void> {
    const keys = performanceKeys(performanceId);
    const pointers: RedisCommand[] = [];
    for (const { id } of written) {
      if (performanceOfId(id) !== performanceId)
        pointers.push(['pexpire', purchasePointerKey(id), FLUSHED_RETENTION_MS]);
    }
    const members = written.map(({ id }) => `${performanceId}:${id}`);
    const lists = isCluster(this.redis)
      ? sendAcrossSlots(
          this.redis,
          written.map(({ userId }, i): RedisCommand => ['zrem', userPurchasesKey(userId), members[i]]),
        )
      : written.length > 0
        ? forgetFlushed(
            this.redis,
            written.map(({ userId }) => userPurchasesKey(userId)),
            members,
          )
        : undefined;
    await Promise.all([
      ackFlushed(
        this.redis,
        keys.purchaseStream,
        written.map(({ id }) => keys.purchase(id)),
        { group: FLUSH_GROUP, retentionMs: FLUSHED_RETENTION_MS, entryIds },
      ),
      lists,
      sendAcrossSlots(this.redis, pointers),
    ]);
  }
}
