import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { JSONSchemaType } from 'ajv';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsInt,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';
import { MAX_INT4 } from '@app/core';
import { ARRANGEMENTS, formatLocalDateTime, InvalidInputError } from '@app/ticketing';
import type { Arrangement, Described, Hold, HoldEndReason, SeatScope } from '@app/ticketing';
import { BookingDetailsDto, mapBookedSeat } from '../common/booking-details.dto';
import { CompiledSchema } from '../common/compiled-validation';
import { asciiNamePattern, FreeText } from '../common/free-text';
import { GRADE_PATTERN, SECTION_NAME_PATTERN } from '../common/section-name-patterns';
import { IntegerField, itemsAtLeast, itemsAtMost, MoneyProperty } from '../common/validators';

/** The two forms of `POST /reservations` as the compiled schema accepts them (a subset of the DTO's rules). */
type ReservationBody =
  | { performanceId: number; seatIds: number[]; accessCode?: string }
  | {
      performanceId: number;
      quantity: number;
      accessCode?: string;
      grade?: string;
      section?: string;
      together?: boolean;
      accessible?: boolean;
    };

const ID_SCHEMA = { type: 'integer', minimum: 1, maximum: MAX_INT4 } as const;
/**
 * A presale's access code as a buyer sends it: ACCESS_CODE_PATTERN with white space around it,
 * which `reservationRequest` trims (a code pasted from an e-mail often brings a space or a line
 * break along). In the compiled schema and the DTO alike.
 */
const ACCESS_CODE_INPUT = '^\\s*[\\x21-\\x7E]{4,64}\\s*$';
const ACCESS_CODE_SCHEMA = { type: 'string', pattern: ACCESS_CODE_INPUT } as const;

/**
 * The most seats one `POST /reservations` body may name (`seatIds`) or ask for (`quantity`): above
 * every per-user limit the configuration allows (MAX_SEATS_PER_RESERVATION_CEILING), so a count
 * within it but over the configured limit is the limit's 409 (HoldLimitExceeded) in both forms,
 * and only a count no configuration could allow is a 400.
 */
export const MAX_SEATS_PER_REQUEST = 100;

/** The 400 message of a `quantity` no configuration could allow. */
const QUANTITY_RANGE = `quantity must be an integer from 1 to ${MAX_SEATS_PER_REQUEST}`;

/**
 * The body of `POST /reservations`, in one of two forms: chosen `seatIds`, or a best-available
 * request (`quantity` with optional `grade` or `section`, `together`, `accessible`). Rules: the
 * class-validator decorators, then {@link reservationRequest} (exactly one form, grade and section
 * exclusive); a compiled subset runs first. The subset picks its form by `quantity` (`if`/`then`/
 * `else`) rather than trying both (`anyOf`): each form refuses the other's field, so it accepts the
 * same bodies, and a best-available body no longer fails the seat-id form first (Ajv builds an
 * error object for that failure: ~3× the check's time, docs/performance.md).
 */
@CompiledSchema<ReservationBody>({
  if: { type: 'object', required: ['quantity'] },
  else: {
    type: 'object',
    properties: {
      performanceId: ID_SCHEMA,
      seatIds: { type: 'array', minItems: 1, maxItems: MAX_SEATS_PER_REQUEST, uniqueItems: true, items: ID_SCHEMA },
      accessCode: ACCESS_CODE_SCHEMA,
    },
    required: ['performanceId', 'seatIds'],
    additionalProperties: false,
  },
  then: {
    type: 'object',
    properties: {
      performanceId: ID_SCHEMA,
      quantity: { type: 'integer', minimum: 1, maximum: MAX_SEATS_PER_REQUEST },
      grade: { type: 'string', pattern: asciiNamePattern(20) },
      section: { type: 'string', pattern: asciiNamePattern(50) },
      together: { type: 'boolean' },
      accessible: { type: 'boolean' },
      accessCode: ACCESS_CODE_SCHEMA,
    },
    required: ['performanceId', 'quantity'],
    not: { required: ['grade', 'section'] },
    additionalProperties: false,
  },
} as unknown as JSONSchemaType<ReservationBody>)
export class ReservationCreateDto {
  /** @example 1 */
  @IntegerField(1, MAX_INT4)
  performanceId: number;

