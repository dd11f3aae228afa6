import { Injectable } from '@nestjs/common';
import { assertSameFilters, emailKey, filterDigest } from '@app/core';
import { AdminAuditRepository, PurchaseRepository } from '@app/database';
import { decodeCursor, encodeCursor } from '../catalog/cursor';
import type { Page } from '../catalog/catalog.types';
import { InvalidInputError, NotFoundError, PurchaseCanceledError, PurchaseRefundedError } from '../errors';
import { assertIdempotencyKey } from '../input';
import { Purchase, purchaseFromPersisted } from './purchase';
import { CanceledPurchase, PurchaseCancellation, SeatsRefunded } from './purchase-cancellation';
import { PurchaseReader } from './purchase-reader';
import { PurchaseStore } from './purchase.store';

/** Who acts, as the audit log records them. */
export interface Operator {
  id: string;
  email: string;
}

/** A presale's id as filters take it: decimal digits of a positive bigint (as the presale routes' `presaleId`). */
export const PRESALE_ID = /^[1-9][0-9]{0,15}$/;

/** The audit action of an operator's refund. */
export const REFUND_ACTION = 'purchase.refund';

/**
 * Anyone's purchases, for operators: search, read and refund. A refund is the buyer's
 * cancellation (PurchaseCancellation: seats free, charge refunded, cancellation notice through
 * the flusher's outbox) without the buyer's cancellation window, plus an audit log row.
 */
@Injectable()
export class AdminPurchases {
  constructor(
    private readonly purchases: PurchaseRepository,
    private readonly store: PurchaseStore,
    private readonly reader: PurchaseReader,
    private readonly cancellation: PurchaseCancellation,
    private readonly audit: AdminAuditRepository,
  ) {}

  /**
   * Purchases written to PostgreSQL (a sale appears there within PURCHASE_FLUSH_AGE_SECONDS),
   * newest first, each with its newest state (a refund not flushed yet reads CANCELED). Each
   * cursor carries the digest of `filter` (the unfiltered list's too: filterDigest). Throws
   * DomainError 'invalid' (InvalidCursor, 400) for a cursor this list did not write, or one made
   * with other filters (an e-mail address counts as its emailKey, as the search matches it).
   * `presaleId`: only purchases made in that presale (decimal digits, `purchases.presale_id`; a
   * deleted presale's too); InvalidInputError for anything else.
   */
  async list(
    filter: { performanceId?: number; email?: string; presaleId?: string },
    cursor: string | undefined,
    limit: number,
  ): Promise<Page<Purchase>> {
    if (filter.presaleId !== undefined && !PRESALE_ID.test(filter.presaleId)) {
      throw new InvalidInputError('presaleId must be a presale id: decimal digits, no sign or leading zero');
    }
    const digest = filterDigest([
      filter.performanceId,
      filter.email === undefined ? null : emailKey(filter.email),
      // Only when given: cursors of the lists without it keep their digest.
      ...(filter.presaleId === undefined ? [] : [filter.presaleId]),
    ]);
    const after = decodeCursor<{ t: number; i: string; f: string }>(cursor, { t: 'millis', i: 'uuid', f: 'digest' });
    assertSameFilters(after?.f, digest);
    const before = after ? { createdAt: new Date(after.t), id: after.i } : null;
    const rows = await this.purchases.pageForOperators(filter, before, limit + 1);
    const items = await Promise.all(
      rows
        .slice(0, limit)
        .map(async (row) => (await this.store.read(row.performanceId, row.id)) ?? purchaseFromPersisted(row)),
    );
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    return { items, nextCursor: last ? encodeCursor({ t: last.createdAt.getTime(), i: last.id, f: digest }) : null };
  }

  /** Anyone's purchase, flushed or not. Throws NotFoundError('purchase'). */
  async get(purchaseId: string): Promise<Purchase> {
    const purchase = await this.reader.find(purchaseId);
    if (!purchase) throw new NotFoundError('purchase');
    return purchase;
  }

