import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { Batcher, BatcherOptions } from '../batcher';
import { boundLockWaits, rethrowAsDatabaseError } from '../database-unavailable';
import { PaymentAttemptStatus } from '../entities/payment-attempt.entity';

/** What the api knows before charging. */
export interface NewPaymentAttempt {
  purchaseId: string;
  reservationId: string;
  userId: string;
  performanceId: number;
  /** An integer in minor units of `currency`. */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
  idempotencyKey: string;
  /**
   * The buyer's payment token (`paymentToken` of POST /purchases: what the processor's client SDK
   * returned), or null when none was sent. Kept with the attempt: every charge of it (a same-key
   * retry, the reconciler) sends this one. Never logged.
   */
  paymentToken: string | null;
}

/**
 * What `begin` found: the attempt's status afterwards, and `otherToken` when the attempt was recorded
 * before with another payment token (its Idempotency-Key reused with another request): then it was
 * left as it was (not touched, not reopened), and must not be charged. `busy` (absent otherwise):
 * another session held the attempt's row (most often `batch`'s reconciler settling it, across a
 * gateway call): it was left as it was, `status` its last committed one, and must not be charged now.
 */
export interface BegunPaymentAttempt {
  status: PaymentAttemptStatus;
  otherToken: boolean;
  busy?: true;
}

/** An attempt as the reconciliation needs it. */
export interface OpenPaymentAttempt extends NewPaymentAttempt {
  chargeId: string | null;
  status: OpenStatus;
}

/** An attempt `batch` still has work on: its purchase's fate unknown, or a refund owed. */
type OpenStatus = PaymentAttemptStatus.Pending | PaymentAttemptStatus.Charged | PaymentAttemptStatus.RefundOwed;

/** An open attempt a reconciler claimed (`claimStale`). */
export interface ClaimedPaymentAttempt extends OpenPaymentAttempt {
  /** Its `touched_at` as the claim set it (PostgreSQL's text form, to the microsecond). */
  claimedAt: string;
}

/** A DECLINED attempt whose charge a reconciler claimed to look up once more (`claimRecheck`). */
export interface RecheckedPaymentAttempt extends Omit<ClaimedPaymentAttempt, 'status'> {
  status: PaymentAttemptStatus.Declined;
}

/**
 * Open attempts of one status, as monitoring reads them: how many, and the age in seconds of the
 * oldest (0 when none). PENDING and CHARGED age from the attempt's creation (the purchase request);
 * REFUND_OWED from its purchase's cancellation, when the refund became owed.
 */
export interface OpenAttemptFigures {
  status: OpenStatus;
  count: number;
  oldestSeconds: number;
}

/**
 * The attempts awaiting their second look (`recheck_at` set: settled DECLINED because the gateway had
 * no charge under their key, the look for a charge landed since not made yet): how many, and how
 * many seconds the oldest has been due (0 when none is).
 */
export interface RecheckFigures {
  awaiting: number;
  oldestDueSeconds: number;
}

type FinalStatus = PaymentAttemptStatus.Completed | PaymentAttemptStatus.Refunded | PaymentAttemptStatus.Declined;

/** A purchase id as PostgreSQL answers a uuid (lower case): the key that matches rows to callers. */
const idOf = (item: { purchaseId: string }) => item.purchaseId.toLowerCase();

/**
 * One item per purchase id (the last given of each), in id order: each id lower-cased once, not
 * twice on every comparison of the sort (~0.85 KB of strings a purchase under load,
 * docs/performance.md, "Purchase route: allocations").
 */
function uniqueById<T extends { purchaseId: string }>(items: T[]): T[] {
  const byId = new Map<string, T>();
  for (const item of items) byId.set(idOf(item), item);
  return [...byId.keys()].sort().map((id) => byId.get(id) as T);
}

/** Matches payment_attempts_open's predicate, so the claim's scan uses that index. */
const OPEN = `status IN ('PENDING', 'CHARGED', 'REFUND_OWED')`;

