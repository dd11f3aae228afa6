import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { MAX_INT4 } from '@app/core';
import type { CheckIn, QueuedResend, QueuedTicketResend, Ticket, UndoneCheckIn } from '@app/ticketing';
import { RowLabelProperty, RowProperty } from '../common/row-properties';
import { MaxLength } from '../common/text-length';

/** The body of `POST /check-in`: the code read from the ticket's QR code. */
export class CheckInCreateDto {
  /**
   * The signed ticket code (66 base64url characters, 68 for a code reissued by a transfer) as scanned. A forged or malformed one is a 400.
   * White space and line breaks around it are dropped first: keyboard-wedge scanners end a scan
   * with Enter (CR, LF or both) or a tab, and some add a prefix space; anything inside the code
   * makes it malformed.
   * @example "AQAAAAAAAAABC2_zXm0sSkOdVS8LDB0uPwAAACoAAAV5Qk8y4cNfQ2l3f4sWcJ7EhA"
   */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @MaxLength(512)
  code: string;

  /**
   * The performance this door admits to. Given, a ticket for another performance (another show,
   * or another day of it) is refused with 409 `TicketForAnotherPerformance` and stays unused;
   * omitted, any performance's ticket is admitted. Scanner apps should send it.
   * @example 1
   */
  @ApiProperty({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_INT4)
  performanceId?: number;
}

/** A seat as people read it. */
export class TicketSeatDto {
  /** @example 1401 */
  @ApiProperty({ type: 'integer' })
  id: number;
  /** @example "Floor" */
  section: string;
  @RowProperty(3)
  row: number;
  @RowLabelProperty('booking')
  rowLabel: string;
  /** @example 7 */
  @ApiProperty({ type: 'integer' })
  number: number;
}

export class TicketResponseDto {
  /**
   * Ticket id (a decimal string: a bigint); null for a ticket of a purchase canceled before it was
   * written to PostgreSQL (its tickets get ids, canceled, when it is). @example "1024"
   */
  @ApiProperty({ type: 'string', nullable: true, example: '1024' })
  id: string | null;
  purchaseId: string;
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  seat: TicketSeatDto;
  /**
   * `CANCELED` once the purchase is canceled or refunded; `TRANSFERRED` once the buyer gave it to
   * someone else by a transfer (its code is theirs now).
   */
  @ApiProperty({ enum: ['ACTIVE', 'CANCELED', 'TRANSFERRED'] })
  status: 'ACTIVE' | 'CANCELED' | 'TRANSFERRED';
  /** The signed code to show at the door, also drawn as the QR code of the purchase e-mail; null when canceled or transferred. */
  @ApiProperty({ type: 'string', nullable: true })
  code: string | null;
  /** When it was checked in at the door (RFC 3339, UTC); null before. */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  checkedInAt: string | null;
}

export class TicketListDto {
  items: TicketResponseDto[];
}

/**
 * Who the ticket admits: the account that accepted it by a transfer, else the buyer; for a box office
 * sale the walk-up as the window took them (each null when the window took none), never the clerk.
 */
export class CheckInHolderDto {
  /** @example "Ada Lovelace" */
  @ApiProperty({ type: 'string', nullable: true })
  name: string | null;
  /** @example ada@example.com */
  @ApiProperty({ type: 'string', nullable: true })
  email: string | null;
}

/** A successful check-in: let the holder in (the ticket's current holder: its buyer, or who it was transferred to), to this seat. */
export class CheckInResponseDto {
  /** @example "1024" */
  ticketId: string;
  purchaseId: string;
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  seat: TicketSeatDto;
  holder: CheckInHolderDto;
  /** RFC 3339 with offset (UTC). @example "2030-03-01T18:42:07.123Z" */
  @ApiProperty({ format: 'date-time' })
  checkedInAt: string;
}

/** The seat of a ticket (a buyer's, a checked-in or a held one) as people read it. */
export function mapTicketSeat(
  ticket: Pick<Ticket, 'seatId' | 'section' | 'row' | 'rowLabel' | 'number'>,
): TicketSeatDto {
  return {
    id: ticket.seatId,
    section: ticket.section,
    row: ticket.row,
    rowLabel: ticket.rowLabel,
    number: ticket.number,
  };
}

export function mapTicket(ticket: Ticket): TicketResponseDto {
  return {
    id: ticket.ticketId,
    purchaseId: ticket.purchaseId,
    performanceId: ticket.performanceId,
    seat: mapTicketSeat(ticket),
    status: ticket.status === 'CANCELED' ? 'CANCELED' : ticket.status === 'TRANSFERRED' ? 'TRANSFERRED' : 'ACTIVE',
    code: ticket.code,
    checkedInAt: ticket.checkedInAt ? ticket.checkedInAt.toISOString() : null,
  };
}

export function mapCheckIn(checkIn: CheckIn): CheckInResponseDto {
  const { ticket } = checkIn;
  return {
    ticketId: ticket.ticketId,
    purchaseId: ticket.purchaseId,
    performanceId: ticket.performanceId,
    seat: mapTicketSeat(ticket),
    holder: { name: checkIn.holder.name, email: checkIn.holder.email },
    checkedInAt: checkIn.checkedInAt.toISOString(),
  };
}

/** The account that made an undone check-in. */
export class CheckInByDto {
  /** The staff or admin account; null once that account was deleted. */
  @ApiProperty({ type: 'string', format: 'uuid', nullable: true })
  id: string | null;
  /** @example door-1@example.com */
  @ApiProperty({ type: 'string', nullable: true })
  email: string | null;
}

/** The check-in an undo took back. */
export class UndoneCheckInDto {
  /** When the ticket had been checked in (RFC 3339, UTC). @example "2030-03-01T18:42:07.123Z" */
  @ApiProperty({ format: 'date-time' })
  checkedInAt: string;
  checkedInBy: CheckInByDto;
}

/** An undone check-in: the ticket, not checked in any more (it admits again, once), and the check-in it had. */
export class CheckInUndoResponseDto {
  /** @example "1024" */
  ticketId: string;
  purchaseId: string;
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  seat: TicketSeatDto;
  /** Always null: the ticket is not checked in any more. */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: null })
  checkedInAt: null;
  undoneCheckIn: UndoneCheckInDto;
}

