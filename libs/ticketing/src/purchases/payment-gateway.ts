import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Env } from '@app/config';
import { PaymentDeclinedError } from '../errors';

export interface ChargeRequest {
  /** Made before the charge. */
  purchaseId: string;
  /**
   * The hold being bought (`reservationId` of POST /purchases, lower case): known to the buyer's
   * client before it pays, so a processor whose client-side payment names an order (Toss Payments'
   * `orderId`) is given the hold id as that order id, and the gateway confirms that order with it.
   */
  reservationId: string;
  /**
   * The gateway charges one key once: a retried charge with the same key (a retried request of the
   * buyer's) answers the first charge and takes no more; `batch` never charges, it looks the charge
   * of a crashed request up (`findCharge`). Every charge of one key carries the same `paymentToken`,
   * amount and currency.
   */
  idempotencyKey: string;
  /**
   * What the processor's client SDK returned to the buyer (`paymentToken` of POST /purchases, 1–500
   * printable ASCII characters): a Stripe PaymentMethod id (`pm_…`) to confirm a PaymentIntent with,
   * a Toss Payments `paymentKey` to confirm with `orderId` = `reservationId`. Null when the buyer sent
   * none. A secret of the buyer's: never log it, never put it in an error message.
   */
  paymentToken: string | null;
  userId: string;
  /** An integer in minor units of `currency` (1050 KRW is ₩1,050; 1050 EUR is €10.50). */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
}

/**
 * The charge of a payment attempt, as the api asks it: its charge and a same-key retry's send these
 * fields of the attempt's row, and nothing else, so a processor sees one request under one
 * idempotency key (`batch`'s reconciler only looks the charge up: `chargeLookupOf`).
 */
export function chargeRequestOf(attempt: ChargeRequest): ChargeRequest {
  return {
    purchaseId: attempt.purchaseId,
    reservationId: attempt.reservationId,
    idempotencyKey: attempt.idempotencyKey,
    paymentToken: attempt.paymentToken,
    userId: attempt.userId,
    amount: attempt.amount,
    currency: attempt.currency,
  };
}

/**
 * What `findCharge` is given: the attempt's charge request without the buyer's `paymentToken` (a
 * lookup needs no secret of the buyer's). Its fields are those of the attempt's ChargeRequest.
 */
export type ChargeLookup = Omit<ChargeRequest, 'paymentToken'>;

/** The lookup of a payment attempt's charge (see `PaymentGateway.findCharge`): its row's fields, no token. */
export function chargeLookupOf(attempt: ChargeLookup): ChargeLookup {
  return {
    purchaseId: attempt.purchaseId,
    reservationId: attempt.reservationId,
    idempotencyKey: attempt.idempotencyKey,
    userId: attempt.userId,
    amount: attempt.amount,
    currency: attempt.currency,
  };
}

/**
 * A refund of a charge, in full or in part. One purchase has one whole refund, whoever asks for it (its buyer's
 * cancel, an operator's refund, the bulk refund of a canceled performance, the refund of a sale
 * refused after its charge, `batch`'s payment reconciler) and however often (a retry after an
 * answer that came too late or not at all): every ask carries the same `idempotencyKey`.
 */
export interface RefundRequest {
  /** The charge to give back, as `charge` answered it. */
  chargeId: string;
  /**
   * `refundIdempotencyKey(purchaseId)`: follows from the purchase alone, so every process and
   * every retry sends the same key for it; for a partial refund (an operator refunded some seats),
   * `partialRefundIdempotencyKey(purchaseId, refundId)`, one key per partial refund.
   */
  idempotencyKey: string;
  /**
   * An integer in minor units of `currency`, never 0: the whole charge; for a partial refund, its
   * seats' prices summed; for the whole refund of a purchase partially refunded before, what is left
   * of the charge. All the refunds of one charge never sum to more than it.
   */
  amount: number;
  /** ISO 4217 code, the charge's. */
  currency: string;
}

/**
 * The idempotency key of one partial refund of a purchase (an operator refunded some of its seats):
 * `refund:<purchase id>:<refund id>`. Each partial refund is a refund of its own, of its seats'
 * prices; a purchase's whole refund (its cancel) keeps `refundIdempotencyKey` and gives back what
 * its partial refunds left of the charge.
 */
export function partialRefundIdempotencyKey(purchaseId: string, refundId: string): string {
  return `refund:${purchaseId.toLowerCase()}:${refundId.toLowerCase()}`;
}

/** The one idempotency key of a purchase's whole refund (see RefundRequest). */
export function refundIdempotencyKey(purchaseId: string): string {
  return `refund:${purchaseId.toLowerCase()}`;
}

/**
 * The port to whoever moves the money. The abstract class is the DI token: bind another
 * implementation with `{ provide: PaymentGateway, useClass: … }`.
 */
export abstract class PaymentGateway {
  /** Charges the buyer; throws `PaymentDeclinedError` when the payment is refused. */
  abstract charge(request: ChargeRequest): Promise<{ chargeId: string }>;