/** What a claim of an attempt (`claimStale`, `claimRecheck`) answers, read by `attemptOf`. */
const CLAIMED_COLUMNS = `purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key,
  payment_token, charge_id, status, touched_at::text AS claimed_at`;

/**
 * The SHA-256 of a row's payment token: its digest, or (a row an older version wrote, still open)
 * the digest of its token. NULL when it was written without one.
 */
const STORED_TOKEN_SHA256 = `COALESCE(payment_attempts.payment_token_sha256,
  sha256(convert_to(payment_attempts.payment_token, 'UTF8')))`;

/**
 * The SET items that clear a settled attempt's payment token, `table` naming the updated row
 * (`payment_attempts` or its alias): its SHA-256 kept first, since a row an older version wrote
 * during a roll has no digest yet and a same-key retry is compared with it (a row with neither
 * would refuse the buyer's own retry and take one without a token).
 */
export function clearedPaymentToken(table = 'payment_attempts'): string {
  return `payment_token_sha256 = COALESCE(${table}.payment_token_sha256, sha256(convert_to(${table}.payment_token, 'UTF8'))),
    payment_token = NULL`;
}

/** What `payment_token_sha256` holds for `token` (PostgreSQL's sha256 of its UTF-8 bytes). */
function tokenSha256(token: string | null): Buffer | null {
  return token === null ? null : createHash('sha256').update(token, 'utf8').digest();
}

/**
 * A CTE for after a `resolved` CTE (purchase_id, status of the attempts it changed): deletes the
 * `performance_refund_failures` rows of those settled (REFUNDED or DECLINED), so an operator's
 * look at that table shows only refunds still to be made.
 */
const CLEAR_FAILURE = `cleared AS (
  DELETE FROM performance_refund_failures
  WHERE purchase_id IN (SELECT purchase_id FROM resolved WHERE status IN ('REFUNDED', 'DECLINED'))
)`;

/**
 * Bounds of the group commit of `begin` and `markCharged` (each kind its own). Lingering for the
 * turn: the purchases of one event-loop turn share a statement instead of the first going alone,
 * ~30 % fewer commits and ~20 % less PostgreSQL CPU a purchase under load (docs/performance.md,
 * "Payment attempts: the first of a turn no longer goes alone").
 */
export const ATTEMPT_BATCHING: BatcherOptions = { maxBatch: 500, maxInFlight: 1, lingerForTurn: true };

/** An open attempt's charge, as the gateway answered it. */
interface ChargeNote {
  purchaseId: string;
  chargeId: string;
}

/**
 * Payment attempts (P9): written before each charge, resolved by the api or by `batch`. The two
 * writes of every purchase request (`begin`, `markCharged`) are group-committed: calls that meet
 * a full set of statements in flight, or arrive in the same event-loop turn, go together as one
 * multi-row statement (one round trip, one commit) straight through the pool of TypeORM's
 * DataSource. Both are named prepared
 * statements, parsed and planned once per connection: alone, PostgreSQL's CPU for them fell by
 * 35–50 % at every batch size; under load the batches get smaller as the statements return
 * sooner (docs/performance.md, "Purchase route").
 */
@Injectable()
export class PaymentAttemptsRepository {
  private readonly begins = new Batcher((attempts: NewPaymentAttempt[]) => this.beginAll(attempts), ATTEMPT_BATCHING);
  private readonly charges = new Batcher((notes: ChargeNote[]) => this.markAllCharged(notes), ATTEMPT_BATCHING);

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Statements sent and calls they carried since the start, per kind (batching seen from outside). */
  get batching(): { begin: Batcher<unknown, unknown>['sent']; markCharged: Batcher<unknown, unknown>['sent'] } {
    return { begin: this.begins.sent, markCharged: this.charges.sent };
  }