  /**
   * Chosen seats: 1 to `MAX_SEATS_PER_RESERVATION` (default 4) seat ids of the performance, all
   * held or none; more than that limit (up to 100) is the limit's 409 `HoldLimitExceeded`, more
   * than 100 a 400. Give either this or `quantity`.
   * @example [101, 102]
   */
  @ApiPropertyOptional({ type: 'integer', isArray: true })
  @ValidateIf((dto: ReservationCreateDto) => dto.seatIds !== undefined)
  @IsArray()
  @ArrayMinSize(1, itemsAtLeast(1))
  @ArrayMaxSize(MAX_SEATS_PER_REQUEST, itemsAtMost(MAX_SEATS_PER_REQUEST))
  @ArrayUnique({ message: 'seatIds must not name a seat twice' })
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_INT4, { each: true })
  seatIds?: number[];

  /**
   * Best available: how many seats, 1 to `MAX_SEATS_PER_RESERVATION`; the best seats are picked
   * and held in one step (the ladder: TOGETHER, TOGETHER_WITH_GAP, ADJACENT_ROWS, then SPLIT when
   * `together` is false). More than that limit (up to 100) is the limit's 409
   * `HoldLimitExceeded`, as for `seatIds`; 0 or more than 100 a 400. Give either this or `seatIds`.
   * @example 2
   */
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_SEATS_PER_REQUEST })
  @ValidateIf((dto: ReservationCreateDto) => dto.quantity !== undefined)
  // One message for every quantity no configuration could allow, however far out.
  @IsInt({ message: QUANTITY_RANGE })
  @Min(1, { message: QUANTITY_RANGE })
  @Max(MAX_SEATS_PER_REQUEST, { message: QUANTITY_RANGE })
  quantity?: number;

  /** Best available: only seats of this grade. Not with `section`. @example "R" */
  @ApiPropertyOptional({ description: 'Best available: only seats of this grade. Not with `section`.' })
  @ValidateIf((dto: ReservationCreateDto) => dto.grade !== undefined)
  @FreeText()
  @Matches(GRADE_PATTERN, { message: 'grade must be 1-20 letters, digits, spaces, _ or -' })
  grade?: string;

  /** Best available: only seats of this section (its name). Not with `grade`. @example "Floor" */
  @ApiPropertyOptional({ description: 'Best available: only seats of this section (its name). Not with `grade`.' })
  @ValidateIf((dto: ReservationCreateDto) => dto.section !== undefined)
  @FreeText()
  @Matches(SECTION_NAME_PATTERN, { message: 'section must be 1-50 letters, digits, spaces, _ or -' })
  section?: string;

  /**
   * Best available: true (the default) keeps the party together (one row, or adjacent rows of
   * one section) or holds nothing; false lets the last rung split it over the best single seats.
   */
  @ApiPropertyOptional({ default: true })
  @ValidateIf((dto: ReservationCreateDto) => dto.together !== undefined)
  @IsBoolean()
  together?: boolean;

  /**
   * Best available: true asks for wheelchair spaces with their companion seats (at least one
   * accessible seat); false (the default) never offers those seats.
   */
  @ApiPropertyOptional({ default: false })
  @ValidateIf((dto: ReservationCreateDto) => dto.accessible !== undefined)
  @IsBoolean()
  accessible?: boolean;

  /**
   * A presale's access code (either form): needed before `salesOpenAt` while a presale of the
   * performance is open (without it 403 `SalesNotOpen` naming the presale, `details.presales`;
   * the code of another presale, not open now, 403 `PresaleNotOpen` naming its window; another
   * code 403 `AccessCodeInvalid`, nothing held); ignored outside every presale and from
   * `salesOpenAt` on. 4–64 printable ASCII characters without spaces, compared case-insensitively;
   * white space around them (a space, a line break) is ignored.
   * @example "FANCLUB-2027"
   */
  @ApiPropertyOptional({ minLength: 4, pattern: ACCESS_CODE_INPUT })
  @ValidateIf((dto: ReservationCreateDto) => dto.accessCode !== undefined)
  @IsString()
  @Matches(new RegExp(ACCESS_CODE_INPUT), {
    message: 'accessCode must be 4-64 printable ASCII characters without spaces',
  })
  accessCode?: string;
}

/** A validated body of `POST /reservations`, by form. */
export type ReservationRequest =
  | { form: 'seats'; performanceId: number; seatIds: number[]; accessCode?: string }
  | {
      form: 'best-available';
      performanceId: number;
      quantity: number;
      together: boolean;
      accessible: boolean;
      scope: SeatScope;
      accessCode?: string;
    };