  /**
   * Whether the processor holds a charge made under `lookup.idempotencyKey`, asked by `batch`'s
   * payment reconciler for an attempt left open with no charge id (its request died around its
   * charge, or the charge's answer was lost) whose purchase did not happen: `{ chargeId }` (as
   * `charge` answered or would have answered it) when there is one, to be refunded; `null` when the
   * processor has none under that key (the request died before its charge reached the processor):
   * the attempt is settled `DECLINED`, nothing taken, nothing given back. Throws when it cannot tell
   * (the processor unreachable, an answer it cannot read): the attempt stays open and is asked about
   * again on a later pass.
   *
   * It must never create, confirm or capture a charge: asking `charge` again instead would charge a
   * buyer whose first request never reached the processor, and refund at once (a charge and a refund
   * on the buyer's card, and days of a pending authorization, for a purchase that never happened).
   * A real gateway looks the charge up:
   * - Stripe: the PaymentIntent created under the key, e.g. found by the metadata `charge` set on it
   *   (`GET /v1/payment_intents/search?query=metadata['idempotency_key']:'<key>'`; search is
   *   eventually consistent, about a minute behind, which PAYMENT_RECONCILE_AFTER_SECONDS covers by
   *   default; or the PaymentIntent id `charge` stored under the key), answering its id when its
   *   status is `succeeded` (or `requires_capture`), `null` when there is none or it never succeeded;
   * - Toss Payments: `GET /v1/payments/orders/{orderId}` with `orderId` = `reservationId`, answering
   *   its `paymentKey` when the payment is `DONE` for this key's `amount`, `null` on `404
   *   NOT_FOUND_PAYMENT` or a payment never approved.
   * The lookup must outlive any idempotency key's expiry at the processor (a canceled purchase whose
   * charge id was never recorded is looked up too). `null` is the processor's answer at that instant:
   * a charge request of the api still in flight may land after it; the api notes such a late charge
   * (the attempt reopens as CHARGED) and refunds it when its sale is refused, so bound `charge`'s own
   * wait for the processor well below PAYMENT_RECONCILE_AFTER_SECONDS.
   */
  abstract findCharge(lookup: ChargeLookup): Promise<{ chargeId: string } | null>;

  /**
   * Gives a charge back, in full or the request's part of it (see RefundRequest.amount). The gateway refunds one key once: a repeated refund with the same
   * key (a retry after a timeout, a crash, or another process owing the same refund) answers the
   * first refund and moves no more money, and a charge already refunded in full under this key is
   * a success, never an error. A real gateway passes the key on as its processor's idempotency key
   * (Stripe's `Idempotency-Key` header, Toss Payments' `Idempotency-Key` on the cancel call).
   * Throws when the refund was not made (or its answer did not come): the caller records it owed,
   * and `batch`'s payment reconciler asks again with the same request.
   */
  abstract refund(request: RefundRequest): Promise<void>;
}

/**
 * The default gateway: approves every charge and every refund, moving no money. A charge's id
 * follows from its idempotency key, so a retried charge is the same charge; with no money moved,
 * a repeated refund is trivially the same refund. Its ledger is the
 * payment attempts: it keeps no books of its own, so `findCharge` cannot tell a charge made from
 * none and answers the charge `charge` would have answered for the key (the reconciler then
 * "refunds" it, moving nothing, as it always did with this gateway). A production process that starts with it says so at warn level, once: a
 * deployment that forgot to bind a real gateway would give tickets away.
 */
@Injectable()
export class ApprovingPaymentGateway extends PaymentGateway implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApprovingPaymentGateway.name);

  constructor(@Inject(Env) private readonly env: Env) {
    super();
  }

  onApplicationBootstrap(): void {
    if (this.env.NODE_ENV !== 'production') return;
    this.logger.warn(
      'payments: the default ApprovingPaymentGateway approves every charge and moves no money; ' +
        'bind a real PaymentGateway before selling tickets (docs/guide/buying.md, Purchases)',
    );
  }

  charge(request: ChargeRequest): Promise<{ chargeId: string }> {
    return Promise.resolve({ chargeId: `ch_${request.idempotencyKey}` });
  }

  findCharge(lookup: ChargeLookup): Promise<{ chargeId: string } | null> {
    return Promise.resolve({ chargeId: `ch_${lookup.idempotencyKey}` });
  }

  refund(_request: RefundRequest): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A gateway that declines every charge, for tests and demos of the 402 path. It never charged, so
 * it finds no charge under any key, and every refund (of any key) is approved with nothing to give back.
 */
@Injectable()
export class DecliningPaymentGateway extends PaymentGateway {
  charge(): Promise<{ chargeId: string }> {
    return Promise.reject(new PaymentDeclinedError());
  }

  findCharge(): Promise<{ chargeId: string } | null> {
    return Promise.resolve(null);
  }

  refund(_request: RefundRequest): Promise<void> {
    return Promise.resolve();
  }
}