  /**
   * Records the attempt before its charge, or touches the open (or declined, so tried again)
   * attempt of a retry; durable (committed) when it resolves. Returns the attempt's status
   * afterwards: PENDING or CHARGED when the caller may charge; COMPLETED, REFUND_OWED or REFUNDED
   * when the attempt is over and must not be charged. An attempt recorded before with another
   * payment token is left alone and answered with `otherToken` (whatever its status): a charge
   * under its idempotency key must carry the token it was first made with. In the same statement as
   * before (no write more a purchase). Never waits for a row another session holds (`batch`'s
   * reconciler holds one across a refund, up to 2 × PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS): that
   * attempt is answered `busy`, untouched, so it never races a refund, and the other attempts of its
   * group are answered at once. Rejects with the error of its batch's statement.
   */
  begin(attempt: NewPaymentAttempt): Promise<BegunPaymentAttempt> {
    return this.begins.submit(attempt);
  }

  /**
   * Notes the gateway's charge on an open (or completed, when retried) attempt, or on one `batch`
   * settled DECLINED meanwhile (it found no charge under the key then: reopened CHARGED, so this
   * charge is refunded); false when `batch` refunded it meanwhile. Rejects with the error of its
   * batch's statement.
   */
  markCharged(purchaseId: string, chargeId: string): Promise<boolean> {
    return this.charges.submit({ purchaseId, chargeId });
  }

