import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { AdmissionHalt, QueueTicket, TicketEndReason, WaitingRoomView } from '@app/ticketing';
import { IntegerField, IsScheduleTime } from '../common/validators';

/** Why a waiting room admits no one now (AdmissionHalt). */
const ADMISSION_HALTS: AdmissionHalt[] = ['PAUSED', 'CLOSED', 'ENDED', 'SALES_NOT_OPEN', 'SOLD_OUT'];

/** The body of `PUT /performances/:id/queue`. */
export class WaitingRoomSettingsDto {
  @ApiProperty({
    format: 'date-time',
    description:
      'RFC 3339 with an explicit offset. Buyers who join before it form the pre-queue, shuffled at this moment; ' +
      'after it, arrival order. Cannot change once the queue has opened. Between 2000-01-01T00:00:00Z and 2199-12-31T23:59:59.999Z.',
    example: '2027-03-01T10:00:00+09:00',
  })
  @IsScheduleTime()
  opensAt: string;

  /** Most buyers admitted per second. @example 50 */
  @IntegerField(1, 10_000)
  admitPerSecond: number;

  /** Most admitted buyers holding a slot at once. @example 2000 */
  @IntegerField(1, 1_000_000)
  maxActive: number;

  /** An admitted buyer who holds no seats within this many seconds loses the slot. @example 120 */
  @IntegerField(1, 86_400)
  admissionTtlSeconds: number;

  /** A session ends this many seconds after the buyer's first hold (a purchase ends it sooner). @example 600 */
  @IntegerField(1, 86_400)
  sessionTtlSeconds: number;
}

export class WaitingRoomFiguresDto {
  /** Whether the pre-queue has been shuffled into the line (then `seed` is shown). */
  opened: boolean;
  /** Size of the pre-queue at the opening; null before it. */
  @ApiProperty({ type: 'integer', nullable: true })
  preQueueSize: number | null;
  /** Buyers waiting (pre-queue and line). */
  @ApiProperty({ type: 'integer' })
  waiting: number;
  /** Admitted buyers holding a slot. */
  @ApiProperty({ type: 'integer' })
  active: number;
  /** Buyers admitted since the queue was set. */
  @ApiProperty({ type: 'integer' })
  admitted: number;
  /** Most slots held at once so far. */
  @ApiProperty({ type: 'integer' })
  peakActive: number;
  /** Admissions per second, measured over the last window of at least 2 s. */
  measuredAdmitPerSecond: number;
}

export class WaitingRoomResponseDto {
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  /**
   * The performance was canceled: the room takes no one and no longer changes (409
   * PerformanceCanceled), every ticket reads ENDED with endReason CANCELED, and `figures` count
   * none waiting or active.
   */
  canceled: boolean;
  @ApiProperty({ format: 'date-time' })
  opensAt: string;
  @ApiProperty({ type: 'integer' })
  admitPerSecond: number;
  @ApiProperty({ type: 'integer' })
  maxActive: number;
  @ApiProperty({ type: 'integer' })
  admissionTtlSeconds: number;
  @ApiProperty({ type: 'integer' })
  sessionTtlSeconds: number;
  /** Seconds buyers are told to wait between polls (WAITING_ROOM_POLL_AFTER_SECONDS). */
  @ApiProperty({ type: 'integer' })
  pollAfterSeconds: number;
  /** Hex SHA-256 of the 32 seed bytes: the commitment to the pre-queue shuffle, shown from the start. */
  seedSha256: string;
  /** The seed (64 hex digits), revealed once the pre-queue is shuffled; re-derive the order with it (docs/guide/waiting-room.md). */
  @ApiProperty({ type: 'string', nullable: true })
  seed: string | null;
  /**
   * Why nobody is admitted now though buyers wait, null while admission runs (and for a canceled
   * performance): PAUSED or CLOSED (the performance's status, or closed while it is deleted),
   * ENDED (salesCloseAt passed), SALES_NOT_OPEN (before salesOpenAt with no presale open: holds
   * would answer 403 SalesNotOpen) or SOLD_OUT (no seat available now; seats that come back, from
   * holds that expire or are released and purchases canceled, let admission go on). The line keeps
   * its order meanwhile.
   */
  @ApiProperty({ enum: ADMISSION_HALTS, nullable: true })
  admissionHalted: AdmissionHalt | null;
  figures: WaitingRoomFiguresDto;
}

