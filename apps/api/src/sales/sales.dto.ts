import { ApiProperty } from '@nestjs/swagger';
import type { DoorCountRow } from '@app/database';
import { SALES_STATES } from '@app/ticketing';
import type {
  CheckInWindowState,
  DoorCount,
  EventSalesReport,
  PerformanceSalesReport,
  SalesFigures,
  SalesState,
} from '@app/ticketing';
import { MONEY_SCHEMA } from '../common/validators';

/** Seat counts and money of a set of seats; money in minor units of the report's `currency`. */
export class SalesFiguresDto {
  @ApiProperty({ type: 'integer', example: 400 })
  seatsTotal: number;
  @ApiProperty({
    type: 'integer',
    example: 310,
    description:
      'free now and still for sale, online or at the box office window (a hold past its expiry counts as free, but not the house seats a comp took from their block: those count as blocked); after online sales end (salesState ENDED or CLOSED) the window sells until check-in closes, so free seats stay available until then; 0 for a performance canceled or whose check-in has closed (its free seats are in unsold)',
  })
  available: number;
  @ApiProperty({ type: 'integer', example: 12, description: 'in a live hold' })
  held: number;
  @ApiProperty({
    type: 'integer',
    example: 78,
    description: 'off sale for good: in paid purchases (written to PostgreSQL or not yet), and the kept seats',
  })
  sold: number;
  @ApiProperty({
    type: 'integer',
    example: 1,
    description:
      'of sold: checked in, then refunded with resellCheckedInSeats false, by a whole or a partial refund (no revenue)',
  })
  kept: number;
  @ApiProperty({
    type: 'integer',
    example: 6,
    description:
      'taken off sale by an operator (blocked seats: not available, not sold), and the house seats of a comp hold past its expiry, which go back to their block',
  })
  blocked: number;
  @ApiProperty({
    type: 'integer',
    example: 0,
    description:
      'free seats of a performance whose sales are over for good (canceled, or its check-in closed: the box office window sells until then): nothing can hold them; available + held + sold + blocked + unsold = seatsTotal',
  })
  unsold: number;
  @ApiProperty({
    ...MONEY_SCHEMA,
    example: 11700000,
    description:
      "sum of the paid purchases, minor units; a section's is what its seats were sold at (never negative, " +
      "the sections' sum to the totals')",
  })
  revenue: number;
  @ApiProperty({
    type: 'integer',
    example: 41,
    description: 'purchases ever made, canceled ones included; comps apart (compPurchases)',
  })
  purchases: number;
  @ApiProperty({ type: 'integer', example: 2, description: 'purchases canceled or refunded; comps apart' })
  cancellations: number;
  @ApiProperty({
    type: 'integer',
    example: 4,
    description: 'of sold: seats given as comps (complimentary tickets an operator issued) not canceled; no revenue',
  })
  comps: number;
  @ApiProperty({ type: 'integer', example: 3, description: 'comps ever issued, canceled ones included' })
  compPurchases: number;
  @ApiProperty({ type: 'integer', example: 0, description: 'comps canceled (by their recipient or an operator)' })
  compCancellations: number;
  @ApiProperty({
    ...MONEY_SCHEMA,
    example: 9700000,
    description: 'of revenue: online sales (paid through the payment gateway), minor units',
  })
  onlineRevenue: number;
  @ApiProperty({
    ...MONEY_SCHEMA,
    example: 2000000,
    description: 'of revenue: box office sales (paid at the window), cashRevenue + cardTerminalRevenue, minor units',
  })
  boxOfficeRevenue: number;
  @ApiProperty({
    ...MONEY_SCHEMA,
    example: 600000,
    description:
      'of boxOfficeRevenue: taken in cash, refunds given back already (what the cash drawers hold), minor units',
  })
  cashRevenue: number;
  @ApiProperty({
    ...MONEY_SCHEMA,
    example: 1400000,
    description: 'of boxOfficeRevenue: taken on the card terminal, minor units',
  })
  cardTerminalRevenue: number;
  @ApiProperty({
    type: 'integer',
    example: 40,
    description:
      "of purchases: those made in a presale (a presale's access code let their holds in before the on-sale), canceled ones included",
  })
  presalePurchases: number;
  @ApiProperty({
    ...MONEY_SCHEMA,
    example: 2000000,
    description: 'of revenue: what the presale purchases brought, minor units',
  })
  presaleRevenue: number;
  @ApiProperty({ type: 'integer', example: 9, description: 'of purchases: box office sales, canceled ones included' })
  boxOfficePurchases: number;
  @ApiProperty({ type: 'integer', example: 1, description: 'of cancellations: box office sales refunded' })
  boxOfficeCancellations: number;
  @ApiProperty({
    type: 'integer',
    example: 1,
    description:
      'of boxOfficeCancellations: refunds owed at the window (box office sales canceled with their show, the money not given back yet; GET /admin/performances/:id/window-refunds lists them)',
  })
  windowRefundsOwed: number;
  @ApiProperty({
    ...MONEY_SCHEMA,
    example: 4550,
    description: 'owed at the window in cash, minor units: the cash drawers hold cashRevenue + cashRefundsOwed',
  })
  cashRefundsOwed: number;
  @ApiProperty({ ...MONEY_SCHEMA, example: 0, description: 'owed at the window to the card (terminal), minor units' })
  cardTerminalRefundsOwed: number;
  @ApiProperty({
    type: 'integer',
    example: 0,
    description:
      'of boxOfficeCancellations: refunds given back at the window (an operator refund, or an owed refund marked paid); free ones and partial refunds apart',
  })
  windowRefundsPaid: number;
  @ApiProperty({ ...MONEY_SCHEMA, example: 0, description: 'given back at the window in cash, minor units' })
  cashRefundsPaid: number;
  @ApiProperty({
    ...MONEY_SCHEMA,
    example: 0,
    description: 'given back at the window to the card (terminal), minor units',
  })
  cardTerminalRefundsPaid: number;
  @ApiProperty({
    type: 'integer',
    example: 61,
    description:
      'of sold less kept: tickets checked in at the door now (online sales, box office sales and comps alike); an undone check-in no longer counts, a canceled or refunded ticket never does',
  })
  checkedIn: number;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 17,
    description:
      "once the performance's check-in has closed: of sold less kept, the tickets never checked in (sold - kept - checkedIn); null in a performance's report while its check-in has not closed (see checkIn); an event's sums its closed performances'",
  })
  noShows: number | null;
}

