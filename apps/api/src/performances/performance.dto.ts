import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { LiveSeatCounts, Performance } from '@app/ticketing';
import { PageQueryDto } from '../common/page-query.dto';
import { IsDateTime } from '../common/validators';

export class SectionLayoutDto {
  /** @example "A" */
  @IsString()
  @Matches(/^[\p{L}\p{N} _-]{1,50}$/u, { message: 'name must be 1-50 letters, digits, spaces, _ or -' })
  name: string;

  /** @example "VIP" */
  @IsString()
  @Matches(/^[\p{L}\p{N} _-]{1,20}$/u, { message: 'grade must be 1-20 letters, digits, spaces, _ or -' })
  grade: string;

  /**
   * Price of one seat: an integer in the minor unit of the event's currency (ISO 4217 exponent),
   * e.g. 150000 for ₩150,000 in KRW, 2100 for €21.00 in EUR. @example 150000
   */
  @ApiProperty({ type: 'integer' })
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  price: number;

  /** @example 20 */
  @IsInt()
  @Min(1)
  @Max(1000)
  rows: number;

  /** @example 50 */
  @IsInt()
  @Min(1)
  @Max(1000)
  seatsPerRow: number;
}

export class PerformanceCreateDto {
  @ApiProperty({
    format: 'date-time',
    description: 'RFC 3339 with an explicit offset (`Z` or `+09:00`).',
    example: '2027-03-01T19:00:00+09:00',
  })
  @IsDateTime()
  startsAt: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description:
      'When holds may start, RFC 3339 with an explicit offset; defaults to now. Must not be after `startsAt`.',
  })
  @IsOptional()
  @IsDateTime()
  salesOpenAt?: string;

  /** The seating layout; seats are generated from it (at most 100,000 in all). */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => SectionLayoutDto)
  sections: SectionLayoutDto[];
}

const PERFORMANCE_STATUSES = ['ON_SALE', 'PAUSED', 'CLOSED'] as const;

/** Admin changes of a performance's lifecycle; at least one field. */
export class PerformanceUpdateDto {
  @ApiPropertyOptional({ format: 'date-time', description: 'RFC 3339 with an explicit offset.' })
  @ValidateIf((dto: PerformanceUpdateDto) => dto.startsAt !== undefined)
  @IsDateTime()
  startsAt?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'RFC 3339 with an explicit offset; not after `startsAt`.' })
  @ValidateIf((dto: PerformanceUpdateDto) => dto.salesOpenAt !== undefined)
  @IsDateTime()
  salesOpenAt?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    nullable: true,
    description:
      'Holds and purchases are refused from this moment on (409). After `salesOpenAt`, not after `startsAt`; `null` = at `startsAt` (the default).',
  })
  @IsOptional()
  @IsDateTime()
  salesCloseAt?: string | null;

  @ApiPropertyOptional({
    format: 'date-time',
    nullable: true,
    description:
      'Buyers may cancel their purchases until this moment (409 after). Not after `startsAt`; `null` = no self-service cancel. Default at creation: 24 h before `startsAt`.',
  })
  @IsOptional()
  @IsDateTime()
  cancelUntil?: string | null;

  @ApiPropertyOptional({
    enum: PERFORMANCE_STATUSES,
    description: '`PAUSED` and `CLOSED` refuse holds and purchases (409) on every replica once this answers.',
  })
  @ValidateIf((dto: PerformanceUpdateDto) => dto.status !== undefined)
  @IsIn(PERFORMANCE_STATUSES)
  status?: (typeof PERFORMANCE_STATUSES)[number];
}

export class PerformanceResponseDto {
  id: number;
  eventId: number;
  startsAt: string;
  salesOpenAt: string;
  /** When sales end: `salesCloseAt`, or `startsAt` when not set. */
  salesCloseAt: string;
  /** Buyers may cancel until then; null = no self-service cancel. */
  cancelUntil: string | null;
  @ApiProperty({ enum: PERFORMANCE_STATUSES })
  status: 'ON_SALE' | 'PAUSED' | 'CLOSED';
  totalSeats: number;
  /** ISO 4217 code of the event, which the seat prices are in. @example "KRW" */
  currency: string;
}

