import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { JSONSchemaType } from 'ajv';
import { formatLocalDateTime, toScheduleTime } from '@app/ticketing';
import type { LiveSeatCounts, Performance } from '@app/ticketing';
import { CompiledSchema } from '../common/compiled-validation';
import { asciiNamePattern, FreeText } from '../common/free-text';
import { DEFAULT_PAGE_LIMIT, PageQueryDto } from '../common/page-query.dto';
import { IsScheduleTime } from '../common/validators';

/** Map coordinates are bounded so that distances stay exact in doubles and drawable. */
const MAX_COORDINATE = 100_000;

// Explicit @ApiProperty: the Swagger CLI plugin leaves the whole class out of the document for
// a bound it cannot evaluate (`-MAX_COORDINATE`).
export class MapPointDto {
  @ApiProperty({ description: 'Map units.', example: 0, minimum: -MAX_COORDINATE, maximum: MAX_COORDINATE })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-MAX_COORDINATE)
  @Max(MAX_COORDINATE)
  x: number;

  @ApiProperty({
    description: 'Map units, growing away from the stage.',
    example: 2,
    minimum: -MAX_COORDINATE,
    maximum: MAX_COORDINATE,
  })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-MAX_COORDINATE)
  @Max(MAX_COORDINATE)
  y: number;
}

export class SeatRefDto {
  /** @example 1 */
  @IsInt()
  @Min(1)
  @Max(1000)
  row: number;

  /** @example 1 */
  @IsInt()
  @Min(1)
  @Max(1000)
  number: number;
}

export class SectionLayoutDto {
  /** @example "A" */
  @FreeText()
  @Matches(/^[\p{L}\p{N} _-]{1,50}$/u, { message: 'name must be 1-50 letters, digits, spaces, _ or -' })
  name: string;

  /** @example "VIP" */
  @FreeText()
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

  @ApiPropertyOptional({
    type: MapPointDto,
    description:
      'Where seat 1 of row 1 sits on the map. Give it on every section or on none: without origins the sections stand side by side in their order, centred on x = 0, row 1 at y = its `rowSpacing`, one map unit of aisle between them. Sections may not overlap (400).',
  })
  @ValidateIf((dto: SectionLayoutDto) => dto.origin !== undefined)
  @IsObject()
  @ValidateNested()
  @Type(() => MapPointDto)
  origin?: MapPointDto;

  /** Distance between neighbouring seats of a row, map units (default 1). @example 1 */
  @ValidateIf((dto: SectionLayoutDto) => dto.seatPitch !== undefined)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.1)
  @Max(100)
  seatPitch?: number;

  /** Distance between neighbouring rows, map units (default 1). @example 1.2 */
  @ValidateIf((dto: SectionLayoutDto) => dto.rowSpacing !== undefined)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.1)
  @Max(100)
  rowSpacing?: number;

  /**
   * Rotation of the section about its `origin`, in degrees, from the x axis toward the y axis
   * (fans and arcs); needs `origin`. Default 0. @example 15
   */
  @ValidateIf((dto: SectionLayoutDto) => dto.angle !== undefined)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-360)
  @Max(360)
  angle?: number;

  /**
   * The admin's ranking, 1 = best: seats of ranked sections score a higher `quality` than those
   * of unranked ones, lower ranks above higher ones; within a rank, closer to the focal point
   * is better. Without any rank, quality follows the distance to the focal point alone. @example 1
   */
  @ValidateIf((dto: SectionLayoutDto) => dto.rank !== undefined)
  @IsInt()
  @Min(1)
  @Max(100)
  rank?: number;

  @ApiPropertyOptional({ type: [SeatRefDto], description: 'Wheelchair spaces of this section.' })
  @ValidateIf((dto: SectionLayoutDto) => dto.accessible !== undefined)
  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => SeatRefDto)
  accessible?: SeatRefDto[];

  @ApiPropertyOptional({
    type: [SeatRefDto],
    description: 'Companion seats, each in the same row right next to an accessible seat (400 otherwise).',
  })
  @ValidateIf((dto: SectionLayoutDto) => dto.companions !== undefined)
  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => SeatRefDto)
  companions?: SeatRefDto[];
}