export class SectionSalesDto extends SalesFiguresDto {
  @ApiProperty({ example: 'VIP' })
  name: string;
}

/** A performance's check-in window at the report's time. */
export class SalesCheckInDto {
  @ApiProperty({
    enum: ['NOT_OPEN', 'OPEN', 'CLOSED'],
    description: "where the report's time lies against the check-in window; no-shows are counted once CLOSED",
  })
  state: CheckInWindowState;
  /** When doors open (RFC 3339, UTC). */
  @ApiProperty({ format: 'date-time' })
  opensAt: string;
  /** When check-in closes (RFC 3339, UTC): from then on its unused tickets are no-shows. */
  @ApiProperty({ format: 'date-time' })
  closesAt: string;
  @ApiProperty({
    type: () => [DoorCountDoorDto],
    description:
      "totals.checkedIn per scanning account (a gate), by email: each door's admitted add up to totals.checkedIn; the same figures as GET /performances/:id/check-ins/summary's byDoor",
  })
  byDoor: DoorCountDoorDto[];
}

export class PerformanceSalesDto {
  @ApiProperty({ type: 'integer' })
  performanceId: number;
  @ApiProperty({ example: 'KRW', description: 'ISO 4217 code of `revenue`' })
  currency: string;
  @ApiProperty({
    enum: SALES_STATES,
    description:
      "whether online sales run at the report's time, as GET /performances/:id's salesState; CANCELED, or check-in closed (checkIn.state CLOSED): its free seats count as unsold, not available (ENDED before check-in closes: the box office window still sells them)",
  })
  salesState: SalesState;
  checkIn: SalesCheckInDto;
  totals: SalesFiguresDto;
  @ApiProperty({ type: [SectionSalesDto] })
  sections: SectionSalesDto[];
}

export class EventSalesDto {
  @ApiProperty({ type: 'integer' })
  eventId: number;
  @ApiProperty({ example: 'KRW', description: 'ISO 4217 code of `revenue`' })
  currency: string;
  /** The performances' figures summed. */
  totals: SalesFiguresDto;
  /** Sections summed by name over the performances. */
  @ApiProperty({ type: [SectionSalesDto] })
  sections: SectionSalesDto[];
  @ApiProperty({ type: [PerformanceSalesDto] })
  performances: PerformanceSalesDto[];
}

