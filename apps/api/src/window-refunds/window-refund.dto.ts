import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import type { WindowRefund, WindowRefundStatus } from '@app/database';
import { PageQueryDto } from '../common/page-query.dto';
import { MoneyProperty } from '../common/validators';

const WINDOW_REFUND_STATUSES: readonly WindowRefundStatus[] = ['OWED', 'PAID'];

/** The query of `GET /admin/performances/:id/window-refunds`: a page, optionally of one status. */
export class WindowRefundQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    enum: WINDOW_REFUND_STATUSES,
    description: 'Only refunds still owed at the window (OWED) or given back there (PAID); both when absent.',
  })
  @IsOptional()
  @IsIn(WINDOW_REFUND_STATUSES, { message: `status must be one of ${WINDOW_REFUND_STATUSES.join(', ')}` })
  status?: WindowRefundStatus;
}

/** Who marked a window refund paid. */
export class WindowRefundPaidByDto {
  /** The operator's user id. */
  @ApiProperty({ format: 'uuid' })
  id: string;
  /** The operator's e-mail at the time. @example "window@example.com" */
  email: string;
}

/**
 * A box office sale canceled with its performance, whose money is given back at the window: owed
 * until an operator marks it paid.
 */
export class WindowRefundResponseDto {
  @ApiProperty({ format: 'uuid' })
  purchaseId: string;
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  /** What goes back, in minor units of `currency` (the sale less its partial refunds). */
  @MoneyProperty()
  amount: number;
  /** ISO 4217 code. @example "EUR" */
  currency: string;
  /** How it goes back, as the sale was paid: in cash, or to the card on the terminal. */
  @ApiProperty({ enum: ['CASH', 'CARD_TERMINAL'] })
  refundMethod: 'CASH' | 'CARD_TERMINAL';
  @ApiProperty({ enum: WINDOW_REFUND_STATUSES })
  status: WindowRefundStatus;
  /** When the performance's bulk refund canceled the sale. */
  @ApiProperty({ format: 'date-time' })
  owedAt: string;
  /** When it was marked paid; null while owed. */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  paidAt: string | null;
  @ApiProperty({ type: WindowRefundPaidByDto, nullable: true })
  paidBy: WindowRefundPaidByDto | null;
  /** Whom to pay: the address the window took (else the selling account's). @example "walk.up@example.com" */
  buyerEmail: string;
  /** The name the window took (else the address, or the selling account's name). @example "Jin Park" */
  buyerName: string;
}

export class WindowRefundPageDto {
  items: WindowRefundResponseDto[];
  @ApiProperty({ type: 'string', nullable: true })
  nextCursor: string | null;
}

export function mapWindowRefund(refund: WindowRefund): WindowRefundResponseDto {
  return {
    purchaseId: refund.purchaseId,
    performanceId: refund.performanceId,
    amount: refund.amount,
    currency: refund.currency,
    refundMethod: refund.refundMethod,
    status: refund.status,
    owedAt: refund.owedAt.toISOString(),
    paidAt: refund.paidAt?.toISOString() ?? null,
    paidBy: refund.paidBy,
    buyerEmail: refund.buyerEmail,
    buyerName: refund.buyerName,
  };
}