const PERFORMANCE_STATUSES = ['ON_SALE', 'PAUSED', 'CLOSED'] as const;

/**
 * The lifecycle fields a performance takes both when it is created and in `PATCH
 * /performances/:id`: one statement of their rules for both routes (the order of the times is
 * checked by the service, `assertLifecycle`, for both as well).
 */
export class PerformanceLifecycleDto {
  @ApiPropertyOptional({
    format: 'date-time',
    nullable: true,
    description:
      'Holds and purchases are refused from this moment on (409). After `salesOpenAt`, not after `startsAt`; `null` = at `startsAt` (the default). Between 2000-01-01T00:00:00Z and 2199-12-31T23:59:59.999Z.',
  })
  @IsOptional()
  @IsScheduleTime()
  salesCloseAt?: string | null;

  @ApiPropertyOptional({
    format: 'date-time',
    nullable: true,
    description:
      'Buyers may cancel their purchases until this moment (409 after). Not after `startsAt`; `null` = no self-service cancel. Default at creation: 24 h before `startsAt`. Between 2000-01-01T00:00:00Z and 2199-12-31T23:59:59.999Z.',
  })
  @IsOptional()
  @IsScheduleTime()
  cancelUntil?: string | null;

  @ApiPropertyOptional({
    enum: PERFORMANCE_STATUSES,
    description:
      '`PAUSED` and `CLOSED` refuse holds and purchases (409) on every replica once this answers. Default at creation: `ON_SALE`.',
  })
  @ValidateIf((dto: PerformanceLifecycleDto) => dto.status !== undefined)
  @IsIn(PERFORMANCE_STATUSES)
  status?: (typeof PERFORMANCE_STATUSES)[number];

  @ApiPropertyOptional({
    description:
      'When true, a hold of chosen `seatIds` that would leave a single empty seat between taken seats or a row end is refused (409 `SingleSeatLeft`). Best-available holds are not refused by this rule: their ladder prefers seats side by side leaving no single (`TOGETHER`), but `TOGETHER_WITH_GAP` leaves one single by definition, and `ADJACENT_ROWS` (leaving as few singles as each row allows) and `SPLIT` (`together: false`) may leave singles. Default at creation: false.',
  })
  @ValidateIf((dto: PerformanceLifecycleDto) => dto.noOrphanSeats !== undefined)
  @IsBoolean()
  noOrphanSeats?: boolean;
}

export class PerformanceCreateDto extends PerformanceLifecycleDto {
  @ApiProperty({
    format: 'date-time',
    description:
      'RFC 3339 with an explicit offset (`Z` or `+09:00`). Between 2000-01-01T00:00:00Z and 2199-12-31T23:59:59.999Z.',
    example: '2027-03-01T19:00:00+09:00',
  })
  @IsScheduleTime()
  startsAt: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description:
      'When holds may start, RFC 3339 with an explicit offset; defaults to now. Must not be after `startsAt`. Between 2000-01-01T00:00:00Z and 2199-12-31T23:59:59.999Z.',
  })
  @IsOptional()
  @IsScheduleTime()
  salesOpenAt?: string;

  /** The seating layout; seats are generated from it (at most 100,000 in all). */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => SectionLayoutDto)
  sections: SectionLayoutDto[];

  @ApiPropertyOptional({
    type: MapPointDto,
    description:
      "The stage's focal point on the seat map (default (0, 0), in front of the default layout's first rows): seat `quality` falls with the distance to it.",
  })
  @ValidateIf((dto: PerformanceCreateDto) => dto.focalPoint !== undefined)
  @IsObject()
  @ValidateNested()
  @Type(() => MapPointDto)
  focalPoint?: MapPointDto;
}