/** `figures` as the API answers them; `checkInClosed` false: no-shows are not known yet (null). */
function mapFigures(figures: SalesFigures, checkInClosed = true): SalesFiguresDto {
  const { seatsTotal, available, held, sold, kept, blocked, unsold, revenue, purchases, cancellations } = figures;
  const { comps, compPurchases, compCancellations } = figures;
  const { onlineRevenue, boxOfficeRevenue, cashRevenue, cardTerminalRevenue } = figures;
  const { presalePurchases, presaleRevenue, boxOfficePurchases, boxOfficeCancellations, checkedIn, noShows } = figures;
  const { windowRefundsOwed, cashRefundsOwed, cardTerminalRefundsOwed } = figures;
  const { windowRefundsPaid, cashRefundsPaid, cardTerminalRefundsPaid } = figures;
  return {
    seatsTotal,
    available,
    held,
    sold,
    kept,
    blocked,
    unsold,
    revenue,
    purchases,
    cancellations,
    comps,
    compPurchases,
    compCancellations,
    onlineRevenue,
    boxOfficeRevenue,
    cashRevenue,
    cardTerminalRevenue,
    presalePurchases,
    presaleRevenue,
    boxOfficePurchases,
    boxOfficeCancellations,
    windowRefundsOwed,
    cashRefundsOwed,
    cardTerminalRefundsOwed,
    windowRefundsPaid,
    cashRefundsPaid,
    cardTerminalRefundsPaid,
    checkedIn,
    noShows: checkInClosed ? noShows : null,
  };
}

export function mapPerformanceSales(report: PerformanceSalesReport): PerformanceSalesDto {
  const closed = report.checkIn.state === 'CLOSED';
  return {
    performanceId: report.performanceId,
    currency: report.currency,
    salesState: report.salesState,
    checkIn: {
      state: report.checkIn.state,
      opensAt: report.checkIn.opensAt.toISOString(),
      closesAt: report.checkIn.closesAt.toISOString(),
      byDoor: report.checkIn.byDoor.map(mapDoor),
    },
    totals: mapFigures(report.totals, closed),
    sections: report.sections.map((section) => ({ name: section.name, ...mapFigures(section, closed) })),
  };
}

export function mapEventSales(report: EventSalesReport): EventSalesDto {
  return {
    eventId: report.eventId,
    currency: report.currency,
    totals: mapFigures(report.totals),
    sections: report.sections.map((section) => ({ name: section.name, ...mapFigures(section) })),
    performances: report.performances.map(mapPerformanceSales),
  };
}

/** One door of the live count: the account (a gate) that scanned, and what it admitted. */
export class DoorCountDoorDto {
  @ApiProperty({
    type: 'string',
    format: 'uuid',
    nullable: true,
    description: 'the scanning account (a gate: a staff account, or an admin); null for check-ins recorded without one',
  })
  accountId: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'gate1@venue.example', description: 'null when no account' })
  email: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'Gate 1', description: 'null when no account' })
  name: string | null;
  @ApiProperty({ type: 'integer', example: 212, description: 'tickets this account checked in that count now' })
  admitted: number;
  @ApiProperty({
    format: 'date-time',
    example: '2026-12-06T10:18:41.588Z',
    description: 'its latest check-in that counts, UTC',
  })
  lastCheckInAt: string;
}

/** The door's live count of a performance. */
export class DoorCountDto {
  @ApiProperty({ type: 'integer', example: 7 })
  performanceId: number;
  @ApiProperty({
    type: 'integer',
    example: 388,
    description:
      "tickets valid for the performance now (online, box office and comps; canceled and refunded ones apart): the sales report's sold - kept",
  })
  expected: number;
  @ApiProperty({
    type: 'integer',
    example: 301,
    description:
      "of expected, checked in now (an undone check-in no longer counts): the sales report's checkedIn; the sum of byDoor's",
  })
  admitted: number;
  @ApiProperty({ type: 'integer', example: 87, description: 'expected - admitted' })
  remaining: number;
  @ApiProperty({
    type: [DoorCountDoorDto],
    description: 'per scanning account with a check-in that counts, by email; their admitted add up to admitted',
  })
  byDoor: DoorCountDoorDto[];
  @ApiProperty({ format: 'date-time', example: '2026-12-06T10:19:02.114Z', description: 'when counted, UTC' })
  asOf: string;
}

export function mapDoorCount(count: DoorCount): DoorCountDto {
  return {
    performanceId: count.performanceId,
    expected: count.expected,
    admitted: count.admitted,
    remaining: count.remaining,
    byDoor: count.byDoor.map(mapDoor),
    asOf: count.asOf.toISOString(),
  };
}

/** One door's figures as the door count and the sales report answer them. */
function mapDoor(door: DoorCountRow): DoorCountDoorDto {
  return {
    accountId: door.accountId,
    email: door.email,
    name: door.name,
    admitted: door.admitted,
    lastCheckInAt: door.lastCheckInAt.toISOString(),
  };
}
