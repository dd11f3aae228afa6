import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsInt,
  IsOptional,
  Max,
  Min,
} from 'class-validator';
import { MAX_INT4 } from '@app/core';
import { MAX_COMP_NOTE_LENGTH, MAX_SEATS_PER_COMP } from '@app/ticketing';
import { NormalizedEmail } from '../auth/auth.dto';
import { FreeText } from '../common/free-text';
import { MaxLength, MinLength } from '../common/text-length';

/** Body of `POST /admin/performances/:id/comps`: which seats go to whom, and why. */
export class CompCreateDto {
  /**
   * The recipient's e-mail address, in any letter case: an account must have it, confirmed (as a
   * ticket transfer's recipient must). @example press@dailyplanet.example
   */
  @NormalizedEmail()
  email: string;

  @ApiProperty({
    type: 'integer',
    isArray: true,
    minItems: 1,
    maxItems: MAX_SEATS_PER_COMP,
    example: [101, 102],
    description: `1 to ${MAX_SEATS_PER_COMP} seat ids of the performance, each once: all become the recipient's, or none.`,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_SEATS_PER_COMP)
  @ArrayUnique({ message: 'seatIds must not name a seat twice' })
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_INT4, { each: true })
  seatIds: number[];

  /**
   * Who and why, for operators (kept with the purchase and in the audit log; the recipient never
   * sees it): 1 to 200 characters. @example "press: Daily Planet"
   */
  @FreeText()
  @MinLength(1)
  @MaxLength(MAX_COMP_NOTE_LENGTH)
  note: string;

  @ApiPropertyOptional({
    default: false,
    description:
      'Seats may be blocked ones (house seats kept for comps) as well as available ones, never held or sold: the blocked seats leave their block and go into the comp in one atomic step (no buyer can take one in between), their blocks deleted in the same transaction (a `seat.release` audit row, `cause: "comp"`; the `comp.issue` row names them in `fromBlocks`). Without it a blocked seat refuses the comp (409).',
  })
  @IsOptional()
  @IsBoolean()
  includeBlocked?: boolean;
}
