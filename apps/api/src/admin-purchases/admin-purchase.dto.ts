import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsOptional } from 'class-validator';
import { normalizeEmail } from '@app/auth';
import { refundMethodOf } from '@app/ticketing';
import type { CanceledPurchase, Described, Purchase, RefundMethod } from '@app/ticketing';
import { OptionalIdQuery } from '../common/canonical-integer';
import { PageQueryDto } from '../common/page-query.dto';
import { mapPurchase, PurchaseResponseDto } from '../purchases/purchase.dto';
import { MaxLength } from '../common/text-length';

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
}

/** A purchase as operators see it: the buyer's view plus whose it is. */
export class AdminPurchaseResponseDto extends PurchaseResponseDto {
  /** The buyer's user id (a comp's recipient). */
  userId: string;
  /**
   * A comp's note (who and why the box office gave it, as the operator wrote it); null for a
   * purchase the buyer made. @example "press: Daily Planet"
   */
  @ApiProperty({ type: 'string', nullable: true })
  compNote: string | null;
}

export class AdminPurchasePageDto {
  items: AdminPurchaseResponseDto[];
  nextCursor: string | null;
}

export function mapAdminPurchase(purchase: Described<Purchase>): AdminPurchaseResponseDto {
  return { ...mapPurchase(purchase), userId: purchase.userId, compNote: purchase.compNote ?? null };
}

/**
 * The body of `POST /admin/purchases/:id/refund`, optional. A purchase with a checked-in ticket
 * is refunded only with `resellCheckedInSeats: false`.
 */
export class AdminRefundDto {
  @ApiPropertyOptional({
    description:
      'Whether the seats of checked-in tickets go back on sale. Someone came in on them, so a refund of a purchase with a checked-in ticket is refused (409) unless this is `false`: the purchase is then refunded and canceled, its checked-in seats stay sold (never resold), its other seats go back on sale. Default: `true`.',
    default: true,
  })
  @IsOptional()
  @IsBoolean()
  resellCheckedInSeats?: boolean;
}

/** A refunded purchase, with the checked-in seats the refund kept off sale. */
export class AdminRefundResponseDto extends AdminPurchaseResponseDto {
  /** Seats of checked-in tickets left sold, never to be resold; empty unless `resellCheckedInSeats` was false. */
  @ApiProperty({ type: 'integer', isArray: true })
  keptSeatIds: number[];
  /**
   * How the money goes back: `PAYMENT_GATEWAY` (an online sale: refunded through the payment
   * gateway), `CASH` or `CARD_TERMINAL` (a box office sale: nothing goes through the gateway; the
   * window gives the money back the way it took it, from the cash drawer or as a refund on the card
   * terminal), null (a free purchase: nothing to give back). @example "PAYMENT_GATEWAY"
   */
  @ApiProperty({ enum: ['PAYMENT_GATEWAY', 'CASH', 'CARD_TERMINAL'], nullable: true, type: 'string' })
  refundMethod: RefundMethod;
}

export function mapAdminRefund(purchase: Described<CanceledPurchase>): AdminRefundResponseDto {
  return { ...mapAdminPurchase(purchase), keptSeatIds: purchase.keptSeatIds, refundMethod: refundMethodOf(purchase) };
}
