import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { JSONSchemaType } from 'ajv';
import { IsString, IsUUID, Matches, ValidateIf } from 'class-validator';
import { formatLocalDateTime, PAYMENT_TOKEN_PATTERN, PAYMENT_TOKEN_RULE, saleChannelOf } from '@app/ticketing';
import type { Described, Purchase } from '@app/ticketing';
import { BookingDetailsDto, mapBookedSeat } from '../common/booking-details.dto';
import { CompiledSchema } from '../common/compiled-validation';
import { MoneyProperty } from '../common/validators';

/** The body of `POST /purchases` (rules: the class-validator decorators; a compiled subset runs first). */
@CompiledSchema<{ reservationId: string; paymentToken?: string }>({
  type: 'object',
  properties: {
    // class-validator's `IsUUID()` also takes the nil and the max UUID: those two take the slow path.
    reservationId: {
      type: 'string',
      pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$',
    },
    // The DTO's rule (PAYMENT_TOKEN_PATTERN) exactly; absent is none, null is refused (as the DTO does).
    paymentToken: { type: 'string', pattern: '^[\\x21-\\x7E]{1,500}$' },
  },
  required: ['reservationId'],
  additionalProperties: false,
} as unknown as JSONSchemaType<{ reservationId: string; paymentToken?: string }>)
export class PurchaseCreateDto {
  /** The hold to buy (the `id` of `POST /reservations`). @example "0b6f3a52-8d1e-4c4a-9a57-2f1b3c4d5e6f" */
  @IsUUID()
  reservationId: string;

  /**
   * What the payment processor's client SDK returned to the buyer for this payment, passed to the
   * payment gateway with the charge: a Stripe PaymentMethod id (`pm_…`), a Toss Payments `paymentKey`
   * (its payment widget's `orderId` must be this `reservationId`). 1–500 printable ASCII characters
   * without spaces; absent when the deployment's gateway needs none. Never logged, never in an answer.
   * A retry with the same `Idempotency-Key` must send the same token (another one is a 409, the key
   * reused). With PAYMENT_GATEWAY=sandbox: `tok_decline` (402), `tok_timeout` (the charge's answer lost).
   * @example "pm_card_visa"
   */
  @ApiPropertyOptional({ minLength: 1, maxLength: 500, pattern: '^[\\x21-\\x7E]{1,500}$' })
  @ValidateIf((dto: PurchaseCreateDto) => dto.paymentToken !== undefined)
  @IsString()
  @Matches(PAYMENT_TOKEN_PATTERN, { message: PAYMENT_TOKEN_RULE })
  paymentToken?: string;
}

/** The presale a purchase was made in, as its answers name it. */
export class PurchasePresaleDto {
  /** The presale's id (decimal digits: `id` of `GET /admin/performances/:id/presales`). @example "12" */
  id: string;
  /**
   * Its name; for a presale deleted since, the name it had then (kept by its deletion's audit row).
   * Null only when neither is found, or PostgreSQL did not answer while a deleted presale's name
   * was read (the purchase is answered all the same). @example "Fan club presale"
   */
  @ApiProperty({ type: 'string', nullable: true })
  name: string | null;
}

