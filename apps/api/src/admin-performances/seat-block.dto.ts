import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { MAX_INT4 } from '@app/core';
import {
  MAX_BLOCK_SELECTION_WORK,
  MAX_ROWS_PER_BLOCK_SELECTION,
  MAX_SEAT_BLOCK_REASON_LENGTH,
  MAX_SEATS_PER_BLOCK_REQUEST,
  MAX_SEATS_PER_BLOCK_SELECTION,
} from '@app/ticketing';
import type { BlockResult, ReleaseResult, SeatBlockTarget } from '@app/ticketing';
import type { SeatBlockRecord } from '@app/database';
import { FreeText, normalizeFreeText } from '../common/free-text';
import { ROW_LABEL_PATTERN, SECTION_NAME_PATTERN } from '../common/section-name-patterns';
import { MaxLength } from '../common/text-length';
import { IntegerField, itemsAtLeast, itemsAtMost } from '../common/validators';

/** Seat numbers `from`…`to` (inclusive) in each selected row. */
export class SeatNumberRangeDto {
  /** The first seat number. @example 1 */
  @IntegerField(1, MAX_INT4)
  from: number;

  /** The last seat number (not below `from`). @example 4 */
  @IntegerField(1, MAX_INT4)
  to: number;
}

/**
 * Body of `POST /admin/performances/:id/seat-blocks/release`: the seats by id (`seatIds`) or by
 * place (`section`, optionally `rows` and `numbers`); exactly one of the two forms.
 */
export class SeatReleaseDto {
  @ApiPropertyOptional({
    type: 'integer',
    isArray: true,
    minItems: 1,
    maxItems: MAX_SEATS_PER_BLOCK_REQUEST,
    example: [101, 102],
    description: `By id: 1 to ${MAX_SEATS_PER_BLOCK_REQUEST} seat ids of the performance, each once, within the work bound (the seats of the rows they touch, 30 a row, and the rows of their sections per refresh: at most ${MAX_BLOCK_SELECTION_WORK}; 400 beyond: split them). Give this or \`section\`, not both.`,
  })
  @ValidateIf((dto: SeatReleaseDto) => dto.seatIds !== undefined)
  @IsArray()
  @ArrayMinSize(1, itemsAtLeast(1))
  @ArrayMaxSize(MAX_SEATS_PER_BLOCK_REQUEST, itemsAtMost(MAX_SEATS_PER_BLOCK_REQUEST))
  @ArrayUnique({ message: 'seatIds must not name a seat twice' })
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_INT4, { each: true })
  seatIds?: number[];

  @ApiPropertyOptional({
    example: 'Stalls',
    maxLength: 50,
    description: `By place: the section, its name in any casing (as \`GET /performances/:id/sections\` lists it); every seat of it, or those of \`rows\` and \`numbers\`. The selection may match 1 to ${MAX_SEATS_PER_BLOCK_SELECTION} seats (400 beyond: split it). Give this or \`seatIds\`, not both.`,
  })
  @ValidateIf((dto: SeatReleaseDto) => dto.section !== undefined)
  @FreeText()
  @Matches(SECTION_NAME_PATTERN, { message: 'section must be 1-50 letters, digits, spaces, _ or -' })
  section?: string;

  @ApiPropertyOptional({
    type: [String],
    minItems: 1,
    maxItems: MAX_ROWS_PER_BLOCK_SELECTION,
    example: ['F', 'G'],
    description: `With \`section\`: only these rows, by label in any casing (as tickets and the seat map name them; a label written exactly as stored names that row alone), 1 to ${MAX_ROWS_PER_BLOCK_SELECTION}, each row once (two labels for one row: 400).`,
  })
  @ValidateIf((dto: SeatReleaseDto) => dto.rows !== undefined)
  @Transform(({ value }: { value: unknown }) => (Array.isArray(value) ? value.map(normalizeFreeText) : value))
  @IsArray()
  @ArrayMinSize(1, itemsAtLeast(1))
  @ArrayMaxSize(MAX_ROWS_PER_BLOCK_SELECTION, itemsAtMost(MAX_ROWS_PER_BLOCK_SELECTION))
  // A label written twice alike (after the trim above) is a field error; two that differ only in
  // casing need the layout to tell whether they name one row, so SeatBlocks decides those.
  @ArrayUnique({ message: 'rows must not name a row twice' })
  @IsString({ each: true })
  @Matches(ROW_LABEL_PATTERN, {
    each: true,
    message: 'each row label must be 1-10 letters, digits, spaces, ".", "_" or "-"',
  })
  rows?: string[];

  @ApiPropertyOptional({
    type: SeatNumberRangeDto,
    description: 'With `section`: only the seats numbered `from` to `to` (inclusive) in each selected row.',
  })
  @ValidateIf((dto: SeatReleaseDto) => dto.numbers !== undefined)
  @IsObject()
  @ValidateNested()
  @Type(() => SeatNumberRangeDto)
  numbers?: SeatNumberRangeDto;
}

/** Body of `POST /admin/performances/:id/seat-blocks`: the seats as a release names them, and why. */
export class SeatBlockDto extends SeatReleaseDto {
  /** Why the seats are off sale, for the operators (up to 200 characters). @example "sound desk" */
  @IsOptional()
  @FreeText()
  @MaxLength(MAX_SEAT_BLOCK_REASON_LENGTH)
  reason?: string;

  @ApiPropertyOptional({
    default: false,
    description:
      'Block only the seats free now and skip those in a live hold or sold (named in `skipped`), instead of refusing the whole request (409). Decided in the same Redis script run that blocks, so a buyer racing the block gets a seat or the block does, never both.',
  })
  @IsOptional()
  @IsBoolean()
  onlyFree?: boolean;
}

/** The seats named by a block or release body, as SeatBlocks takes them. */
export function toBlockTarget(body: SeatReleaseDto): SeatBlockTarget {
  return { seatIds: body?.seatIds, section: body?.section, rows: body?.rows, numbers: body?.numbers };
}

/** The seats an onlyFree block left as they are. */
export class SeatBlockSkippedDto {
  /** In a buyer's live hold, ascending. @example [103] */
  @ApiProperty({ type: 'integer', isArray: true })
  held: number[];
  /** Sold, ascending. @example [104] */
  @ApiProperty({ type: 'integer', isArray: true })
  sold: number[];
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
  @ApiPropertyOptional({
    type: SeatBlockSkippedDto,
    description: 'Only with `onlyFree`: the seats left on sale, in a live hold or sold.',
  })
  skipped?: SeatBlockSkippedDto;
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
  const answer = {
    performanceId: result.performanceId,
    blocked: result.blocked,
    alreadyBlocked: result.alreadyBlocked,
  };
  return result.skipped ? { ...answer, skipped: { held: result.skipped.held, sold: result.skipped.sold } } : answer;
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
