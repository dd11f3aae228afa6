import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsInt, Max, Min } from 'class-validator';
import type { Described, Hold } from '@app/ticketing';
import { BookingDetailsDto, mapBookingDetails } from '../common/booking-details.dto';
import { CompiledSchema } from '../common/compiled-validation';

const MAX_ID = 2_147_483_647;

/** The body of `POST /reservations` (rules: the class-validator decorators; a compiled subset runs first). */
@CompiledSchema<{ performanceId: number; seatIds: number[] }>({
  type: 'object',
  properties: {
    performanceId: { type: 'integer', minimum: 1, maximum: MAX_ID },
    seatIds: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      uniqueItems: true,
      items: { type: 'integer', minimum: 1, maximum: MAX_ID },
    },
  },
  required: ['performanceId', 'seatIds'],
  additionalProperties: false,
})
export class ReservationCreateDto {
  /** @example 1 */
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  performanceId: number;

  /**
   * 1 to `MAX_SEATS_PER_RESERVATION` (default 4) seat ids of the performance, all held or none.
   * @example [101, 102]
   */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_ID, { each: true })
  seatIds: number[];
}

export class ReservationResponseDto extends BookingDetailsDto {
  id: string;
  performanceId: number;
  seatIds: number[];
  /** HELD until bought, released or expired. @example "HELD" */
  status: 'HELD' | 'EXPIRED' | 'RELEASED' | 'PURCHASED';
  /** Sum of the seat prices, an integer in the minor unit of `currency`. @example 300000 */
  @ApiProperty({ type: 'integer' })
  amount: number;
  /** ISO 4217 code of the performance's event. @example "KRW" */
  currency: string;
  expiresAt: string;
}

/** `GET /reservations`: every live hold of the caller at once. */
export class ReservationListResponseDto {
  items: ReservationResponseDto[];
  /** Always null: the whole list comes in one answer. */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  nextCursor: null;
}

export function mapReservation(hold: Described<Hold>): ReservationResponseDto {
  return {
    ...mapBookingDetails(hold.details),
    id: hold.id,
    performanceId: hold.performanceId,
    seatIds: hold.seatIds,
    status: hold.status,
    amount: hold.amount,
    currency: hold.currency,
    expiresAt: hold.expiresAt.toISOString(),
  };
}
