import { OmitType, PartialType } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength, ValidateBy, ValidateIf } from 'class-validator';
import { isCurrencyCode } from '@app/config';
import type { CatalogEvent } from '@app/ticketing';

export class EventCreateDto {
  /** @example "IU 2027 World Tour — Seoul" */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  title: string;

  @IsOptional()
  @IsString()
  @MaxLength(5000)
  description?: string;

  /** @example "Seoul Olympic Stadium" */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  venue: string;

  /**
   * ISO 4217 code of every price and amount of the event; prices are integers in its minor unit
   * (KRW 1050 is ₩1,050, EUR 1050 is €10.50). Defaults to `DEFAULT_CURRENCY` (KRW); cannot be
   * changed afterwards. @example "KRW"
   */
  // Optional, but not nullable: only a missing currency takes the default.
  @ValidateIf((_dto, value) => value !== undefined)
  @ValidateBy({
    name: 'isCurrencyCode',
    validator: {
      validate: isCurrencyCode,
      defaultMessage: () => 'currency must be an ISO 4217 currency code in upper case, such as KRW or EUR',
    },
  })
  currency?: string;
}

/** The currency is not among the fields: prices already entered and sold are in it. */
export class EventUpdateDto extends PartialType(OmitType(EventCreateDto, ['currency'] as const)) {}

export class EventResponseDto {
  id: number;
  title: string;
  description: string | null;
  venue: string;
  /** ISO 4217 code of every price and amount of the event. @example "KRW" */
  currency: string;
  createdAt: string;
  updatedAt: string;
}

export class EventPageDto {
  items: EventResponseDto[];
  nextCursor: string | null;
}

export function mapEvent(event: CatalogEvent): EventResponseDto {
  return {
    id: event.id,
    title: event.title,
    description: event.description,
    venue: event.venue,
    currency: event.currency,
    createdAt: event.createdAt.toISOString(),
    updatedAt: event.updatedAt.toISOString(),
  };
}
