import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsInt,
  IsObject,
  IsOptional,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { MAX_INT4 } from '@app/core';
import {
  InvalidInputError,
  MAX_COMP_GUEST_NAME_LENGTH,
  MAX_COMP_NOTE_LENGTH,
  MAX_SEATS_PER_COMP,
} from '@app/ticketing';
import type { CompRequest } from '@app/ticketing';
import { NormalizedEmail } from '../auth/auth.dto';
import { FreeText } from '../common/free-text';
import { MaxLength, MinLength } from '../common/text-length';
import { itemsAtLeast, itemsAtMost } from '../common/validators';

/** A guest comp's guest: someone without an account, named by where the tickets go. */
export class CompGuestDto {
  /**
   * Where the tickets are e-mailed (no account needed; an address an account has is taken as an
   * address too: the comp is not that account's). @example guest@band.example
   */
  @NormalizedEmail()
  email: string;

  /**
   * The guest's name, as the e-mail, the door's scan (`holder.name`) and the door list
   * (`buyer_name`, `holder_name`) show it: 1 to 200 characters. @example "Jin Park (+1)"
   */
  @FreeText()
  @MinLength(1)
  @MaxLength(MAX_COMP_GUEST_NAME_LENGTH)
  name: string;
}

/**
 * Body of `POST /admin/performances/:id/comps`: which seats go to whom, and why. Exactly one of
 * `email` (an account) and `guest` (someone without one); both or neither is a 400.
 */
export class CompCreateDto {
  /**
   * The recipient's e-mail address, in any letter case: an account must have it, confirmed (as a
   * ticket transfer's recipient must). Not with `guest`. @example press@dailyplanet.example
   */
  @ValidateIf((dto: CompCreateDto) => dto.email !== undefined)
  @NormalizedEmail()
  email?: string;

  @ApiPropertyOptional({
    type: CompGuestDto,
    description:
      "Instead of `email`: a guest comp, to someone without an account (artists' guests, press, sponsors). The comp is stored under the issuing operator's account, the venue's (`saleChannel: \"BOX_OFFICE\"`, `paymentMethod: null`, in none of that account's buyer views), with the guest as its delivery address and name (`deliveryEmail`, `deliveryName`): the tickets are e-mailed to the guest, the door's scan answers the guest as holder, the door list names them.",
  })
  @ValidateIf((dto: CompCreateDto) => dto.guest !== undefined)
  @IsObject()
  @ValidateNested()
  @Type(() => CompGuestDto)
  guest?: CompGuestDto;

  @ApiProperty({
    type: 'integer',
    isArray: true,
    minItems: 1,
    maxItems: MAX_SEATS_PER_COMP,
    example: [101, 102],
    description: `1 to ${MAX_SEATS_PER_COMP} seat ids of the performance, each once: all become the recipient's, or none.`,
  })
  @IsArray()
  @ArrayMinSize(1, itemsAtLeast(1))
  @ArrayMaxSize(MAX_SEATS_PER_COMP, itemsAtMost(MAX_SEATS_PER_COMP))
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

/**
 * The comp a validated body asks for: exactly one of `email` and `guest`. Throws InvalidInputError
 * (400) for both or neither.
 */
export function compRequest(performanceId: number, body: CompCreateDto): CompRequest {
  const { email, guest, seatIds, note, includeBlocked } = body;
  if (email === undefined && guest === undefined) {
    throw new InvalidInputError('give email (the recipient account) or guest ({email, name}: someone without one)');
  }
  if (email !== undefined && guest !== undefined) {
    throw new InvalidInputError('give either email (the recipient account) or guest (someone without one), not both');
  }
  return {
    performanceId,
    ...(guest !== undefined ? { guest: { email: guest.email, name: guest.name } } : { email }),
    seatIds,
    note,
    includeBlocked,
  };
}
