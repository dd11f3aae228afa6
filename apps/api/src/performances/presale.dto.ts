import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { PRESALE_CODE_PATTERN, PRESALE_NAME_MAX } from '@app/ticketing';
import type { Presale, PresaleListing } from '@app/ticketing';
import { FreeText } from '../common/free-text';
import { MaxLength, MinLength } from '../common/text-length';
import { IsScheduleTime } from '../common/validators';

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
}

export class PresaleListDto {
  @ApiProperty({ type: () => PresaleDto, isArray: true })
  items: PresaleDto[];
}

export function mapPresale(presale: Presale | PresaleListing): PresaleDto {
  return {
    id: presale.id,
    name: presale.name,
    opensAt: presale.opensAt.toISOString(),
    closesAt: presale.closesAt.toISOString(),
  };
}