const BEST_AVAILABLE_FIELDS = ['grade', 'section', 'together', 'accessible'] as const;

/**
 * The form of a validated body: exactly one of `seatIds` and `quantity`; the best-available
 * fields only with `quantity`; `grade` and `section` not both. Throws InvalidInputError (400).
 */
export function reservationRequest(body: ReservationCreateDto): ReservationRequest {
  const { performanceId, seatIds, quantity } = body;
  if (seatIds === undefined && quantity === undefined) {
    throw new InvalidInputError('give seatIds (chosen seats) or quantity (best available)');
  }
  if (seatIds !== undefined && quantity !== undefined) {
    throw new InvalidInputError('give either seatIds (chosen seats) or quantity (best available), not both');
  }
  if (seatIds !== undefined) {
    const extra = BEST_AVAILABLE_FIELDS.filter((field) => body[field] !== undefined);
    if (extra.length > 0) {
      throw new InvalidInputError(`${extra.join(', ')} may only come with quantity (best available), not with seatIds`);
    }
    return { form: 'seats', performanceId, seatIds, accessCode: body.accessCode?.trim() };
  }
  if (body.grade !== undefined && body.section !== undefined) {
    throw new InvalidInputError('give grade or section, not both');
  }
  const scope: SeatScope =
    body.section !== undefined
      ? { kind: 'section', section: body.section }
      : body.grade !== undefined
        ? { kind: 'grade', grade: body.grade }
        : { kind: 'all' };
  return {
    form: 'best-available',
    performanceId,
    quantity: quantity!,
    together: body.together ?? true,
    accessible: body.accessible ?? false,
    scope,
    accessCode: body.accessCode?.trim(),
  };
}

export class ReservationResponseDto extends BookingDetailsDto {
  id: string;
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  @ApiProperty({ type: 'integer', isArray: true })
  seatIds: number[];
  /** HELD until bought, released (by its owner, or by the performance's cancellation) or expired. @example "HELD" */
  status: 'HELD' | 'EXPIRED' | 'RELEASED' | 'PURCHASED';
  /** Only on a hold RELEASED because its performance was canceled: PERFORMANCE_CANCELED (its seats are free, it can no longer be bought). */
  @ApiPropertyOptional({ enum: ['PERFORMANCE_CANCELED'] })
  endReason?: HoldEndReason;
  /** Sum of the seat prices, an integer in the minor unit of `currency`. @example 300000 */
  @MoneyProperty()
  amount: number;
  /** ISO 4217 code of the performance's event. @example "KRW" */
  currency: string;
  @ApiProperty({ format: 'date-time' })
  expiresAt: string;
  /**
   * Best-available holds only: the rung of the ladder that placed the seats — TOGETHER (one row,
   * no single empty seat left beside them), TOGETHER_WITH_GAP (one row, one single left, or two where nothing leaves only one),
   * ADJACENT_ROWS (consecutive rows of one section, the rows' shares one behind the other
   * whenever some rows allow that), SPLIT (asked with `together: false`).
   */
  @ApiPropertyOptional({ enum: ARRANGEMENTS })
  arrangement?: Arrangement;
}

/** `GET /reservations`: every live hold of the caller at once. */
export class ReservationListResponseDto {
  items: ReservationResponseDto[];
  /** Always null: the whole list comes in one answer. */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  nextCursor: null;
}

/** The answer for a hold: one object literal in the answer's field order (see mapPurchase). */
export function mapReservation(hold: Described<Hold>): ReservationResponseDto {
  const { details } = hold;
  const answer: ReservationResponseDto = {
    eventTitle: details.eventTitle,
    venue: details.venue,
    timeZone: details.timeZone,
    startsAt: details.startsAt.toISOString(),
    startsAtLocal: formatLocalDateTime(details.startsAt, details.timeZone),
    seats: details.seats.map(mapBookedSeat),
    id: hold.id,
    performanceId: hold.performanceId,
    seatIds: hold.seatIds,
    status: hold.status,
    amount: hold.amount,
    currency: hold.currency,
    expiresAt: hold.expiresAt.toISOString(),
  };
  if (hold.endReason) answer.endReason = hold.endReason;
  if (hold.arrangement) answer.arrangement = hold.arrangement;
  return answer;
}
