import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import { FakeClock } from '@app/testing';
import { PurchaseFlushBatch, PurchaseRepository, PurchaseStatus } from '@app/database';
import type { PurchaseFlusher as PurchaseFlusherClass } from './purchase-flusher';
import { FlushedPurchase, PurchaseFlushStore, ReplicaConfirmation } from './purchase-flush.store';
import type { CancelMark, StreamEntry } from './purchase-scripts';

/**
 * The flusher's rules with its store faked: an in-memory model of the purchase streams (entries in
 * stream order, one consumer group, pending entries per consumer) and a repository that records
 * every batch it is given. What reaches Redis and PostgreSQL for real is in purchase-flusher.int-spec.ts
 * and the purchase e2e specs.
 */

const NOW = 1_000_000;
/** How far this process's clock (the flusher's `Clock`) runs ahead of Redis TIME, ms. */
const CLOCK_AHEAD_MS = 500;

/** The streams of the performances, as PurchaseFlushStore shows them to the flusher. */
class FakeFlushStore {
  /** Redis TIME, epoch ms. */
  clock = NOW;
  /** Per performance, the entries not deleted, in stream order. */
  readonly streams = new Map<number, { id: string; fields: string[] }[]>();
  /** Entry id → the consumer it was delivered to and since when (ms), until acknowledged. */
  readonly pending = new Map<string, { consumer: string; since: number }>();
  private readonly delivered = new Set<string>();
  /** Purchase id → canceledAt, as the cancel script marks the purchase hash. */
  readonly canceled = new Map<string, number>();
  /** An operator's cancel mark of a purchase in `canceled`: what it gave back and the operator's id. */
  readonly byOperator = new Map<string, { amount: number; canceledById: string }>();
  /** What `confirmOnReplicas` answers: replicas that acknowledged, entries no longer on the node. */
  replication = { acked: 1, lost: 0 };
  /** Everything the flusher asked for that changes state, in order. */
  readonly log: string[] = [];
  readonly parked: { performanceId: number; entryId: string; purchaseId: string; reason: string; parkedAt: number }[] =
    [];
  private sequence = 0;

  append(performanceId: number, atMs: number, fields: string[]): string {
    const id = `${atMs}-${this.sequence++}`;
    if (!this.streams.has(performanceId)) this.streams.set(performanceId, []);
    this.streams.get(performanceId)!.push({ id, fields });
    return id;
  }

  async performanceIds(): Promise<number[]> {
    return [...this.streams.keys()];
  }

  async now(): Promise<number> {
    return this.clock;
  }

  async ensureGroup(): Promise<boolean> {
    return true;
  }

  async readOwnPending(performanceId: number, consumer: string, count: number): Promise<StreamEntry[]> {
    return this.entries(performanceId)
      .filter(({ id }) => this.pending.get(id)?.consumer === consumer)
      .slice(0, count)
      .map(({ id, fields }) => [id, fields]);
  }

  async claimAbandoned(performanceId: number, consumer: string, idleMs: number, count: number): Promise<StreamEntry[]> {
    const idle = this.entries(performanceId)
      .filter(({ id }) => {
        const owner = this.pending.get(id);
        return owner !== undefined && owner.consumer !== consumer && this.clock - owner.since >= idleMs;
      })
      .slice(0, count);
    for (const { id } of idle) this.pending.set(id, { consumer, since: this.clock });
    return idle.map(({ id, fields }) => [id, fields]);
  }

  async deliverDue(performanceId: number, consumer: string, dueUntil: number, count: number): Promise<StreamEntry[]> {
    const delivered: { id: string; fields: string[] }[] = [];
    for (const entry of this.entries(performanceId).filter(({ id }) => !this.delivered.has(id))) {
      if (delivered.length === count || Number(entry.id.split('-')[0]) > dueUntil) break;
      delivered.push(entry);
    }
    for (const { id } of delivered) {
      this.delivered.add(id);
      this.pending.set(id, { consumer, since: this.clock });
    }
    return delivered.map(({ id, fields }) => [id, fields]);
  }

