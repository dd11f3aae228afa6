import { ApiProperty } from '@nestjs/swagger';
import type { Section, SectionAvailability } from '@app/ticketing';
import { MoneyField, MoneyProperty } from '../common/validators';

/** The new price of a section's seats (admin). */
export class SectionPriceUpdateDto {
  /**
   * Price of each seat for holds made from now on: an integer in the minor unit of the event's
   * currency (ISO 4217 exponent), e.g. 150000 for ₩150,000 in KRW. @example 150000
   */
  @MoneyField(0, 100_000_000)
  price: number;
}

export class SectionResponseDto {
  /** @example "Floor" */
  name: string;
  /** @example "VIP" */
  grade: string;
  /** Price of each seat a new hold pays, an integer in the minor unit of `currency`. @example 150000 */
  @MoneyProperty()
  price: number;
  /** ISO 4217 code of the event. @example "KRW" */
  currency: string;
  /** Seats of the section, whatever their status. @example 1000 */
  @ApiProperty({ type: 'integer' })
  seatsTotal: number;
}

export class SectionAvailabilityDto extends SectionResponseDto {
  /** Seats free to hold, counted from the live seat state a few seconds ago at most while buyers read it. @example 412 */
  @ApiProperty({ type: 'integer' })
  available: number;
}

export class SectionListDto {
  /** The performance's sections in layout order. */
  items: SectionAvailabilityDto[];
}

export function mapSection(section: Section): SectionResponseDto {
  return {
    name: section.name,
    grade: section.grade,
    price: section.price,
    currency: section.currency,
    seatsTotal: section.seatsTotal,
  };
}

export function mapSectionAvailability(section: SectionAvailability): SectionAvailabilityDto {
  return { ...mapSection(section), available: section.available };
}