  /**
   * Ends an open attempt (PENDING, CHARGED or REFUND_OWED) with its outcome (and the charge, when
   * one was learnt); false when it was no longer open. Its payment token is cleared in the same
   * statement (its SHA-256 stays): a settled attempt is never charged. Settled (REFUNDED or
   * DECLINED), its purchase's row in `performance_refund_failures`, if any, goes in the same
   * statement: nothing is left there for an operator. `recheckAfterMs` (DECLINED by the reconciler
   * because the gateway had no charge under its key): the charge is looked up once more that many
   * milliseconds from now (`claimRecheck`). Inside `manager`'s transaction when given.
   */
  async resolve(
    purchaseId: string,
    status: FinalStatus,
    chargeId: string | null = null,
    manager: EntityManager = this.dataSource.manager,
    recheckAfterMs: number | null = null,
  ): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `WITH resolved AS (
         UPDATE payment_attempts SET status = $2, charge_id = COALESCE($3, charge_id), resolved_at = clock_timestamp(),
           ${clearedPaymentToken()},
           recheck_at = clock_timestamp() + $4::float8 * interval '1 millisecond'
         WHERE purchase_id = $1 AND ${OPEN}
         RETURNING purchase_id, status
       ), ${CLEAR_FAILURE}
       SELECT purchase_id FROM resolved`,
      [purchaseId, status, chargeId, recheckAfterMs],
    );
    return rows.length > 0;
  }

  /**
   * Records that the charge of a canceled purchase was given back: its attempt becomes REFUNDED
   * from PENDING or CHARGED (the purchase not flushed yet), COMPLETED, or REFUND_OWED (the flusher
   * wrote the cancellation first), so neither the flusher nor the reconciler refunds it again; its
   * payment token is cleared, and its purchase's row in `performance_refund_failures`, if any, goes with it.
   * False when the attempt is missing or was REFUNDED (or DECLINED) already. Waits for the row at
   * most ROW_LOCK_TIMEOUT_MS (the reconciler may hold it across a gateway call): then rejects with
   * DatabaseUnavailableError, recording nothing.
   */
  async markRefunded(purchaseId: string): Promise<boolean> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        const rows: unknown[] = await manager.query(
          `WITH resolved AS (
             UPDATE payment_attempts SET status = 'REFUNDED', resolved_at = clock_timestamp(), touched_at = clock_timestamp(),
               ${clearedPaymentToken()}
             WHERE purchase_id = $1 AND status IN ('PENDING', 'CHARGED', 'COMPLETED', 'REFUND_OWED')
             RETURNING purchase_id, status
           ), ${CLEAR_FAILURE}
           SELECT purchase_id FROM resolved`,
          [purchaseId],
        );
        return rows.length > 0;
      })
      .catch(rethrowAsDatabaseError);
  }

  /**
   * Claims the open attempt untouched longest, if it has been untouched for `olderThanMs`
   * milliseconds: marks it touched now, in one statement of its own (committed; rows another
   * process holds are skipped), so no other reconciler takes it for the next `olderThanMs`.
   * Returns it with its new `touched_at` (`claimedAt`), or null when none is due. Holds no lock
   * afterwards: see `lockClaimed`.
   */
  async claimStale(olderThanMs: number): Promise<ClaimedPaymentAttempt | null> {
    const { rows } = await this.pool().query<AttemptRowOf<OpenStatus>>(
      `UPDATE payment_attempts SET touched_at = clock_timestamp()
       WHERE purchase_id = (
         SELECT purchase_id FROM payment_attempts
         -- statement_timestamp(), not clock_timestamp(): a stable bound is an index condition on
         -- payment_attempts_open, so the scan stops at the first attempt not yet due. With a volatile
         -- one it was a filter, and every look read every open attempt (an on-sale's flush backlog:
         -- 20,000 index entries, 85–125 ms of PostgreSQL each second, beside the flush).
         WHERE ${OPEN} AND touched_at < statement_timestamp() - $1 * interval '1 millisecond'
         ORDER BY touched_at LIMIT 1 FOR UPDATE SKIP LOCKED
       )
       RETURNING ${CLAIMED_COLUMNS}`,
      [olderThanMs],
    );
    const [row] = rows;
    return row ? attemptOf(row) : null;
  }

  /**
   * Locks a claimed attempt for the rest of `manager`'s transaction if it is still as `claimStale`
   * left it: open and untouched since (a request's `begin` or `markCharged` touches it). Never waits.
   * `locked`: done. `changed`: touched since the claim (a request took it up) or settled meanwhile.
   * `busy`: unchanged, but another session held the row at that instant: most often another
   * reconciler's look for a stale attempt (its `FOR UPDATE SKIP LOCKED` locks a row it then finds
   * not due, until its statement ends), or a request about to touch it.
   */
  async lockClaimed(manager: EntityManager, attempt: ClaimedPaymentAttempt): Promise<'locked' | 'changed' | 'busy'> {
    const unchanged = `purchase_id = $1 AND ${OPEN} AND touched_at = $2::timestamptz`;
    return this.lockIf(manager, unchanged, [attempt.purchaseId, attempt.claimedAt]);
  }

  /** Locks the row `unchanged` (a condition on it) finds, without waiting; see `lockClaimed`. */
  private async lockIf(
    manager: EntityManager,
    unchanged: string,
    values: unknown[],
  ): Promise<'locked' | 'changed' | 'busy'> {
    const rows: unknown[] = await manager.query(
      `SELECT purchase_id FROM payment_attempts WHERE ${unchanged} FOR UPDATE SKIP LOCKED`,
      values,
    );
    if (rows.length > 0) return 'locked';
    // Skipped: a read without a lock (the last committed row) tells a held row from a changed one.
    const seen: unknown[] = await manager.query(`SELECT purchase_id FROM payment_attempts WHERE ${unchanged}`, values);
    return seen.length > 0 ? 'busy' : 'changed';
  }

  /**
   * Claims the attempt whose charge is due to be looked up once more longest (`recheck_at` past: an
   * attempt the reconciler settled DECLINED because the gateway had no charge under its key), if
   * any: marks it touched now and puts its `recheck_at` `dueAgainAfterMs` milliseconds ahead, in one
   * statement of its own (committed; rows another process holds are skipped), so no other reconciler
   * takes it meanwhile, and a look that fails is made again then. Returns it with its new
   * `touched_at` (`claimedAt`), or null when none is due. Holds no lock afterwards: see `lockRecheck`.
   */
  async claimRecheck(dueAgainAfterMs: number): Promise<RecheckedPaymentAttempt | null> {
    const { rows } = await this.pool().query<AttemptRowOf<PaymentAttemptStatus.Declined>>(
      `UPDATE payment_attempts
       SET touched_at = clock_timestamp(), recheck_at = clock_timestamp() + $1 * interval '1 millisecond'
       WHERE purchase_id = (
         SELECT purchase_id FROM payment_attempts
         WHERE recheck_at IS NOT NULL AND recheck_at <= statement_timestamp() AND status = 'DECLINED'
         ORDER BY recheck_at LIMIT 1 FOR UPDATE SKIP LOCKED
       )
       RETURNING ${CLAIMED_COLUMNS}`,
      [dueAgainAfterMs],
    );
    const [row] = rows;
    return row ? attemptOf(row) : null;
  }

  /**
   * Locks an attempt claimed by `claimRecheck` for the rest of `manager`'s transaction if it is
   * still as the claim left it: DECLINED with no charge, its look still due, untouched since (a
   * same-key retry's `begin`, or the late charge's `markCharged`, reopens it and ends the look).
   * Never waits; answers as `lockClaimed` does.
   */
  async lockRecheck(manager: EntityManager, attempt: RecheckedPaymentAttempt): Promise<'locked' | 'changed' | 'busy'> {
    const unchanged = `purchase_id = $1 AND status = 'DECLINED' AND charge_id IS NULL AND recheck_at IS NOT NULL
      AND touched_at = $2::timestamptz`;
    return this.lockIf(manager, unchanged, [attempt.purchaseId, attempt.claimedAt]);
  }

  /**
   * Ends the second look for the charge of a DECLINED attempt locked by `lockRecheck`: none found,
   * it stays DECLINED for good (`chargeId` null); found, and refunded by the caller, it becomes
   * REFUNDED with that charge. Inside `manager`'s transaction.
   */
  async endRecheck(manager: EntityManager, purchaseId: string, chargeId: string | null): Promise<void> {
    await manager.query(
      `UPDATE payment_attempts SET recheck_at = NULL,
         status = CASE WHEN $2::text IS NULL THEN status ELSE 'REFUNDED' END,
         charge_id = COALESCE($2::text, charge_id),
         resolved_at = CASE WHEN $2::text IS NULL THEN resolved_at ELSE clock_timestamp() END
       WHERE purchase_id = $1`,
      [purchaseId, chargeId],
    );
  }

  /**
   * Writes the buyer's notice that the reconciliation refunded `amount` (minor units of the
   * attempt's currency, above 0) of the attempt's charge because its purchase never happened or was
   * lost: an outbox row `payment-refunded:<purchase id>` under `routingKey`, whose body (a
   * `PaymentRefundedMessage` of `@app/messaging/contracts`) carries the buyer's address and name,
   * the event, venue and start of the performance, and the attempt's `resolved_at` as the refund's
   * time. In `manager`'s transaction, the one that marks the attempt REFUNDED, so the notice goes out
   * exactly when the refund is recorded. Writes nothing when a purchase of that id is in PostgreSQL
   * (its own notices tell its buyer), when the buyer's account is gone or deleted (`deleted_at`: its
   * address is `deleted-<id>@invalid`; a deletion is not refused by an attempt awaiting its second
   * look), or when the row exists already (a notice is written once). True when it wrote the row.
   */
  async writeRefundNotice(
    manager: EntityManager,
    purchaseId: string,
    amount: number,
    routingKey: string,
  ): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO outbox (message_id, routing_key, payload)
       SELECT 'payment-refunded:' || a.purchase_id, $3, jsonb_build_object(
         'type', 'payment-refunded', 'purchaseId', a.purchase_id, 'email', u.email, 'name', u.name,
         'amount', $2::bigint, 'currency', a.currency, 'eventTitle', e.title, 'venue', e.venue,
         'timeZone', e.time_zone,
         'startsAt', to_char(pf.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'refundedAt', to_char(coalesce(a.resolved_at, clock_timestamp()) AT TIME ZONE 'UTC',
                               'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
         FROM payment_attempts a
         JOIN users u ON u.id = a.user_id AND u.deleted_at IS NULL
         JOIN performances pf ON pf.id = a.performance_id
         JOIN events e ON e.id = pf.event_id
        WHERE a.purchase_id = $1 AND NOT EXISTS (SELECT 1 FROM purchases p WHERE p.id = a.purchase_id)
       ON CONFLICT (message_id) DO NOTHING
       RETURNING message_id`,
      [purchaseId, amount, routingKey],
    );
    return rows.length > 0;
  }

  /**
   * One `begin` for many attempts: one upsert, and a read only for attempts it left alone (over, or
   * recorded with another payment token: the upsert's condition leaves those untouched). The
   * existing rows of the group are locked first with `SKIP LOCKED`: one held by another session is
   * left out of the upsert and answered `busy` (its last committed status read in the same
   * statement), so one attempt the reconciler holds neither delays nor fails the rest of its group
   * (a wait for it used to run into DATABASE_QUERY_TIMEOUT_MS and fail them all). A new purchase's
   * row does not exist yet: two index probes that find nothing.
   */
  private async beginAll(attempts: NewPaymentAttempt[]): Promise<BegunPaymentAttempt[]> {
    // One row per purchase (ON CONFLICT may touch a row once per statement), in key order so
    // concurrent batches lock shared rows in one order.
    const unique = uniqueById(attempts);
    const column = <K extends keyof NewPaymentAttempt>(key: K) => unique.map((attempt) => attempt[key]);
    const { rows } = await this.pool().query<{ purchase_id: string; status: PaymentAttemptStatus; busy: boolean }>({
      name: 'payment-attempts-begin',
      text: `WITH input AS (
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::integer[], $5::bigint[], $6::text[], $7::text[],
           $8::text[])
           AS input (purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, payment_token)
       ), free AS (
         SELECT purchase_id FROM payment_attempts WHERE purchase_id IN (SELECT purchase_id FROM input)
         ORDER BY purchase_id FOR UPDATE SKIP LOCKED
       ), busy AS (
         SELECT purchase_id, status FROM payment_attempts
         WHERE purchase_id IN (SELECT purchase_id FROM input) AND purchase_id NOT IN (SELECT purchase_id FROM free)
       ), begun AS (
         INSERT INTO payment_attempts
           (purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, payment_token,
            payment_token_sha256, status)
         SELECT purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, payment_token,
           sha256(convert_to(payment_token, 'UTF8')), 'PENDING'
         FROM input WHERE purchase_id NOT IN (SELECT purchase_id FROM busy)
         -- The token is compared by its SHA-256 (a settled attempt keeps no token; a row an older
         -- version wrote has no digest), and put back while the attempt is open again.
         ON CONFLICT (purchase_id) DO UPDATE SET touched_at = clock_timestamp(),
           status = CASE WHEN payment_attempts.status = 'DECLINED' THEN 'PENDING' ELSE payment_attempts.status END,
           resolved_at = CASE WHEN payment_attempts.status = 'DECLINED' THEN NULL ELSE payment_attempts.resolved_at END,
           recheck_at = NULL,
           payment_token = EXCLUDED.payment_token, payment_token_sha256 = EXCLUDED.payment_token_sha256
           WHERE payment_attempts.status IN ('PENDING', 'CHARGED', 'DECLINED')
             AND ${STORED_TOKEN_SHA256} IS NOT DISTINCT FROM EXCLUDED.payment_token_sha256
         RETURNING purchase_id, status
       )
       SELECT purchase_id, status, false AS busy FROM begun
       UNION ALL SELECT purchase_id, status, true AS busy FROM busy`,
      values: [
        column('purchaseId'),
        column('reservationId'),
        column('userId'),
        column('performanceId'),
        column('amount'),
        column('currency'),
        column('idempotencyKey'),
        column('paymentToken'),
      ],
    });
    const begun = new Map<string, BegunPaymentAttempt>(
      rows.map((row) => [
        row.purchase_id,
        row.busy ? { status: row.status, otherToken: false, busy: true } : { status: row.status, otherToken: false },
      ]),
    );
    // Attempts already over (COMPLETED, REFUND_OWED, REFUNDED), or recorded with another payment
    // token: read in a statement of its own, whose snapshot sees a refund that committed while the
    // upsert waited for the row. The tokens are compared here, never logged.
    const left = unique.filter((attempt) => !begun.has(idOf(attempt)));
    if (left.length > 0) {
      const existing = await this.pool().query<{
        purchase_id: string;
        status: PaymentAttemptStatus;
        token_sha256: Buffer | null;
      }>(
        `SELECT purchase_id, status, ${STORED_TOKEN_SHA256} AS token_sha256 FROM payment_attempts
         WHERE purchase_id = ANY($1::uuid[])`,
        [left.map(idOf)],
      );
      const digests = new Map(left.map((attempt) => [idOf(attempt), tokenSha256(attempt.paymentToken)]));
      for (const row of existing.rows) {
        const digest = digests.get(row.purchase_id) ?? null;
        const same =
          row.token_sha256 === null || digest === null ? row.token_sha256 === digest : row.token_sha256.equals(digest);
        begun.set(row.purchase_id, { status: row.status, otherToken: !same });
      }
    }
    // Two calls for one purchase in one batch went as one row (the last's): one with another token
    // than that row's is told so (unless the row was busy: nothing was compared then).
    const written = new Map(unique.map((attempt) => [idOf(attempt), attempt.paymentToken]));
    return attempts.map((attempt) => {
      const found = begun.get(idOf(attempt)) as BegunPaymentAttempt;
      return found.busy || attempt.paymentToken === written.get(idOf(attempt))
        ? found
        : { status: found.status, otherToken: true };
    });
  }

  /**
   * One `markCharged` for many attempts: one update; true for each attempt it changed. Committed
   * without waiting for the WAL flush (`synchronous_commit` off for this statement's transaction
   * only): the note is a hint, not a promise. Its check (the attempt still open) runs under the row
   * lock as before, and its result is visible to every other session at once; a PostgreSQL crash
   * within the next WAL flush (≤ 3 × wal_writer_delay, or the next synchronous commit of any
   * session) can only take the attempt back to PENDING with its earlier `touched_at`, which the
   * reconciler settles as it settles any PENDING attempt: the purchase happened → COMPLETED, else
   * it looks the charge up at the gateway under the attempt's key and refunds it (P9). `begin`
   * stays synchronous: it must be durable before the charge.
   *
   * A DECLINED attempt is reopened as CHARGED: a charge made under its key after the reconciler
   * found none there (the api's charge call slower than PAYMENT_RECONCILE_AFTER_SECONDS) must be
   * given back, and the request that made it refunds it once its sale is refused (the reconciler
   * settled the attempt only once its hold could no longer be bought), or the reconciler does. A
   * charge the gateway declined has no charge to note.
   */
  private async markAllCharged(notes: ChargeNote[]): Promise<boolean[]> {
    const unique = uniqueById(notes);
    const { rows } = await this.pool().query<{ purchase_id: string }>({
      name: 'payment-attempts-mark-charged',
      text: `WITH durability AS (SELECT set_config('synchronous_commit', 'off', true))
       UPDATE payment_attempts SET charge_id = input.charge_id, touched_at = clock_timestamp(),
         status = CASE WHEN payment_attempts.status = 'COMPLETED' THEN payment_attempts.status ELSE 'CHARGED' END,
         resolved_at = CASE WHEN payment_attempts.status = 'DECLINED' THEN NULL ELSE payment_attempts.resolved_at END,
         recheck_at = NULL
       FROM unnest($1::uuid[], $2::text[]) AS input (purchase_id, charge_id), durability
       WHERE payment_attempts.purchase_id = input.purchase_id
         AND payment_attempts.status IN ('PENDING', 'CHARGED', 'COMPLETED', 'DECLINED')
       RETURNING payment_attempts.purchase_id`,
      values: [unique.map(idOf), unique.map((note) => note.chargeId)],
    });
    const charged = new Set(rows.map((row) => row.purchase_id));
    return notes.map((note) => charged.has(idOf(note)));
  }

  /**
   * {@link OpenAttemptFigures} of each open status, all three always (PENDING, CHARGED,
   * REFUND_OWED), in one statement through the open attempts index. A healthy `batch` keeps every
   * age below PAYMENT_RECONCILE_AFTER_SECONDS plus the hold lifetime (an attempt whose hold can still
   * be bought waits for it); an older one is a refund or a charge the reconciliation cannot settle.
   * Reads every open attempt: ~0.2–0.4 s of PostgreSQL for 300,000 (an on-sale's last minute at
   * 5,000 purchases/s, which the api leaves CHARGED), once per scrape of each `batch`.
   * Rejects as the pool does while PostgreSQL does not answer.
   */
  async openFigures(): Promise<OpenAttemptFigures[]> {
    const { rows } = await this.pool().query<{ status: OpenStatus; count: number; oldest_seconds: number | null }>(
      `SELECT a.status, count(*)::int AS count,
         extract(epoch FROM clock_timestamp()
           - min(CASE WHEN a.status = 'REFUND_OWED' THEN coalesce(p.canceled_at, a.created_at) ELSE a.created_at END)
         )::float8 AS oldest_seconds
       FROM payment_attempts a
       LEFT JOIN purchases p ON a.status = 'REFUND_OWED' AND p.id = a.purchase_id
       WHERE a.${OPEN}
       GROUP BY a.status`,
    );
    const statuses: OpenStatus[] = [
      PaymentAttemptStatus.Pending,
      PaymentAttemptStatus.Charged,
      PaymentAttemptStatus.RefundOwed,
    ];
    return statuses.map((status) => {
      const row = rows.find((candidate) => candidate.status === status);
      return { status, count: row?.count ?? 0, oldestSeconds: Math.max(0, row?.oldest_seconds ?? 0) };
    });
  }

  /**
   * {@link RecheckFigures}, in one statement over the partial index `payment_attempts_recheck`
   * (its rows only: the uncharged settlements of the last `recheckAfterSeconds` or so, and the
   * looks that keep failing). An attempt's look is due from its settlement plus `recheckAfterSeconds`
   * (PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS), or from its `recheck_at` if sooner (set under another
   * setting): a look that failed moves `recheck_at` on, not the time it has been due since. A healthy
   * `batch` makes a due look within a pass or two. Rejects as the pool does while PostgreSQL does not answer.
   */
  async recheckFigures(recheckAfterSeconds: number): Promise<RecheckFigures> {
    const { rows } = await this.pool().query<{ awaiting: number; oldest_due_seconds: number | null }>(
      `SELECT count(*)::int AS awaiting,
         extract(epoch FROM clock_timestamp()
           - min(least(recheck_at, resolved_at + $1::float8 * interval '1 second')))::float8 AS oldest_due_seconds
       FROM payment_attempts
       WHERE recheck_at IS NOT NULL`,
      [recheckAfterSeconds],
    );
    const [row] = rows;
    return { awaiting: row.awaiting, oldestDueSeconds: Math.max(0, row.oldest_due_seconds ?? 0) };
  }

  /** The DataSource's own pg pool: one round trip per statement, without TypeORM's query runner. */
  private pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }
}

/** A claimed attempt's row as the claims return it. */
interface AttemptRowOf<S extends string> {
  purchase_id: string;
  reservation_id: string;
  user_id: string;
  performance_id: number;
  amount: string;
  currency: string;
  idempotency_key: string;
  payment_token: string | null;
  charge_id: string | null;
  status: S;
  claimed_at: string;
}

function attemptOf<S extends PaymentAttemptStatus>(
  row: AttemptRowOf<S>,
): Omit<ClaimedPaymentAttempt, 'status'> & { status: S } {
  return {
    purchaseId: row.purchase_id,
    reservationId: row.reservation_id,
    userId: row.user_id,
    performanceId: row.performance_id,
    amount: Number(row.amount),
    currency: row.currency,
    idempotencyKey: row.idempotency_key,
    paymentToken: row.payment_token,
    chargeId: row.charge_id,
    status: row.status,
    claimedAt: row.claimed_at,
  };
}