  async confirmOnReplicas(performanceId: number, consumer: string, entryIds: string[]): Promise<ReplicaConfirmation> {
    this.log.push(`confirm ${entryIds.join(',')}`);
    return { claimed: entryIds.length - this.replication.lost, acked: this.replication.acked, node: 'fake:6379' };
  }

  /** Each canceled purchase as canceled by its buyer (an older version's mark), or by `byOperator`'s operator. */
  async canceledPurchases(performanceId: number, purchaseIds: string[]): Promise<Map<number, CancelMark>> {
    const canceled = new Map<number, CancelMark>();
    purchaseIds.forEach((id, position) => {
      if (!this.canceled.has(id)) return;
      const operator = this.byOperator.get(id);
      canceled.set(position, {
        canceledAt: this.canceled.get(id)!,
        canceledBy: operator ? 'operator' : 'buyer',
        keptSeatIds: [],
        amount: operator?.amount ?? null,
        canceledById: operator?.canceledById ?? null,
      });
    });
    return canceled;
  }

  async park(
    performanceId: number,
    [entryId]: StreamEntry,
    purchase: FlushedPurchase,
    reason: string,
    parkedAt: number,
  ): Promise<string> {
    this.log.push(`park ${entryId}`);
    this.parked.push({ performanceId, entryId, purchaseId: purchase.id, reason, parkedAt });
    this.remove(performanceId, [entryId]);
    return `dead-letters:${performanceId}`;
  }

  async ackFlushed(performanceId: number, entryIds: string[], written: FlushedPurchase[]): Promise<void> {
    this.log.push(`ack ${entryIds.join(',')} (${written.map(({ id }) => id).join(',')})`);
    this.remove(performanceId, entryIds);
  }

  private entries(performanceId: number) {
    return this.streams.get(performanceId) ?? [];
  }

  private remove(performanceId: number, entryIds: string[]): void {
    this.streams.set(
      performanceId,
      this.entries(performanceId).filter(({ id }) => !entryIds.includes(id)),
    );
    for (const id of entryIds) this.pending.delete(id);
  }
}

/** A purchase stream entry's fields, as purchase.lua writes them. */
function purchaseFields(id: string, performanceId: number): string[] {
  return [
    ...['type', 'purchase', 'id', id, 'reservationId', `hold-${id}`, 'userId', `user-${id}`],
    ...['performanceId', String(performanceId), 'seats', '7,8', 'amount', '5000', 'currency', 'EUR'],
    ...['chargeId', `ch_${id}`, 'createdAt', String(NOW - 60_000)],
  ];
}

function cancelFields(purchaseId: string, canceledAt: number): string[] {
  return ['type', 'cancel', 'purchaseId', purchaseId, 'userId', `user-${purchaseId}`, 'canceledAt', String(canceledAt)];
}

/**
 * PostgreSQL's SQLSTATE of an error, as `@app/database` reads it from TypeORM's QueryFailedError
 * (constraint-violations.spec.ts holds that reading and which codes are refused for good); here
 * the fake repository's errors carry it as `code`, and a foreign key (23503) is the refusal for good.
 */
vi.mock('@app/database', async (original) => {
  const database = await original<typeof import('@app/database')>();
  const sqlStateOf = (error: unknown) => (error as { code?: string }).code;
  return {
    ...database,
    sqlStateOf,
    refusedForGood: (error: unknown) => sqlStateOf(error) === '23503',
    secondActiveTicketSeat: (error: unknown) => (error as { seatId?: number }).seatId,
  };
});

/**
 * The flusher, loaded afresh in `beforeAll` so it binds the mock above: the unit project's workers
 * keep modules between files (`isolate: false`), and one imported by an earlier file would keep
 * the real `refusedForGood`.
 */
let PurchaseFlusher: typeof PurchaseFlusherClass;

/** PostgreSQL's refusal of a write for good (a foreign key). */
function integrityError(): Error {
  return Object.assign(new Error('violates foreign key'), { code: '23503' });
}