/** The answer of `DELETE /check-in/:ticketId`: the ticket as it is now (not checked in) and the check-in undone. */
export function mapCheckInUndo(undone: UndoneCheckIn): CheckInUndoResponseDto {
  const { ticket } = undone;
  return {
    ticketId: ticket.ticketId,
    purchaseId: ticket.purchaseId,
    performanceId: ticket.performanceId,
    seat: mapTicketSeat(ticket),
    checkedInAt: null,
    undoneCheckIn: {
      checkedInAt: undone.undone.checkedInAt.toISOString(),
      checkedInBy: { id: undone.undone.checkedInBy.id, email: undone.undone.checkedInBy.email },
    },
  };
}

/** A resend of a purchase's tickets, queued: the e-mail goes out through the outbox and the mailer. */
export class TicketResendResponseDto {
  purchaseId: string;
  /** The request's id; the e-mail's Message-ID carries it. */
  @ApiProperty({ format: 'uuid' })
  resendId: string;
  /** The tickets the e-mail carries as of now (decimal ids): active, not transferred away. @example ["1024", "1025"] */
  ticketIds: string[];
}

/** The answer of an admin's resend of one ticket to its holder (202): what was queued, and where it goes as of now. */
export class TicketHolderResendResponseDto {
  /** The ticket (a decimal string: a bigint). @example "1024" */
  ticketId: string;
  purchaseId: string;
  /** The request's id; the e-mail's Message-ID carries it. */
  @ApiProperty({ format: 'uuid' })
  resendId: string;
  /**
   * Who holds it as of now, where the e-mail goes (the mailer reads the holder again when it sends):
   * the account it was transferred to, else the purchase's address (a box office sale's delivery
   * address, else the buyer's). @example friend@example.com
   */
  recipientEmail: string;
  /** True when an account other than the buyer holds it by a transfer. */
  transferred: boolean;
}

export function mapTicketHolderResend(queued: QueuedTicketResend): TicketHolderResendResponseDto {
  return {
    ticketId: queued.ticketId,
    purchaseId: queued.purchaseId,
    resendId: queued.resendId,
    recipientEmail: queued.recipientEmail,
    transferred: queued.transferred,
  };
}

/** The answer of a resend (buyer's or admin's route, 202): what was queued. */
export function mapTicketResend(queued: QueuedResend): TicketResendResponseDto {
  return { purchaseId: queued.purchaseId, resendId: queued.resendId, ticketIds: [...queued.ticketIds] };
}
