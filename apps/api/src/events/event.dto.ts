import { ApiHideProperty, ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { IsOptional, ValidateBy, ValidateIf } from 'class-validator';
import { isCurrencyCode } from '@app/config';
import { canonicalTimeZone, formatLocalDateTime, MAX_EVENT_SEARCH_LENGTH, timeZoneRefusal } from '@app/ticketing';
import type { CatalogEvent, DatedEvent } from '@app/ticketing';
import { FreeText } from '../common/free-text';
import { PageQueryDto } from '../common/page-query.dto';
import { IsDateTime } from '../common/validators';
import { MaxLength, MinLength } from '../common/text-length';

export class EventCreateDto {
  /** @example "IU 2027 World Tour — Seoul" */
  @FreeText()
  @MinLength(1)
  @MaxLength(200)
  title: string;

  /** Free text; may hold line breaks and tabs. */
  @IsOptional()
  @FreeText({ multiline: true })
  @MaxLength(5000)
  description?: string;

  /** @example "Seoul Olympic Stadium" */
  @FreeText()
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

  /**
   * IANA name of the venue's time zone: performance times are also shown on its wall clock, with
   * the offset of that moment (`startsAtLocal`). Checked against the server's time zone data and
   * kept in one canonical spelling: links followed, as the tz database names the zone today
   * (`asia/seoul` → `Asia/Seoul`, `US/Eastern` → `America/New_York`, `Asia/Calcutta` →
   * `Asia/Kolkata`); a place's zone (`Area/Location`) or `UTC`. Bare offsets (`+09:00`) and the
   * fixed-offset zones (`Etc/GMT±N`, `SystemV/EST5`, `EST`, `MST`, `HST`) are refused.
   * Default: `UTC`. @example "Asia/Seoul"
   */
  // Optional, but not nullable: only a missing zone takes the default.
  @ValidateIf((_dto, value) => value !== undefined)
  @ValidateBy({
    name: 'isTimeZone',
    validator: {
      validate: (value) => canonicalTimeZone(value) !== null,
      defaultMessage: () => timeZoneRefusal(),
    },
  })
  timeZone?: string;
}

/** The currency is not among the fields: prices already entered and sold are in it. */
/** The 400 message for a `currency` in `PATCH /events/:id`. */
export const CURRENCY_FIXED =
  "currency cannot be changed: an event's prices and purchases stay in the currency it was created with";

export class EventUpdateDto extends PartialType(OmitType(EventCreateDto, ['currency'] as const)) {
  /** Never accepted: named here so that sending it is refused with why, not as an unknown field. */
  @ApiHideProperty()
  @ValidateIf((dto: EventUpdateDto) => dto.currency !== undefined)
  @ValidateBy({ name: 'currencyFixed', validator: { validate: () => false, defaultMessage: () => CURRENCY_FIXED } })
  currency?: never;
}

export class EventResponseDto {
  @ApiProperty({ type: 'integer' })
  id: number;
  title: string;
  description: string | null;
  venue: string;
  /** ISO 4217 code of every price and amount of the event. @example "KRW" */
  currency: string;
  /** IANA name of the venue's time zone. @example "Asia/Seoul" */
  timeZone: string;
  @ApiProperty({ format: 'date-time' })
  createdAt: string;
  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

/** An event with when it plays (`GET /events`, `GET /events/:id`). */
export class EventDetailDto extends EventResponseDto {
  /** Start of its first performance; null while it has none. @example "2027-03-01T10:00:00.000Z" */
  @ApiProperty({ format: 'date-time' })
  firstStartsAt: string | null;
  /** `firstStartsAt` on the venue's wall clock, with its offset then. @example "2027-03-01T19:00:00+09:00" */
  @ApiProperty({ format: 'date-time' })
  firstStartsAtLocal: string | null;
  /** Start of its last performance; null while it has none. @example "2027-03-03T10:00:00.000Z" */
  @ApiProperty({ format: 'date-time' })
  lastStartsAt: string | null;
  /** `lastStartsAt` on the venue's wall clock, with its offset then. @example "2027-03-03T19:00:00+09:00" */
  @ApiProperty({ format: 'date-time' })
  lastStartsAtLocal: string | null;
  /** How many performances it has. @example 3 */
  @ApiProperty({ type: 'integer' })
  performanceCount: number;
}

export class EventPageDto {
  items: EventDetailDto[];
  nextCursor: string | null;
}

/**
 * `GET /events`: events with a performance starting in [`from`, `to`] whose title or venue
 * matches `q`. Without `from`, from now on (upcoming events).
 */
export class EventQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    format: 'date-time',
    description:
      'Only events with a performance starting at or after this instant (RFC 3339 with an explicit offset; send `+` as `%2B`). Default: now.',
    example: '2027-03-01T00:00:00+09:00',
  })
  @IsOptional()
  @IsDateTime()
  from?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description:
      'Only events with a performance starting at or before this instant (RFC 3339 with an explicit offset); not before `from`.',
    example: '2027-03-31T23:59:59+09:00',
  })
  @IsOptional()
  @IsDateTime()
  to?: string;

  @ApiPropertyOptional({
    description: `Text searched in title and venue: whole words, parts of words and small misspellings, in any script, whatever the case, accents and compatibility forms (\`bjork\`, \`BJORK\` and \`ＢＪＯＲＫ\` find \`Björk\`). At most ${MAX_EVENT_SEARCH_LENGTH} characters.`,
    maxLength: MAX_EVENT_SEARCH_LENGTH,
    example: '아이유 서울',
  })
  @IsOptional()
  @FreeText()
  @MaxLength(MAX_EVENT_SEARCH_LENGTH)
  q?: string;
}

export function mapEvent(event: CatalogEvent): EventResponseDto {
  return {
    id: event.id,
    title: event.title,
    description: event.description,
    venue: event.venue,
    currency: event.currency,
    timeZone: event.timeZone,
    createdAt: event.createdAt.toISOString(),
    updatedAt: event.updatedAt.toISOString(),
  };
}

/** The event with its dates. */
export function mapEventDetail(event: DatedEvent): EventDetailDto {
  return {
    ...mapEvent(event),
    firstStartsAt: event.firstStartsAt?.toISOString() ?? null,
    firstStartsAtLocal: event.firstStartsAt ? formatLocalDateTime(event.firstStartsAt, event.timeZone) : null,
    lastStartsAt: event.lastStartsAt?.toISOString() ?? null,
    lastStartsAtLocal: event.lastStartsAt ? formatLocalDateTime(event.lastStartsAt, event.timeZone) : null,
    performanceCount: event.performanceCount,
  };
}