interface Setup {
  env?: Partial<Env>;
  /** Answers a batch write instead of the recording default (ids of the purchases, as inserted). */
  write?: (batch: PurchaseFlushBatch) => Promise<string[]>;
}

function flusherWith({ env = {}, write }: Setup = {}) {
  const store = new FakeFlushStore();
  /** Every batch written, as the flusher gave it (purchase ids, and cancellation ids after `|`). */
  const batches: string[] = [];
  const written: PurchaseFlushBatch[] = [];
  const writeBatch = vi.fn(async (batch: PurchaseFlushBatch) => {
    const ids = [...batch.purchases.map((p) => p.id), ...batch.cancellations.map((c) => `cancel ${c.purchaseId}`)];
    store.log.push(`write ${ids.join(',')}`);
    const inserted = write ? await write(batch) : batch.purchases.map((p) => p.id);
    batches.push(ids.join(','));
    written.push({
      purchases: batch.purchases.map((p) => ({ ...p })),
      cancellations: batch.cancellations.map((c) => ({ ...c })),
    });
    return inserted;
  });
  const settings = {
    PURCHASE_FLUSH_AGE_SECONDS: 2,
    PURCHASE_FLUSH_BATCH_SIZE: 500,
    PURCHASE_FLUSH_IN_FLIGHT: 1,
    PURCHASE_CLAIM_IDLE_SECONDS: 30,
    PURCHASE_BATCH_STATEMENT_TIMEOUT_MS: 5000,
    REDIS_WAIT_REPLICAS: 0,
    REDIS_WAIT_TIMEOUT_MS: 100,
    ...env,
  } as Env;
  const clock = new FakeClock(NOW + CLOCK_AHEAD_MS);
  const flusher = new PurchaseFlusher(
    store as unknown as PurchaseFlushStore,
    settings,
    { writeBatch } as unknown as PurchaseRepository,
    clock,
  );
  /** Appends purchases `ids` to performance `performanceId`, `ageMs` old; answers their entry ids. */
  const buy = (performanceId: number, ids: string[], ageMs = 10_000) =>
    ids.map((id) => store.append(performanceId, store.clock - ageMs, purchaseFields(id, performanceId)));
  return { store, flusher, writeBatch, batches, written, buy, clock };
}

const counted = async (metric: { get(): Promise<{ values: { value: number }[] }> }) =>
  (await metric.get()).values[0]?.value ?? 0;