  /**
   * Cancels and refunds anyone's paid purchase, whenever (no cancellation window applies to
   * operators), and records who did it. Of concurrent refunds one wins in the cancel script, so
   * the gateway refunds once; the others, and any refund of a canceled purchase, throw
   * PurchaseRefundedError. A purchase with a checked-in ticket throws PurchaseCheckedInError
   * unless `resellCheckedInSeats` is false: then it is refunded and its checked-in seats stay sold
   * (`keptSeatIds`), as a box office keeps a seat someone sat in off sale. With `seatIds`, only
   * those seats are refunded (PurchaseCancellation.refundSeats: the purchase stays PAID with its
   * others; all it still has is its whole refund), a seat refunded before throws
   * SeatAlreadyRefundedError, so of concurrent refunds of a seat one wins it. Answers the purchase
   * as it is now with this refund's part (`refundedNow`). A box office sale is refunded at the
   * window, whole or in part (refund `at-window`, no gateway call; the audit row's `refundMethod`
   * says CASH or CARD_TERMINAL). The operator is recorded with the refund itself, in its script run
   * and write (`purchase_refunds.refunded_by_id`, `purchases.canceled_by_id`): the cash-up counts a
   * window refund by those, so an api killed before the audit row changes nothing there.
   * Throws NotFoundError('purchase').
   *
   * With `idempotencyKey` (the operator's; a window clerk's client always sends one), the key is
   * recorded with the refund in its Redis script run: a retry of the same request (purchase, seats,
   * `resellCheckedInSeats`) answers as the first did, the same seats, amount and refund method, even
   * when the api that made the first died before answering, and its audit row is written then if
   * the first did not write it (once: `recordOnce`). The key with another request throws
   * IdempotencyKeyInUseError (409), nothing refunded; InvalidInputError for a key that is not 1–200
   * printable ASCII characters.
   */
  async refund(
    operator: Operator,
    purchaseId: string,
    options: { resellCheckedInSeats: boolean; seatIds?: readonly number[]; idempotencyKey?: string } = {
      resellCheckedInSeats: true,
    },
  ): Promise<SeatsRefunded> {
    const { idempotencyKey } = options;
    if (idempotencyKey !== undefined) assertIdempotencyKey(idempotencyKey);
    const purchase = await this.get(purchaseId);
    // With a key, a canceled purchase may be the key's own whole refund, answered again: the script tells.
    if (purchase.status === 'CANCELED' && idempotencyKey === undefined) throw new PurchaseRefundedError();
    const mode = options.resellCheckedInSeats ? 'operator' : 'operator-keep-checked-in';
    const key = idempotencyKey === undefined ? undefined : { operatorId: operator.id, idempotencyKey };
    let refunded: SeatsRefunded;
    try {
      if (options.seatIds) {
        refunded = await this.cancellation.refundSeats(
          purchase.userId,
          purchaseId,
          options.seatIds,
          mode,
          operator.id,
          key,
        );
      } else {
        const canceled = await this.cancellation.cancelAsOperator(purchase.userId, purchaseId, mode, operator.id, key);
        refunded = { ...canceled, refundedNow: { seatIds: canceled.seatIds, amount: canceled.amount } };
      }
    } catch (error) {
      throw error instanceof PurchaseCanceledError ? new PurchaseRefundedError() : error;
    }
    const entry = {
      actorId: operator.id,
      actorEmail: operator.email,
      action: REFUND_ACTION,
      subjectId: purchaseId,
      details: {
        buyerId: refunded.userId,
        performanceId: refunded.performanceId,
        // What this refund gave back; `partial` when the purchase stays paid with other seats.
        amount: refunded.refundedNow.amount,
        currency: refunded.currency,
        seatIds: refunded.refundedNow.seatIds,
        keptSeatIds: refunded.keptSeatIds,
        refundMethod: refundMethodOf(refunded),
        // Told by the refund itself (a replay reads the purchase as it is now, maybe refunded further since).
        partial: refunded.refundId !== undefined,
        // A partial refund's own id (its purchase_refunds row): what tells a replay's row from another refund's.
        ...(refunded.refundId === undefined ? {} : { refundId: refunded.refundId }),
      },
    };
    if (!refunded.replayed) await this.audit.record(entry);
    else {
      // The whole refund is the purchase's one cancellation; a partial one is told by its id.
      await this.audit.recordOnce(
        entry,
        refunded.refundId === undefined ? { partial: false } : { refundId: refunded.refundId },
      );
    }
    return refunded;
  }
}

/**
 * How a refund's money goes back: `PAYMENT_GATEWAY` (an online sale's charge, refunded through the
 * gateway now or by `batch`), `CASH` or `CARD_TERMINAL` (a box office sale: given back at the window
 * the way it was taken; the gateway is never asked), null (a free purchase: nothing to give back).
 */
export type RefundMethod = 'PAYMENT_GATEWAY' | 'CASH' | 'CARD_TERMINAL' | null;

/** The refund method of a canceled purchase (see RefundMethod). */
export function refundMethodOf(canceled: Pick<CanceledPurchase, 'refund' | 'paymentMethod'>): RefundMethod {
  if (canceled.refund === 'none') return null;
  if (canceled.refund === 'at-window') return canceled.paymentMethod ?? null;
  return 'PAYMENT_GATEWAY';
}
