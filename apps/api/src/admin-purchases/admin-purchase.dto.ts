import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsEmail,
  IsInt,
  IsOptional,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { MAX_INT4 } from '@app/core';
import { normalizeEmail } from '@app/auth';
import { PRESALE_ID, refundMethodOf, saleChannelOf } from '@app/ticketing';
import type { Described, Purchase, RefundMethod, SeatsRefunded } from '@app/ticketing';
import { OptionalIdQuery } from '../common/canonical-integer';
import { PageQueryDto } from '../common/page-query.dto';
import { mapPurchase, PurchaseResponseDto } from '../purchases/purchase.dto';
import { MaxLength } from '../common/text-length';
import { itemsAtLeast, itemsAtMost, MoneyProperty } from '../common/validators';

/** Most seats one refund names (a purchase has at most MAX_SEATS_PER_RESERVATION, a comp 20). */
const MAX_SEATS_PER_REFUND = 100;

/** The query of `GET /admin/purchases`: a page, optionally of one performance and/or one buyer. */
export class AdminPurchaseQueryDto extends PageQueryDto {
  @OptionalIdQuery('Only purchases of this performance (decimal digits).')
  performanceId?: number;

  @ApiPropertyOptional({
    description: 'Only purchases of the buyer with this e-mail (any case, any Unicode compatibility form).',
    maxLength: 320,
  })
  @IsOptional()
  // In the one spelling accounts are stored in (NFKC, lower case), so a fullwidth `ｕ＠` finds `u@`.
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? normalizeEmail(value) : value))
  @IsEmail()
  @MaxLength(320)
  email?: string;

  @ApiPropertyOptional({
    description:
      "Only purchases made in this presale (its `id`, decimal digits; a presale deleted since still finds its sales): what a promoter settles with the presale's fan club or card issuer.",
    pattern: PRESALE_ID.source,
    example: '12',
  })
  @IsOptional()
  @Matches(PRESALE_ID, { message: 'presaleId must be a presale id: decimal digits, no sign or leading zero' })
  presaleId?: string;
}

/** A purchase as operators see it: the buyer's view plus whose it is. */
export class AdminPurchaseResponseDto extends PurchaseResponseDto {
  /**
   * The account the purchase is stored under: the buyer's (a comp's recipient); for a box office
   * sale the selling clerk's, which is not its buyer (see `soldBy`, `deliveryEmail`).
   */
  userId: string;
  /**
   * A comp's note (who and why the box office gave it, as the operator wrote it); null for a
   * purchase the buyer made. @example "press: Daily Planet"
   */
  @ApiProperty({ type: 'string', nullable: true })
  compNote: string | null;
  /**
   * A box office sale's selling clerk (the staff or admin account's id that sold it at the window);
   * null for any other purchase. The sale is the venue's: that account sees none of it as a buyer.
   */
  @ApiProperty({ type: 'string', format: 'uuid', nullable: true })
  soldBy: string | null;
  /**
   * A box office sale's walk-up: where its e-mails go and the name they address, as the window took
   * them (each null when not given); null for any other purchase. @example "walk.up@example.com"
   */
  @ApiProperty({ type: 'string', nullable: true })
  deliveryEmail: string | null;
  /** @example "Walk Up" */
  @ApiProperty({ type: 'string', nullable: true })
  deliveryName: string | null;
}

export class AdminPurchasePageDto {
  items: AdminPurchaseResponseDto[];
  nextCursor: string | null;
}

export function mapAdminPurchase(purchase: Described<Purchase>): AdminPurchaseResponseDto {
  return {
    ...mapPurchase(purchase),
    userId: purchase.userId,
    compNote: purchase.compNote ?? null,
    soldBy: saleChannelOf(purchase) === 'BOX_OFFICE' ? purchase.userId : null,
    deliveryEmail: purchase.deliveryEmail ?? null,
    deliveryName: purchase.deliveryName ?? null,
  };
}

/**
 * The body of `POST /admin/purchases/:id/refund`, optional. Without `seatIds` the whole purchase is
 * refunded (canceled); with them, only those seats. A purchase with a checked-in ticket (of the
 * seats refunded) is refunded only with `resellCheckedInSeats: false`.
 */
export class AdminRefundDto {
  @ApiPropertyOptional({
    type: 'integer',
    isArray: true,
    minItems: 1,
    maxItems: MAX_SEATS_PER_REFUND,
    example: [102],
    description:
      'Refund only these seats of the purchase (a partial refund), each once: they go back on sale, their tickets are void, and their prices summed are refunded; the purchase stays PAID with its other seats. Naming every seat it still has is its whole refund (CANCELED). Absent: the whole purchase.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1, itemsAtLeast(1))
  @ArrayMaxSize(MAX_SEATS_PER_REFUND, itemsAtMost(MAX_SEATS_PER_REFUND))
  @ArrayUnique({ message: 'seatIds must not name a seat twice' })
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_INT4, { each: true })
  seatIds?: number[];

  @ApiPropertyOptional({
    description:
      'Whether the seats of checked-in tickets go back on sale. Someone came in on them, so a refund of a purchase with a checked-in ticket is refused (409) unless this is `false`: the purchase is then refunded and canceled, its checked-in seats stay sold (never resold), its other seats go back on sale. Default: `true`.',
    default: true,
  })
  @IsOptional()
  @IsBoolean()
  resellCheckedInSeats?: boolean;
}

/** What one refund gave back. */
export class RefundPartDto {
  /** The seats this refund refunded: those named, or (a whole refund) every seat the purchase still had. */
  @ApiProperty({ type: 'integer', isArray: true })
  seatIds: number[];
  /** Their prices summed, an integer in the minor unit of `currency` (0: free seats, nothing refunded). */
  @MoneyProperty()
  amount: number;
}

/**
 * A refunded purchase as it is now (`status` PAID after a partial refund, with its other seats;
 * CANCELED after a whole one), with the checked-in seats the refund kept off sale and what this
 * refund gave back (`refunded`).
 */
export class AdminRefundResponseDto extends AdminPurchaseResponseDto {
  /** Seats of checked-in tickets left sold, never to be resold; empty unless `resellCheckedInSeats` was false. */
  @ApiProperty({ type: 'integer', isArray: true })
  keptSeatIds: number[];
  /** This refund: its seats and amount. The purchase's partial refunds so far: `refundedSeatIds`, `refundedAmount`. */
  refunded: RefundPartDto;
  /**
   * How this refund's money goes back: `PAYMENT_GATEWAY` (an online sale: refunded through the
   * payment gateway), `CASH` or `CARD_TERMINAL` (a box office sale, whole or partial refund: nothing
   * goes through the gateway; the window gives the money back the way it took it, from the cash
   * drawer or as a refund on the card terminal), null (nothing to give back: free seats).
   * @example "PAYMENT_GATEWAY"
   */
  @ApiProperty({ enum: ['PAYMENT_GATEWAY', 'CASH', 'CARD_TERMINAL'], nullable: true, type: 'string' })
  refundMethod: RefundMethod;
}

export function mapAdminRefund(purchase: Described<SeatsRefunded>): AdminRefundResponseDto {
  return {
    ...mapAdminPurchase(purchase),
    keptSeatIds: purchase.keptSeatIds,
    refunded: { seatIds: purchase.refundedNow.seatIds, amount: purchase.refundedNow.amount },
    refundMethod: refundMethodOf(purchase),
  };
}