describe('PurchaseFlusher (store faked)', () => {
  beforeAll(async () => {
    Logger.overrideLogger(false);
    vi.resetModules();
    ({ PurchaseFlusher } = await import('./purchase-flusher.js'));
  });
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose']));

  it('writes due entries in batches of batchSize, in stream order, each acknowledged after its write', async () => {
    const { store, flusher, batches, buy } = flusherWith();
    const entries = buy(7, ['a', 'b', 'c', 'd', 'e']);

    expect(await flusher.flushOnce({ batchSize: 2 })).toBe(5);

    expect(batches).toEqual(['a,b', 'c,d', 'e']);
    // The next batch, read while one is written, may be written before the one before is acknowledged.
    const acks = [
      `ack ${entries[0]},${entries[1]} (a,b)`,
      `ack ${entries[2]},${entries[3]} (c,d)`,
      `ack ${entries[4]} (e)`,
    ];
    expect(store.log.filter((line) => line.startsWith('write'))).toEqual(['write a,b', 'write c,d', 'write e']);
    expect(store.log.filter((line) => line.startsWith('ack'))).toEqual(acks);
    for (const [write, ack] of [
      ['write a,b', acks[0]],
      ['write c,d', acks[1]],
      ['write e', acks[2]],
    ]) {
      expect(store.log.indexOf(ack)).toBeGreaterThan(store.log.indexOf(write));
    }
    expect(store.streams.get(7)).toEqual([]);
  });

  it('leaves entries younger than PURCHASE_FLUSH_AGE_SECONDS (by Redis time) for a later pass', async () => {
    const { store, flusher, batches, buy } = flusherWith({ env: { PURCHASE_FLUSH_AGE_SECONDS: 2 } });
    buy(7, ['old'], 2000);
    buy(7, ['young'], 1999);

    expect(await flusher.flushOnce()).toBe(1);
    expect(batches).toEqual(['old']);
    expect(store.streams.get(7)!.map(({ fields }) => fields[3])).toEqual(['young']);

    store.clock += 1;
    expect(await flusher.flushOnce()).toBe(1);
    expect(batches).toEqual(['old', 'young']);
  });

  it('writes batches side by side up to inFlight, but a cancellation alone: after every earlier one, before every later one', async () => {
    const running = new Set<string>();
    const overlaps: string[] = [];
    let mostAtOnce = 0;
    const { store, flusher, batches, buy } = flusherWith({
      write: async (batch) => {
        const name = [
          ...batch.purchases.map((p) => p.id),
          ...batch.cancellations.map((c) => `cancel ${c.purchaseId}`),
        ].join(',');
        for (const other of running) {
          if (batch.cancellations.length > 0 || other.startsWith('cancel')) overlaps.push(`${name} with ${other}`);
        }
        running.add(name);
        mostAtOnce = Math.max(mostAtOnce, running.size);
        // A few turns of the event loop, so that writes started together are under way together.
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
        running.delete(name);
        return batch.purchases.map((p) => p.id);
      },
    });
    buy(7, ['p1', 'p2']);
    store.append(7, store.clock - 10_000, cancelFields('p1', store.clock - 10_000));
    buy(7, ['p3', 'p4']);

    expect(await flusher.flushOnce({ batchSize: 1, inFlight: 3 })).toBe(5);

    expect(batches).toEqual(['p1', 'p2', 'cancel p1', 'p3', 'p4']);
    expect(overlaps).toEqual([]);
    expect(mostAtOnce).toBeGreaterThan(1);
    const log = store.log.filter((line) => line.startsWith('write'));
    expect(log.indexOf('write cancel p1')).toBeGreaterThan(log.indexOf('write p2'));
  });

  it('writes who canceled (and the operator), and the seats kept, as each cancel entry says, and none for an entry an older version wrote', async () => {
    const { store, flusher, written } = flusherWith();
    const at = store.clock - 10_000;
    store.append(7, at, [...cancelFields('called-off', at), 'canceledBy', 'performance', 'keptSeatIds', '']);
    store.append(7, at, [
      ...cancelFields('kept', at),
      'canceledBy',
      'operator',
      'keptSeatIds',
      '4005,4007',
      'operatorId',
      'op-1',
    ]);
    store.append(7, at, cancelFields('older', at));
    expect(await flusher.flushOnce()).toBe(3);
    expect(written.flatMap((batch) => batch.cancellations)).toEqual([
      {
        purchaseId: 'called-off',
        userId: 'user-called-off',
        canceledAt: new Date(at),
        canceledBy: 'performance',
        keptSeatIds: [],
      },
      {
        purchaseId: 'kept',
        userId: 'user-kept',
        canceledAt: new Date(at),
        canceledBy: 'operator',
        keptSeatIds: [4005, 4007],
        canceledById: 'op-1',
      },
      { purchaseId: 'older', userId: 'user-older', canceledAt: new Date(at), canceledBy: null, keptSeatIds: [] },
    ]);
  });

  it("writes batches of several performances read while statements run in one statement, up to batchSize, each acknowledged in its own performance's stream", async () => {
    const statements: string[][] = [];
    const { store, flusher, buy } = flusherWith({
      write: async (batch) => {
        statements.push(batch.purchases.map((p) => p.id));
        // A few turns of the event loop, so that the batches read meanwhile wait for a statement.
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
        return batch.purchases.map((p) => p.id);
      },
    });
    for (const performanceId of [1, 2, 3, 4, 5, 6]) buy(performanceId, [`p${performanceId}a`, `p${performanceId}b`]);

    expect(await flusher.flushOnce({ batchSize: 4, inFlight: 2 })).toBe(12);

    expect(statements.flat().sort()).toEqual([1, 2, 3, 4, 5, 6].flatMap((n) => [`p${n}a`, `p${n}b`]).sort());
    expect(Math.max(...statements.map((ids) => ids.length))).toBeLessThanOrEqual(4);
    // Fewer statements than batches: some carried two performances' batches.
    expect(statements.length).toBeLessThan(6);
    expect(statements.some((ids) => new Set(ids.map((id) => id.slice(0, 2))).size > 1)).toBe(true);
    for (const performanceId of [1, 2, 3, 4, 5, 6]) expect(store.streams.get(performanceId)).toEqual([]);
    expect(store.pending.size).toBe(0);
  });

  it("writes each batch of a statement PostgreSQL refused for good again alone: another performance's entries are written, the refused one parked", async () => {
    const statements: string[][] = [];
    const { store, flusher, buy } = flusherWith({
      write: async (batch) => {
        const ids = batch.purchases.map((p) => p.id);
        statements.push(ids);
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
        if (ids.includes('bad')) throw integrityError();
        return ids;
      },
    });
    buy(1, ['slow1']);
    buy(2, ['slow2']);
    buy(3, ['a', 'bad']);
    buy(4, ['c', 'd']);

    expect(await flusher.flushOnce({ batchSize: 4, inFlight: 2 })).toBe(5);

    // The two batches read while the first two statements ran went together, and were refused.
    expect(statements).toContainEqual(['a', 'bad', 'c', 'd']);
    expect(store.parked.map((parked) => parked.purchaseId)).toEqual(['bad']);
    for (const performanceId of [1, 2, 3, 4]) expect(store.streams.get(performanceId)).toEqual([]);
    expect(store.pending.size).toBe(0);
  });

  it("writes each batch of a statement PostgreSQL refused for any other reason again alone: another performance's batch is written, the failing one stays pending", async () => {
    const statements: string[][] = [];
    const { store, flusher, buy } = flusherWith({
      write: async (batch) => {
        const ids = batch.purchases.map((p) => p.id);
        statements.push(ids);
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
        // A seat's second active ticket (retried until the cancellation that frees it is written).
        if (ids.includes('q')) {
          throw Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
        }
        return ids;
      },
    });
    buy(1, ['slow1']);
    buy(2, ['slow2']);
    const failing = buy(3, ['q']);
    buy(4, ['good1', 'good2']);

    await expect(flusher.flushOnce({ batchSize: 4, inFlight: 2 })).rejects.toThrow(
      /^performance 3: duplicate key value violates unique constraint \(4 entries of others written\)$/,
    );

    expect(statements).toContainEqual(['q', 'good1', 'good2']);
    expect(store.streams.get(4)).toEqual([]);
    expect([...store.pending.keys()]).toEqual(failing);
    expect(store.parked).toEqual([]);
  });

  it('names the seat of a second active ticket and the purchase selling it in the error of a write that keeps failing', async () => {
    const { store, flusher, buy } = flusherWith({
      write: async (batch) => {
        if (batch.purchases.some((p) => p.id === 'again')) {
          throw Object.assign(new Error('duplicate key value violates unique constraint "tickets_seat_active_key"'), {
            code: '23505',
            seatId: 8,
          });
        }
        return batch.purchases.map((p) => p.id);
      },
    });
    const failing = buy(3, ['again']);

    await expect(flusher.flushOnce()).rejects.toThrow(
      /^performance 3: duplicate key value violates unique constraint "tickets_seat_active_key": seat 8 has an active ticket in PostgreSQL and purchase again sells it again; retried until/,
    );
    expect([...store.pending.keys()]).toEqual(failing);
    expect(store.parked).toEqual([]);
  });

  it('fails every batch of a statement whose error has no SQLSTATE (the connection lost): all stay pending', async () => {
    const { store, flusher, buy } = flusherWith({
      write: async (batch) => {
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
        if (batch.purchases.length > 1) throw new Error('Connection terminated unexpectedly');
        return batch.purchases.map((p) => p.id);
      },
    });
    buy(1, ['slow1']);
    buy(2, ['slow2']);
    buy(3, ['a']);
    buy(4, ['b']);

    await expect(flusher.flushOnce({ batchSize: 4, inFlight: 2 })).rejects.toThrow(/performance 3: .*performance 4: /);
    expect(store.pending.size).toBe(2);
  });

  it('reads at most twice inFlight batches ahead of their writes', async () => {
    let mostOutstanding = 0;
    const { store, flusher, buy } = flusherWith({
      write: async (batch) => {
        mostOutstanding = Math.max(mostOutstanding, store.pending.size);
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
        return batch.purchases.map((p) => p.id);
      },
    });
    for (const performanceId of [1, 2, 3, 4]) {
      buy(
        performanceId,
        ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => `${x}${performanceId}`),
      );
    }

    expect(await flusher.flushOnce({ batchSize: 1, inFlight: 1 })).toBe(24);
    // batchSize 1: the pending entries are the batches read and not yet acknowledged.
    expect(mostOutstanding).toBe(2);
  });

  it("writes late cancellations through the pass's statements: never more than inFlight writes at once", async () => {
    let running = 0;
    let mostRunning = 0;
    const { store, flusher, buy } = flusherWith({
      write: async () => {
        running += 1;
        mostRunning = Math.max(mostRunning, running);
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
        running -= 1;
        // A replay: every purchase already written (PAID), none inserted now.
        return [];
      },
    });
    for (const performanceId of [1, 2, 3, 4, 5, 6]) {
      buy(performanceId, [`p${performanceId}`]);
      store.canceled.set(`p${performanceId}`, NOW - 1000);
    }

    expect(await flusher.flushOnce({ batchSize: 1, inFlight: 1 })).toBe(6);
    expect(mostRunning).toBe(1);
  });

  it('parks a purchase PostgreSQL refuses for good, alone, and writes the rest of its batch', async () => {
    const { store, flusher, buy, written } = flusherWith({
      write: async (batch) => {
        if (batch.purchases.some((p) => p.id === 'bad')) throw integrityError();
        return batch.purchases.map((p) => p.id);
      },
    });
    const entries = buy(7, ['a', 'b', 'bad', 'd']);

    expect(await flusher.flushOnce()).toBe(3);

    expect(store.parked).toEqual([
      {
        performanceId: 7,
        entryId: entries[2],
        purchaseId: 'bad',
        reason: '23503: violates foreign key',
        parkedAt: NOW + CLOCK_AHEAD_MS,
      },
    ]);
    expect(await counted(flusher.parked)).toBe(1);
    // Split in halves until the refused one is alone: a,b written; bad,d refused; bad parked; d written.
    expect(written.flatMap((batch) => batch.purchases.map((p) => p.id))).toEqual(['a', 'b', 'd']);
    expect(store.log.filter((line) => line.startsWith('ack') || line.startsWith('park'))).toEqual([
      `ack ${entries[0]},${entries[1]} (a,b)`,
      `park ${entries[2]}`,
      `ack ${entries[3]} (d)`,
    ]);
    expect(store.streams.get(7)).toEqual([]);
  });

  it('observes the lag of each entry from its Redis append time to the commit on the process clock', async () => {
    const { flusher, buy, clock } = flusherWith();
    buy(7, ['a'], 10_000);
    buy(7, ['b'], 4_000);
    clock.advance(1_000);

    expect(await flusher.flushOnce()).toBe(2);

    const lag = (await flusher.lag.get()).values;
    const value = (name: string) => lag.find((sample) => sample.metricName === name)?.value;
    expect(value('boxoffice_purchase_flush_lag_seconds_count')).toBe(2);
    // (10 s + 0.5 s ahead + 1 s moved) + (4 s + 0.5 s + 1 s)
    expect(value('boxoffice_purchase_flush_lag_seconds_sum')).toBeCloseTo(17);
  });

  it('never parks a cancellation: one refused on its own stays pending', async () => {
    const { store, flusher } = flusherWith({
      write: async (batch) => {
        if (batch.cancellations.length > 0) throw integrityError();
        return [];
      },
    });
    const entry = store.append(7, store.clock - 10_000, cancelFields('gone', store.clock - 10_000));

    await expect(flusher.flushOnce()).rejects.toThrow(/performance 7: violates foreign key/);

    expect(store.parked).toEqual([]);
    expect(store.pending.get(entry)?.consumer).toBe(flusher.consumer);
  });

  it('leaves a batch pending on any other error, reads nothing more, and writes it first on the next pass', async () => {
    let failures = 1;
    const { store, flusher, batches, buy } = flusherWith({
      write: async (batch) => {
        if (failures-- > 0) throw new Error('canceling statement due to lock timeout');
        return batch.purchases.map((p) => p.id);
      },
    });
    const entries = buy(7, ['a', 'b', 'c', 'd']);

    await expect(flusher.flushOnce({ batchSize: 2 })).rejects.toThrow(
      'performance 7: canceling statement due to lock timeout (0 entries of others written)',
    );
    // c,d was read while a,b was being written, and waited for its statement: purchases only, it
    // does not depend on a,b and is written; nothing after it was read. a,b stays pending.
    expect(store.log).toEqual(['write a,b', 'write c,d', `ack ${entries[2]},${entries[3]} (c,d)`]);
    expect([...store.pending.keys()]).toEqual(entries.slice(0, 2));

    // The pending batch alone first (its own entries, read again).
    expect(await flusher.flushOnce({ batchSize: 2 })).toBe(2);
    expect(await flusher.flushOnce({ batchSize: 2 })).toBe(0);
    expect(batches).toEqual(['c,d', 'a,b']);
    expect(store.streams.get(7)).toEqual([]);
  });

  it("does not let one performance's failing batch hold back another's", async () => {
    const { flusher, batches, buy } = flusherWith({
      write: async (batch) => {
        if (batch.purchases[0]?.performanceId === 7) throw new Error('connection terminated');
        return batch.purchases.map((p) => p.id);
      },
    });
    buy(7, ['a']);
    buy(8, ['x', 'y']);

    await expect(flusher.flushOnce()).rejects.toThrow(
      'performance 7: connection terminated (2 entries of others written)',
    );
    expect(batches).toEqual(['x,y']);
  });

  it('takes over the entries of a consumer idle for PURCHASE_CLAIM_IDLE_SECONDS, and only those', async () => {
    const { store, flusher, batches, buy } = flusherWith({ env: { PURCHASE_CLAIM_IDLE_SECONDS: 30 } });
    const [stale, recent] = buy(7, ['stale', 'recent']);
    // Both delivered to a flusher that stopped; one 30 s ago, one 29.999 s ago.
    for (const [id, since] of [
      [stale, store.clock - 30_000],
      [recent, store.clock - 29_999],
    ] as const) {
      await store.deliverDue(7, 'stopped', store.clock, 1);
      store.pending.set(id, { consumer: 'stopped', since });
    }

    expect(await flusher.flushOnce()).toBe(1);
    expect(batches).toEqual(['stale']);
    expect(store.pending.get(recent)?.consumer).toBe('stopped');
  });

  it("writes an operator's cancel before the write with its operator and amount, also a late one", async () => {
    let calls = 0;
    const { store, flusher, written, buy } = flusherWith({
      write: async (batch) => {
        if (calls++ === 0) {
          store.canceled.set('late', NOW - 500);
          store.byOperator.set('late', { amount: 300, canceledById: 'op-2' });
        }
        return batch.purchases.map((p) => p.id);
      },
    });
    store.canceled.set('early', NOW - 1000);
    store.byOperator.set('early', { amount: 700, canceledById: 'op-1' });
    buy(7, ['early', 'late']);

    expect(await flusher.flushOnce()).toBe(2);

    expect(written[0].purchases.map((p) => [p.id, p.status, p.canceledAmount ?? null, p.canceledById ?? null])).toEqual(
      [
        ['early', PurchaseStatus.Canceled, 700, 'op-1'],
        ['late', PurchaseStatus.Paid, null, null],
      ],
    );
    expect(written[1].cancellations).toEqual([
      {
        purchaseId: 'late',
        canceledAt: new Date(NOW - 500),
        canceledBy: 'operator',
        keptSeatIds: [],
        amount: 300,
        canceledById: 'op-2',
      },
    ]);
  });

  it('writes a purchase canceled before its write as CANCELED, and one canceled during it by a second write before the ack', async () => {
    let calls = 0;
    const { store, flusher, written, buy } = flusherWith({
      write: async (batch) => {
        // While the first write runs, `late` is canceled in Redis.
        if (calls++ === 0) store.canceled.set('late', NOW - 500);
        return batch.purchases.map((p) => p.id);
      },
    });
    store.canceled.set('early', NOW - 1000);
    const entries = buy(7, ['early', 'late', 'kept']);

    expect(await flusher.flushOnce()).toBe(3);

    expect(written[0].purchases.map((p) => [p.id, p.status, p.canceledAt?.getTime() ?? null])).toEqual([
      ['early', PurchaseStatus.Canceled, NOW - 1000],
      ['late', PurchaseStatus.Paid, null],
      ['kept', PurchaseStatus.Paid, null],
    ]);
    expect(written[1]).toEqual({
      purchases: [],
      cancellations: [{ purchaseId: 'late', canceledAt: new Date(NOW - 500), canceledBy: 'buyer', keptSeatIds: [] }],
    });
    expect(store.log).toEqual([
      'write early,late,kept',
      'write cancel late',
      `ack ${entries.join(',')} (early,late,kept)`,
    ]);
  });

  describe('with REDIS_WAIT_REPLICAS', () => {
    it('writes nothing until the replicas hold the batch, leaves it pending, and writes it once they do', async () => {
      const { store, flusher, writeBatch, batches, buy } = flusherWith({ env: { REDIS_WAIT_REPLICAS: 1 } });
      const [entry] = buy(7, ['a']);
      store.replication = { acked: 0, lost: 0 };

      await expect(flusher.flushOnce()).rejects.toThrow(
        'performance 7: 1 stream entries of performance 7 left pending: on 0 of 1 replicas (REDIS_WAIT_REPLICAS) ' +
          'after REDIS_WAIT_TIMEOUT_MS (on fake:6379)',
      );
      expect(writeBatch).not.toHaveBeenCalled();
      expect(await counted(flusher.unreplicated)).toBe(1);
      expect(store.pending.get(entry)?.consumer).toBe(flusher.consumer);

      store.replication = { acked: 1, lost: 0 };
      expect(await flusher.flushOnce()).toBe(1);
      expect(batches).toEqual(['a']);
      expect(store.log).toEqual([`confirm ${entry}`, `confirm ${entry}`, 'write a', `ack ${entry} (a)`]);
    });

    it('leaves a batch pending when the node that waited no longer holds all of it', async () => {
      const { store, flusher, writeBatch, buy } = flusherWith({ env: { REDIS_WAIT_REPLICAS: 2 } });
      buy(7, ['a', 'b']);
      store.replication = { acked: 2, lost: 1 };

      await expect(flusher.flushOnce()).rejects.toThrow(
        "2 stream entries of performance 7 left pending: 1 no longer on the stream's primary (on fake:6379)",
      );
      expect(writeBatch).not.toHaveBeenCalled();
    });

    it('asks no replica when REDIS_WAIT_REPLICAS is 0', async () => {
      const { store, flusher, buy } = flusherWith({ env: { REDIS_WAIT_REPLICAS: 0 } });
      buy(7, ['a']);
      store.replication = { acked: 0, lost: 0 };

      expect(await flusher.flushOnce()).toBe(1);
      expect(store.log.filter((line) => line.startsWith('confirm'))).toEqual([]);
    });
  });
});
