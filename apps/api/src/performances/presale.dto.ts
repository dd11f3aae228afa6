import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';
import { PRESALE_CODE_PATTERN, PRESALE_MAX_SEATS_LIMIT, PRESALE_NAME_MAX } from '@app/ticketing';
import type { Presale, PresaleListing, PresaleWithSeats } from '@app/ticketing';
import { FreeText } from '../common/free-text';
import { MaxLength, MinLength } from '../common/text-length';
import { IsScheduleTime } from '../common/validators';

/** What an allocation is, as both bodies say it. */
const MAX_SEATS_DESCRIPTION =
  "The presale's allocation: the seats its access code may take in all, held and sold together (1–1,000,000). A hold with the code that asks for more than is left is refused (409 `PresaleAllocationExhausted`, nothing held; a best-available hold is never made smaller); seats released, expired, canceled or refunded are given back to it.";

/** A presale as buyers and operators read it: its window, never its access code. */
export class PresaleDto {
  /** Decimal digits. @example "12" */
  id: string;
  /** @example "Fan club presale" */
  name: string;
  /** The window opens (inclusive). @example "2027-02-01T01:00:00.000Z" */
  @ApiProperty({ format: 'date-time' })
  opensAt: string;
  /** The window closes (exclusive), at or before the performance's `salesOpenAt`. @example "2027-02-02T01:00:00.000Z" */
  @ApiProperty({ format: 'date-time' })
  closesAt: string;
}

/** The body of `POST /admin/performances/:id/presales`. */
export class PresaleCreateDto {
  /** Shown to buyers (1–100 characters). @example "Fan club presale" */
  @FreeText()
  @MinLength(1)
  @MaxLength(PRESALE_NAME_MAX)
  name: string;

  /** RFC 3339 with an offset; before `closesAt`. @example "2027-02-01T10:00:00+09:00" */
  @ApiProperty({ format: 'date-time' })
  @IsScheduleTime()
  opensAt: string;

  /**
   * RFC 3339 with an offset; after `opensAt` and now, at or before the performance's `salesOpenAt`.
   * @example "2027-02-02T10:00:00+09:00"
   */
  @ApiProperty({ format: 'date-time' })
  @IsScheduleTime()
  closesAt: string;

  /**
   * The access code buyers send (`accessCode` of `POST /reservations`): 8–64 printable ASCII
   * characters without spaces, compared case-insensitively, one presale's of the performance at
   * most. Kept only as a digest: never shown again. @example "FANCLUB-2027"
   */
  @ApiProperty({ minLength: 8, maxLength: 64, pattern: '^[\\x21-\\x7E]{8,64}$', writeOnly: true })
  @IsString()
  @Matches(PRESALE_CODE_PATTERN, { message: 'code must be 8-64 printable ASCII characters without spaces' })
  code: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: PRESALE_MAX_SEATS_LIMIT,
    nullable: true,
    description: MAX_SEATS_DESCRIPTION + ' Absent or `null`: no allocation (the hall is the limit).',
    example: 500,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(PRESALE_MAX_SEATS_LIMIT)
  maxSeats?: number | null;
}

/** The body of `PATCH /admin/performances/:id/presales/:presaleId`: the presale's allocation. */
export class PresaleUpdateDto {
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    maximum: PRESALE_MAX_SEATS_LIMIT,
    nullable: true,
    description:
      MAX_SEATS_DESCRIPTION +
      ' `null` removes the allocation. Lowered to the seats already taken or below, it lets no further hold in; nothing held or sold is taken back.',
    example: 500,
  })
  @ValidateIf((dto: PresaleUpdateDto) => dto.maxSeats !== null)
  @IsInt()
  @Min(1)
  @Max(PRESALE_MAX_SEATS_LIMIT)
  maxSeats: number | null;
}

/** A presale as operators read it: with its allocation and the seats taken under it. */
export class AdminPresaleDto extends PresaleDto {
  /** The seats its code may take in all, held and sold together; null = no allocation. @example 500 */
  @ApiProperty({ type: 'integer', nullable: true })
  maxSeats: number | null;
  /**
   * Seats taken under it now: held by live holds its code made and sold in their purchases, less
   * those given back (released, expired, canceled, refunded). Above `maxSeats` after the allocation
   * was lowered below it. @example 120
   */
  @ApiProperty({ type: 'integer', minimum: 0 })
  seatsTaken: number;
}

export class PresaleListDto {
  @ApiProperty({ type: () => AdminPresaleDto, isArray: true })
  items: AdminPresaleDto[];
}

/** An operator's view of a presale: `seatsTaken` 0 for one just made. */
export function mapAdminPresale(presale: Presale | PresaleWithSeats): AdminPresaleDto {
  return {
    ...mapPresale(presale),
    maxSeats: presale.maxSeats,
    seatsTaken: 'seatsTaken' in presale ? presale.seatsTaken : 0,
  };
}

export function mapPresale(presale: Presale | PresaleListing): PresaleDto {
  return {
    id: presale.id,
    name: presale.name,
    opensAt: presale.opensAt.toISOString(),
    closesAt: presale.closesAt.toISOString(),
  };
}