export class PurchaseResponseDto extends BookingDetailsDto {
  /** @example "7a1d9c3e-5b2f-4e8a-9c0d-1e2f3a4b5c6d" */
  id: string;
  reservationId: string;
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  /** Ascending: the seats it holds (seats an operator refunded from it are in `refundedSeatIds` instead). */
  @ApiProperty({ type: 'integer', isArray: true })
  seatIds: number[];
  /**
   * Sum of the seat prices of `seatIds`, an integer in the minor unit of `currency`; what was
   * charged, less what partial refunds gave back (`refundedAmount`). 0 for a free purchase (every
   * seat priced 0), which is never charged and has nothing to refund. @example 300000
   */
  @MoneyProperty()
  amount: number;
  /** ISO 4217 code of the performance's event. @example "KRW" */
  currency: string;
  /** @example "PAID" */
  status: 'PAID' | 'CANCELED';
  @ApiProperty({ format: 'date-time' })
  createdAt: string;
  /** Set once canceled. */
  @ApiProperty({ format: 'date-time' })
  canceledAt?: string;
  /**
   * True for a comp: complimentary tickets the box office issued to this account (amount 0, never
   * charged, nothing to refund); false for a purchase the buyer made.
   */
  comp: boolean;
  /**
   * Where it was sold: `ONLINE` (bought through `POST /purchases`, or a comp) or `BOX_OFFICE` (sold
   * at the window by a staff or admin account, `POST /box-office/performances/:id/sales`: the venue's,
   * seen only on the admin routes).
   * @example "ONLINE"
   */
  @ApiProperty({ enum: ['ONLINE', 'BOX_OFFICE'] })
  saleChannel: 'ONLINE' | 'BOX_OFFICE';
  /**
   * How a box office sale was paid at the window (no payment gateway involved); null for an online
   * sale (paid through the gateway, or free).
   */
  @ApiProperty({ enum: ['CASH', 'CARD_TERMINAL'], nullable: true, type: 'string' })
  paymentMethod: 'CASH' | 'CARD_TERMINAL' | null;
  /**
   * The presale it was made in: its hold was let in by that presale's access code before the
   * on-sale (what a promoter settles with the fan club or card issuer by). Null for a sale of the
   * general on-sale (also one whose hold sent a code after the on-sale), a comp, a box office sale,
   * and a purchase made before purchases kept their presale. The same before and after `batch`
   * writes the purchase to PostgreSQL.
   */
  @ApiProperty({ type: PurchasePresaleDto, nullable: true })
  presale: PurchasePresaleDto | null;
  /**
   * Seats an operator refunded from it while it stayed paid (partial refunds), in the order they
   * were refunded; their tickets are void. Empty when none.
   */
  @ApiProperty({ type: 'integer', isArray: true })
  refundedSeatIds: number[];
  /**
   * What its partial refunds gave back, summed: an integer in the minor unit of `currency` (0 when
   * none). The charge was `amount + refundedAmount`; a canceled purchase was also refunded `amount`.
   * @example 0
   */
  @MoneyProperty()
  refundedAmount: number;
}

export class PurchasePageDto {
  items: PurchaseResponseDto[];
  nextCursor: string | null;
}

/**
 * The answer for a purchase. One object literal in the answer's field order, details first: a
 * spread of the details followed by more fields cost ~9 µs a purchase in the profile of
 * docs/performance.md (the object ends up in a slow shape), this ~2 µs.
 */
export function mapPurchase(purchase: Described<Purchase>): PurchaseResponseDto {
  const { details } = purchase;
  const answer: PurchaseResponseDto = {
    eventTitle: details.eventTitle,
    venue: details.venue,
    timeZone: details.timeZone,
    startsAt: details.startsAt.toISOString(),
    startsAtLocal: formatLocalDateTime(details.startsAt, details.timeZone),
    seats: details.seats.map(mapBookedSeat),
    id: purchase.id,
    reservationId: purchase.reservationId,
    performanceId: purchase.performanceId,
    seatIds: purchase.seatIds,
    amount: purchase.amount,
    currency: purchase.currency,
    status: purchase.status,
    createdAt: purchase.createdAt.toISOString(),
    comp: purchase.compNote !== undefined,
    saleChannel: saleChannelOf(purchase),
    paymentMethod: purchase.paymentMethod ?? null,
    presale: details.presale && { id: details.presale.id, name: details.presale.name },
    refundedSeatIds: purchase.refundedSeatIds,
    refundedAmount: purchase.refundedAmount,
  };
  if (purchase.canceledAt) answer.canceledAt = purchase.canceledAt.toISOString();
  return answer;
}