/** Admin changes of a performance's lifecycle; at least one field. */
export class PerformanceUpdateDto extends PerformanceLifecycleDto {
  @ApiPropertyOptional({
    format: 'date-time',
    description: 'RFC 3339 with an explicit offset. Between 2000-01-01T00:00:00Z and 2199-12-31T23:59:59.999Z.',
  })
  @ValidateIf((dto: PerformanceUpdateDto) => dto.startsAt !== undefined)
  @IsScheduleTime()
  startsAt?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description:
      'RFC 3339 with an explicit offset; not after `startsAt`. Between 2000-01-01T00:00:00Z and 2199-12-31T23:59:59.999Z.',
  })
  @ValidateIf((dto: PerformanceUpdateDto) => dto.salesOpenAt !== undefined)
  @IsScheduleTime()
  salesOpenAt?: string;
}

/**
 * The lifecycle fields of a request as the service takes them: absent stays absent, `null` stays
 * `null` (salesCloseAt = at startsAt, cancelUntil = no self-service cancel). Throws
 * InvalidInputError for a time the edge should have refused.
 */
export function lifecycleInput(body: PerformanceLifecycleDto): {
  salesCloseAt?: Date | null;
  cancelUntil?: Date | null;
  status?: Performance['status'];
  noOrphanSeats?: boolean;
} {
  const time = (value: string | null | undefined, field: string) =>
    value === undefined || value === null ? value : toScheduleTime(value, field);
  return {
    salesCloseAt: time(body.salesCloseAt, 'salesCloseAt'),
    cancelUntil: time(body.cancelUntil, 'cancelUntil'),
    status: body.status,
    noOrphanSeats: body.noOrphanSeats,
  };
}

export class PerformanceResponseDto {
  id: number;
  eventId: number;
  /** @example "2027-03-01T10:30:00.000Z" */
  startsAt: string;
  /** `startsAt` on the venue's wall clock, with the offset of the venue's time zone then. @example "2027-03-01T19:30:00+09:00" */
  startsAtLocal: string;
  /** IANA name of the venue's time zone (its event's). @example "Asia/Seoul" */
  timeZone: string;
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
  /** Seat-id holds may not leave a single empty seat between taken seats or a row end. */
  noOrphanSeats: boolean;
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
    startsAtLocal: formatLocalDateTime(performance.startsAt, performance.timeZone),
    timeZone: performance.timeZone,
    salesOpenAt: performance.salesOpenAt.toISOString(),
    salesCloseAt: (performance.salesCloseAt ?? performance.startsAt).toISOString(),
    cancelUntil: performance.cancelUntil?.toISOString() ?? null,
    status: performance.status,
    totalSeats: performance.totalSeats,
    currency: performance.currency,
    noOrphanSeats: performance.noOrphanSeats ?? false,
  };
}