export function mapWaitingRoom(view: WaitingRoomView): WaitingRoomResponseDto {
  return { ...view, opensAt: view.opensAt.toISOString() };
}

export class PreQueuePlaceDto {
  /** The ticket's arrival number in the pre-queue (1 … preQueueSize). */
  @ApiProperty({ type: 'integer' })
  arrival: number;
  /** Its place at the opening: the seed's permutation of the arrival number. */
  @ApiProperty({ type: 'integer' })
  openingPosition: number;
}

export class QueueTicketResponseDto {
  /** @example "b0f10000-0007-8c2e-9a4b-2f1e0c3d4a5b" */
  ticketId: string;
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  /** WAITING in line, ADMITTED (send `admissionToken`), or ENDED (see `endReason`). */
  @ApiProperty({ enum: ['WAITING', 'ADMITTED', 'ENDED'] })
  status: 'WAITING' | 'ADMITTED' | 'ENDED';
  /** 1-based place in the line; null in the pre-queue before the opening, once admitted, or ended. */
  @ApiProperty({ type: 'integer', nullable: true })
  position: number | null;
  /** Estimated seconds until admission, from the measured admission rate. */
  @ApiProperty({ type: 'integer' })
  etaSeconds: number;
  /** Poll again after this many seconds; a waiting ticket silent for twice as long drops out. */
  @ApiProperty({ type: 'integer' })
  pollAfterSeconds: number;
  /** Once admitted: send it as the `Admission-Token` header of POST /reservations and POST /purchases. */
  @ApiProperty({ type: 'string', nullable: true })
  admissionToken: string | null;
  /** When the admission token stops being accepted: admission + admissionTtlSeconds + sessionTtlSeconds, the longest a slot can last, plus the time the sale has been PAUSED since (while paused it moves on with the pause). */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  admissionExpiresAt: string | null;
  /** Once admitted: when the slot ends (EXPIRED then): admission + admissionTtlSeconds until the first hold, then that hold + sessionTtlSeconds, plus the time the sale has been PAUSED since (a pause costs the slot no time; while paused it moves on with the pause). What a countdown shows. */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  slotEndsAt: string | null;
  /** For a pre-queue ticket, once shuffled: its arrival number and opening position. */
  @ApiPropertyOptional({ type: PreQueuePlaceDto, nullable: true })
  preQueue: PreQueuePlaceDto | null;
  /**
   * LEFT, DROPPED (stopped polling), EXPIRED (slot unused or session over), DONE (bought), CLOSED
   * (an admin removed the queue, or the performance was deleted) or CANCELED (the performance was
   * canceled).
   */
  @ApiProperty({ enum: ['LEFT', 'DROPPED', 'EXPIRED', 'DONE', 'CLOSED', 'CANCELED'], nullable: true })
  endReason: TicketEndReason | null;
  /**
   * While WAITING: why nobody is admitted now, so the page can say so: PAUSED or CLOSED (the
   * performance's status, or closed while it is deleted), ENDED (salesCloseAt passed),
   * SALES_NOT_OPEN (before salesOpenAt with no presale open) or SOLD_OUT (no seat available now; seats
   * may come back, from holds that expire or are released and purchases canceled, and admission
   * goes on then). Null while admission runs, and once ADMITTED or ENDED. The ticket keeps its
   * place; `etaSeconds` does not count the halt.
   */
  @ApiProperty({ enum: ADMISSION_HALTS, nullable: true })
  admissionHalted: AdmissionHalt | null;
}

export function mapQueueTicket(ticket: QueueTicket): QueueTicketResponseDto {
  return {
    ...ticket,
    admissionExpiresAt: ticket.admissionExpiresAt?.toISOString() ?? null,
    slotEndsAt: ticket.slotEndsAt?.toISOString() ?? null,
  };
}