export class PerformanceDetailDto extends PerformanceResponseDto {
  available: number;
  held: number;
  sold: number;
}

export function mapPerformance(performance: Performance): PerformanceResponseDto {
  return {
    id: performance.id,
    eventId: performance.eventId,
    startsAt: performance.startsAt.toISOString(),
    salesOpenAt: performance.salesOpenAt.toISOString(),
    salesCloseAt: (performance.salesCloseAt ?? performance.startsAt).toISOString(),
    cancelUntil: performance.cancelUntil?.toISOString() ?? null,
    status: performance.status,
    totalSeats: performance.totalSeats,
    currency: performance.currency,
  };
}

/** One object, no intermediate: `GET /performances/:id` is read often. */
export function mapPerformanceDetail(performance: Performance & LiveSeatCounts): PerformanceDetailDto {
  return {
    id: performance.id,
    eventId: performance.eventId,
    startsAt: performance.startsAt.toISOString(),
    salesOpenAt: performance.salesOpenAt.toISOString(),
    salesCloseAt: (performance.salesCloseAt ?? performance.startsAt).toISOString(),
    cancelUntil: performance.cancelUntil?.toISOString() ?? null,
    status: performance.status,
    totalSeats: performance.totalSeats,
    currency: performance.currency,
    available: performance.available,
    held: performance.held,
    sold: performance.sold,
  };
}

export class PerformancePageDto {
  items: PerformanceResponseDto[];
  nextCursor: string | null;
}

const SEAT_STATUSES = ['AVAILABLE', 'HELD', 'SOLD'] as const;

/** A price bound in a query string: a decimal integer of minor units, no sign, no exponent. */
const PRICE_QUERY = /^\d{1,9}$/;

export class SeatQueryDto extends PageQueryDto {
  /** Only seats with this live status. */
  @IsOptional()
  @IsIn(SEAT_STATUSES)
  status?: (typeof SEAT_STATUSES)[number];

  /** Only seats of this section (exact name). @example "Floor" */
  @IsOptional()
  @IsString()
  @Matches(/^[\p{L}\p{N} _-]{1,50}$/u, { message: 'section must be 1-50 letters, digits, spaces, _ or -' })
  section?: string;

  /** Only seats of this grade (exact). @example "VIP" */
  @IsOptional()
  @IsString()
  @Matches(/^[\p{L}\p{N} _-]{1,20}$/u, { message: 'grade must be 1-20 letters, digits, spaces, _ or -' })
  grade?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 100_000_000,
    description: 'Only seats priced at least this much (minor units of the currency); not above `maxPrice`.',
  })
  @IsOptional()
  @IsString()
  @Matches(PRICE_QUERY, { message: 'minPrice must be an integer of minor units from 0 to 100000000' })
  minPrice?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 100_000_000,
    description: 'Only seats priced at most this much (minor units of the currency).',
  })
  @IsOptional()
  @IsString()
  @Matches(PRICE_QUERY, { message: 'maxPrice must be an integer of minor units from 0 to 100000000' })
  maxPrice?: string;
}

export class SeatResponseDto {
  id: number;
  section: string;
  row: number;
  number: number;
  grade: string;
  /** An integer in the minor unit of `currency`. @example 150000 */
  @ApiProperty({ type: 'integer' })
  price: number;
  /** ISO 4217 code of the event. @example "KRW" */
  currency: string;
  /** @example "AVAILABLE" */
  status: 'AVAILABLE' | 'HELD' | 'SOLD';
}

export class SeatPageDto {
  items: SeatResponseDto[];
  nextCursor: string | null;
}
