import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsInt, IsOptional, Max, Min } from 'class-validator';
import { MAX_INT4 } from '@app/core';
import { MAX_SEAT_BLOCK_REASON_LENGTH, MAX_SEATS_PER_BLOCK_REQUEST } from '@app/ticketing';
import type { BlockResult, ReleaseResult } from '@app/ticketing';
import type { SeatBlockRecord } from '@app/database';
import { FreeText } from '../common/free-text';
import { MaxLength } from '../common/text-length';

/** Body of `POST /admin/performances/:id/seat-blocks/release`. */
export class SeatReleaseDto {
  /** 1 to 500 seat ids of the performance, each once. @example [101, 102] */
  @ApiProperty({ type: 'integer', isArray: true, minItems: 1, maxItems: MAX_SEATS_PER_BLOCK_REQUEST })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_SEATS_PER_BLOCK_REQUEST)
  @ArrayUnique({ message: 'seatIds must not name a seat twice' })
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_INT4, { each: true })
  seatIds: number[];
}

/** Body of `POST /admin/performances/:id/seat-blocks`. */
export class SeatBlockDto extends SeatReleaseDto {
  /** Why the seats are off sale, for the operators (up to 200 characters). @example "sound desk" */
  @IsOptional()
  @FreeText()
  @MaxLength(MAX_SEAT_BLOCK_REASON_LENGTH)
  reason?: string;
}

/** The answer to a block. */
export class SeatBlockResultDto {
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  /** Seats this request took off sale, ascending. @example [101, 102] */
  @ApiProperty({ type: 'integer', isArray: true })
  blocked: number[];
  /** Seats that were blocked before (unchanged: they keep their first reason), ascending. @example [] */
  @ApiProperty({ type: 'integer', isArray: true })
  alreadyBlocked: number[];
}

/** The answer to a release. */
export class SeatReleaseResultDto {
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  /** Seats this request put back on sale, ascending. @example [101] */
  @ApiProperty({ type: 'integer', isArray: true })
  released: number[];
  /** Seats that were not blocked (no change), ascending. @example [102] */
  @ApiProperty({ type: 'integer', isArray: true })
  notBlocked: number[];
}

/** Who blocked a seat. */
export class SeatBlockOperatorDto {
  /** @example "5b0c3b8e-8f7e-4c0e-9f0e-2d3c4b5a6978" */
  id: string;
  /** @example "ops@example.com" */
  email: string;
}

/** A blocked seat. */
export class SeatBlockResponseDto {
  @ApiProperty({ type: 'integer' })
  seatId: number;
  /** @example "Floor" */
  section: string;
  @ApiProperty({ type: 'integer' })
  row: number;
  /** @example "C" */
  rowLabel: string;
  @ApiProperty({ type: 'integer' })
  number: number;
  /** The operator's reason; null when none was given. @example "sound desk" */
  @ApiPropertyOptional({ type: String, nullable: true })
  reason: string | null;
  blockedBy: SeatBlockOperatorDto;
  /** @example "2027-03-01T10:00:00.000Z" */
  @ApiProperty({ format: 'date-time' })
  blockedAt: string;
}

export class SeatBlockPageDto {
  items: SeatBlockResponseDto[];
  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}

export function mapBlockResult(result: BlockResult): SeatBlockResultDto {
  return { performanceId: result.performanceId, blocked: result.blocked, alreadyBlocked: result.alreadyBlocked };
}

export function mapReleaseResult(result: ReleaseResult): SeatReleaseResultDto {
  return { performanceId: result.performanceId, released: result.released, notBlocked: result.notBlocked };
}

export function mapSeatBlock(block: SeatBlockRecord): SeatBlockResponseDto {
  return {
    seatId: block.seatId,
    section: block.section,
    row: block.row,
    rowLabel: block.rowLabel,
    number: block.number,
    reason: block.reason,
    blockedBy: block.blockedBy,
    blockedAt: block.blockedAt.toISOString(),
  };
}