/** One object, no intermediate: `GET /performances/:id` is read often. */
export function mapPerformanceDetail(performance: Performance & LiveSeatCounts): PerformanceDetailDto {
  return {
    id: performance.id,
    eventId: performance.eventId,
    startsAt: performance.startsAt.toISOString(),
    startsAtLocal: formatLocalDateTime(performance.startsAt, performance.timeZone),
    timeZone: performance.timeZone,
    salesOpenAt: performance.salesOpenAt.toISOString(),
    salesCloseAt: (performance.salesCloseAt ?? performance.startsAt).toISOString(),
    cancelUntil: performance.cancelUntil?.toISOString() ?? null,
    status: performance.status,
    totalSeats: performance.totalSeats,
    currency: performance.currency,
    noOrphanSeats: performance.noOrphanSeats ?? false,
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

/**
 * A price bound in a query string: a canonical decimal integer of minor units (no sign, leading
 * zero, exponent or spaces; see CANONICAL_INTEGER), at most 9 digits.
 */
const PRICE_QUERY = /^(?:0|[1-9][0-9]{0,8})$/;

/** `GET /performances/:id/seats`'s query as the compiled schema accepts it: strings, as sent. */
type SeatQueryStrings = {
  limit?: string;
  cursor?: string;
  status?: (typeof SEAT_STATUSES)[number];
  section?: string;
  grade?: string;
  minPrice?: string;
  maxPrice?: string;
};

/**
 * The query of `GET /performances/:id/seats`. Rules: the class-validator decorators; a compiled
 * subset of them runs first (canonical `limit` 1–100, ASCII section and grade names, a cursor of
 * base64url characters), and hands the route `limit` as a number as class-transformer would.
 */
@CompiledSchema<SeatQueryStrings>(
  {
    type: 'object',
    properties: {
      limit: { type: 'string', pattern: '^(?:[1-9][0-9]?|100)$' },
      cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]{0,200}$' },
      status: { type: 'string', enum: SEAT_STATUSES },
      section: { type: 'string', pattern: asciiNamePattern(50) },
      grade: { type: 'string', pattern: asciiNamePattern(20) },
      minPrice: { type: 'string', pattern: PRICE_QUERY.source },
      maxPrice: { type: 'string', pattern: PRICE_QUERY.source },
    },
    additionalProperties: false,
  } as unknown as JSONSchemaType<SeatQueryStrings>,
  (query) => ({ ...query, limit: query.limit === undefined ? DEFAULT_PAGE_LIMIT : Number(query.limit) }),
)
export class SeatQueryDto extends PageQueryDto {
  /** Only seats with this live status. */
  @IsOptional()
  @IsIn(SEAT_STATUSES)
  status?: (typeof SEAT_STATUSES)[number];

  /** Only seats of this section, its name in any casing (`floor` finds `Floor`). @example "Floor" */
  @IsOptional()
  @FreeText()
  @Matches(/^[\p{L}\p{N} _-]{1,50}$/u, { message: 'section must be 1-50 letters, digits, spaces, _ or -' })
  section?: string;

  /** Only seats of this grade, in any casing (`vip` finds `VIP`). @example "VIP" */
  @IsOptional()
  @FreeText()
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

/** The smallest rectangle around seat centres, map units. */
export class MapBoundsDto {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export class MapSeatDto {
  /** The seat id `POST /reservations` takes. */
  id: number;
  row: number;
  number: number;
  /** Map units. */
  x: number;
  /** Map units, growing away from the stage in generated layouts. */
  y: number;
  /** 0–1000, higher is better (closer to the focal point, or a better-ranked section). */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 1000 })
  quality: number;
  /** A wheelchair space. */
  accessible: boolean;
  /** A companion seat next to a wheelchair space. */
  companion: boolean;
  /** Live; a seat of an expired hold is AVAILABLE. @example "AVAILABLE" */
  @ApiProperty({ enum: SEAT_STATUSES })
  status: 'AVAILABLE' | 'HELD' | 'SOLD';
}

export class MapRowDto {
  row: number;
  /** By number. */
  @ApiProperty({ type: [MapSeatDto] })
  seats: MapSeatDto[];
}

export class MapSectionDto {
  name: string;
  grade: string;
  /** Price of each seat, an integer in the minor unit of `currency`. @example 150000 */
  @ApiProperty({ type: 'integer' })
  price: number;
  /** @example "KRW" */
  currency: string;
  bounds: MapBoundsDto;
  /** By row. */
  @ApiProperty({ type: [MapRowDto] })
  rows: MapRowDto[];
}

/** Everything a client needs to draw the hall, with each seat's live status. */
export class SeatMapDto {
  performanceId: number;
  /** ISO 4217 code of every price. @example "KRW" */
  currency: string;
  /** The stage's focal point (map units). */
  focalPoint: MapPointDto;
  /** Around every seat. */
  bounds: MapBoundsDto;
  /** In layout order. */
  @ApiProperty({ type: [MapSectionDto] })
  sections: MapSectionDto[];
}
