import { ApiProperty } from '@nestjs/swagger';
import type { SeatListing } from '@app/ticketing';
import { RowLabelProperty, RowProperty } from './row-properties';
import { MoneyProperty } from './validators';

/** A booked seat as a person reads it. */
export class BookedSeatDto {
  /** @example 101 */
  @ApiProperty({ type: 'integer' })
  seatId: number;
  /** @example "A" */
  section: string;
  @RowProperty(3)
  row: number;
  @RowLabelProperty('booking')
  rowLabel: string;
  /** @example 12 */
  @ApiProperty({ type: 'integer' })
  number: number;
  /** @example "VIP" */
  grade: string;
  /**
   * What the booking pays for the seat, an integer in the minor unit of `currency`: its price when
   * the hold was made (a section repriced since changes neither it nor `amount`, which it sums to).
   * A booking made before holds recorded prices shows the section's price now. @example 150000
   */
  @MoneyProperty()
  price: number;
}

/** What holds and purchases show besides their ids: the event, the venue, when, and the seats. */
export class BookingDetailsDto {
  /** @example "IU 2027 World Tour — Seoul" */
  eventTitle: string;
  /** @example "Seoul Olympic Stadium" */
  venue: string;
  /** IANA name of the venue's time zone. @example "Asia/Seoul" */
  timeZone: string;
  /** When the performance starts. @example "2027-03-01T10:30:00.000Z" */
  @ApiProperty({ format: 'date-time' })
  startsAt: string;
  /** `startsAt` on the venue's wall clock, with its offset then. @example "2027-03-01T19:30:00+09:00" */
  @ApiProperty({ format: 'date-time' })
  startsAtLocal: string;
  /** In the order of `seatIds`. */
  seats: BookedSeatDto[];
}

/** A booked seat as the answers show it. */
export function mapBookedSeat(seat: SeatListing): BookedSeatDto {
  return {
    seatId: seat.id,
    section: seat.section,
    row: seat.row,
    rowLabel: seat.rowLabel,
    number: seat.number,
    grade: seat.grade,
    price: seat.price,
  };
}
