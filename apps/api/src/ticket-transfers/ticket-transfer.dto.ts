import { ApiProperty } from '@nestjs/swagger';
import type { TicketTransferRecord, TransferCancelReason } from '@app/database';
import type { HeldTicket } from '@app/ticketing';
import { NormalizedEmail } from '../auth/auth.dto';
import { mapTicketSeat, TicketSeatDto } from '../tickets/ticket.dto';

/** The body of `POST /tickets/:ticketId/transfers`: where the offer goes. */
export class TicketTransferCreateDto {
  /**
   * The recipient's e-mail address, in any letter case (it need not have an account yet: whoever
   * signs in with it confirmed accepts). @example friend@example.com
   */
  @NormalizedEmail()
  email: string;
}

/** A ticket transfer, as its sender and its recipient see it. */
export class TicketTransferResponseDto {
  /** @example "6c1f9a6e-2f1b-4d8e-9c3a-1b2c3d4e5f60" */
  id: string;
  /** The ticket offered (a decimal string: a bigint). @example "1024" */
  ticketId: string;
  /** The address it was offered to, as stored (NFKC, lower case). @example friend@example.com */
  recipientEmail: string;
  /**
   * PENDING until accepted, declined by its recipient, canceled (by its sender, or with its purchase
   * or ticket) or expired.
   */
  @ApiProperty({ enum: ['PENDING', 'ACCEPTED', 'DECLINED', 'CANCELED', 'EXPIRED'] })
  status: 'PENDING' | 'ACCEPTED' | 'DECLINED' | 'CANCELED' | 'EXPIRED';
  /** RFC 3339, UTC. */
  @ApiProperty({ format: 'date-time' })
  createdAt: string;
  /**
   * When a pending offer expires: TICKET_TRANSFER_OFFER_HOURS after `createdAt`, or the performance's
   * start as it is now if sooner (a reschedule to an earlier start moves it; the accept goes by the same).
   */
  @ApiProperty({ format: 'date-time' })
  expiresAt: string;
  /** When it was accepted; null before. */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  acceptedAt: string | null;
  /** When it was canceled; null unless CANCELED. */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  canceledAt: string | null;
  /** When its recipient declined it; null unless DECLINED. */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  declinedAt: string | null;
  /**
   * Why a CANCELED one was: `SENDER` (its sender withdrew it), `PURCHASE_CANCELED` (its purchase
   * canceled or refunded), `CHECKED_IN` (the ticket was checked in at the door while it was pending:
   * the check-in ended it at once), `TICKET_CANCELED` or `PERFORMANCE_CANCELED` (found so by an
   * accept); null unless CANCELED (and for one canceled before reasons were kept).
   */
  @ApiProperty({
    type: 'string',
    enum: ['SENDER', 'PURCHASE_CANCELED', 'CHECKED_IN', 'TICKET_CANCELED', 'PERFORMANCE_CANCELED'],
    nullable: true,
  })
  cancelReason: TransferCancelReason | null;
  /** Whether the caller sent it (false: it was sent to the caller's address). */
  sent: boolean;
}

export class TicketTransferPageDto {
  items: TicketTransferResponseDto[];
  @ApiProperty({ type: 'string', nullable: true })
  nextCursor: string | null;
}

/** A ticket the caller holds (`GET /tickets`). */
export class HeldTicketResponseDto {
  /** Ticket id (a decimal string: a bigint). @example "1024" */
  id: string;
  purchaseId: string;
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  seat: TicketSeatDto;
  /**
   * `CANCELED` from the moment its purchase is canceled or refunded (also before the cancellation
   * is written to PostgreSQL).
   */
  @ApiProperty({ enum: ['ACTIVE', 'CANCELED'] })
  status: 'ACTIVE' | 'CANCELED';
  /** The signed code to show at the door (QR) of the ticket's current version; null when canceled. */
  @ApiProperty({ type: 'string', nullable: true })
  code: string | null;
  /** When it was checked in at the door (RFC 3339, UTC); null before. */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  checkedInAt: string | null;
  /** True for a ticket the caller received by a transfer; false for one it bought. */
  received: boolean;
}

export class HeldTicketPageDto {
  items: HeldTicketResponseDto[];
  @ApiProperty({ type: 'string', nullable: true })
  nextCursor: string | null;
}

export function mapTransfer(transfer: TicketTransferRecord, callerId: string): TicketTransferResponseDto {
  return {
    id: transfer.id,
    ticketId: transfer.ticketId,
    recipientEmail: transfer.recipientEmail,
    status: transfer.status,
    createdAt: transfer.createdAt.toISOString(),
    expiresAt: transfer.expiresAt.toISOString(),
    acceptedAt: transfer.acceptedAt?.toISOString() ?? null,
    canceledAt: transfer.canceledAt?.toISOString() ?? null,
    declinedAt: transfer.declinedAt?.toISOString() ?? null,
    cancelReason: transfer.cancelReason,
    sent: transfer.senderId === callerId,
  };
}

export function mapHeldTicket(ticket: HeldTicket): HeldTicketResponseDto {
  return {
    id: ticket.ticketId,
    purchaseId: ticket.purchaseId,
    performanceId: ticket.performanceId,
    seat: mapTicketSeat(ticket),
    status: ticket.status === 'CANCELED' ? 'CANCELED' : 'ACTIVE',
    code: ticket.code,
    checkedInAt: ticket.checkedInAt ? ticket.checkedInAt.toISOString() : null,
    received: ticket.received,
  };
}
