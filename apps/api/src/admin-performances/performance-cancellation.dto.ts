import { ApiProperty } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { MAX_CANCELLATION_REASON_LENGTH } from '@app/ticketing';
import type { CancellationProgress } from '@app/ticketing';
import { FreeText } from '../common/free-text';
import { MaxLength } from '../common/text-length';

/** Body of `POST /admin/performances/:id/cancel` (optional). */
export class PerformanceCancelDto {
  /**
   * Why the performance is called off, in words for the buyers (kept with the cancellation and
   * answered by its progress); up to 500 characters, line breaks allowed. @example "The artist is ill."
   */
  @IsOptional()
  @FreeText({ multiline: true })
  @MaxLength(MAX_CANCELLATION_REASON_LENGTH)
  reason?: string;
}

/** A performance's cancellation and how far the refund of its purchases has come. */
export class PerformanceCancellationResponseDto {
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  /**
   * `IN_PROGRESS` while `batch` still cancels or refunds purchases; `COMPLETED` once every
   * purchase of the performance is canceled and its refund recorded.
   */
  @ApiProperty({ enum: ['IN_PROGRESS', 'COMPLETED'] })
  status: 'IN_PROGRESS' | 'COMPLETED';
  /** The operator's reason; null when none was given. */
  reason: string | null;
  /** When the performance was canceled. @example "2027-03-01T10:00:00.000Z" */
  @ApiProperty({ format: 'date-time' })
  requestedAt: string;
  /** When the last refund was recorded; null while in progress (also again, after a purchase that appeared later). */
  @ApiProperty({ format: 'date-time' })
  completedAt: string | null;
  /**
   * Purchases of the performance canceled with their refund settled: refunded, or no charge was
   * made (payment attempt DECLINED, or a free purchase, amount 0, which is never charged) (those the
   * buyers canceled themselves before included).
   */
  @ApiProperty({ type: 'integer' })
  refunded: number;
  /**
   * Purchases still to cancel or whose refund is not settled yet (PAID in PostgreSQL, PAID in
   * Redis and not written yet, or canceled with the refund owed); always 0 when `COMPLETED`. While
   * in progress a purchase being written to PostgreSQL may be counted twice for an instant.
   */
  @ApiProperty({ type: 'integer' })
  remaining: number;
  /**
   * Purchases among `remaining` whose cancel or refund failed on its last try (a gateway refusing
   * the refund, say): the bulk refund goes on with the others and tries these again; `batch` logs
   * each one for an operator.
   */
  @ApiProperty({ type: 'integer' })
  failing: number;
  /**
   * Box office sales canceled whose refund is owed at the window (paid in cash or on the card
   * terminal: the holder collects it there; GET /admin/performances/:id/window-refunds?status=OWED
   * lists them). Not in `remaining`; each counts in `refunded` once marked paid.
   */
  @ApiProperty({ type: 'integer' })
  owedAtWindow: number;
}

export function mapCancellation(progress: CancellationProgress): PerformanceCancellationResponseDto {
  return {
    performanceId: progress.performanceId,
    status: progress.status,
    reason: progress.reason,
    requestedAt: progress.requestedAt.toISOString(),
    completedAt: progress.completedAt?.toISOString() ?? null,
    refunded: progress.refunded,
    remaining: progress.remaining,
    failing: progress.failing,
    owedAtWindow: progress.owedAtWindow,
  };
}
