import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDefined, IsOptional, IsUUID } from 'class-validator';
import type { CashUp, CashUpFigures, ClerkCashUp } from '@app/ticketing';
import { OptionalIdQuery } from '../common/canonical-integer';
import { IsDateTime, MoneyProperty } from '../common/validators';

/** The query of `GET /admin/box-office/cash-up`: a half-open time range, optionally one clerk and one performance. */
export class CashUpQueryDto {
  @ApiProperty({
    format: 'date-time',
    description: 'Start of the range, included (RFC 3339 with an explicit offset; send `+` as `%2B`).',
    example: '2030-03-01T09:00:00+09:00',
  })
  @IsDefined({ message: 'from is required' })
  @IsDateTime()
  from: string;

  @ApiProperty({
    format: 'date-time',
    description:
      'End of the range, excluded (RFC 3339 with an explicit offset); after `from`, at most 31 days after it.',
    example: '2030-03-01T17:00:00+09:00',
  })
  @IsDefined({ message: 'to is required' })
  @IsDateTime()
  to: string;

  @ApiPropertyOptional({
    format: 'uuid',
    description:
      "Only this clerk's sales and the refunds they paid out. Staff may only give their own id (absent: theirs); admins any.",
  })
  @IsOptional()
  @IsUUID()
  // Stored in lower case, as every id the API writes.
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  clerkId?: string;

  @OptionalIdQuery('Only sales and refunds of this performance (decimal digits).')
  performanceId?: number;
}

/** A cash-up's figures in one currency; money in its minor units, never summed across currencies. */
export class CashUpFiguresDto {
  /** ISO 4217 code of every amount here. @example "EUR" */
  currency: string;
  /** Box office sales made in the range (refunded since or not: the money was taken). */
  @ApiProperty({ type: 'integer' })
  sales: number;
  /** Seats of those sales. */
  @ApiProperty({ type: 'integer' })
  seats: number;
  /** Of `sales`, paid in cash. */
  @ApiProperty({ type: 'integer' })
  cashSales: number;
  /** Of `sales`, paid on the card terminal. */
  @ApiProperty({ type: 'integer' })
  cardTerminalSales: number;
  /** Taken in cash at those sales, minor units of `currency`. */
  @MoneyProperty()
  cashTaken: number;
  /** Taken on the card terminal at those sales, minor units of `currency`. */
  @MoneyProperty()
  cardTerminalTaken: number;
  /** Refunds paid out at the window in the range: whole and partial refunds of box office sales, refunds owed after a canceled show marked paid. */
  @ApiProperty({ type: 'integer' })
  refunds: number;
  /** Given back in cash, minor units of `currency`. */
  @MoneyProperty()
  cashRefunded: number;
  /** Given back to cards on the terminal, minor units of `currency`. */
  @MoneyProperty()
  cardTerminalRefunded: number;
  /** What the cash drawer should hold from the range's work: `cashTaken - cashRefunded`, minor units of `currency` (negative when more went out than came in). */
  @MoneyProperty()
  cashNet: number;
  /** What the card terminal should show: `cardTerminalTaken - cardTerminalRefunded`, minor units of `currency`. */
  @MoneyProperty()
  cardTerminalNet: number;
}

/** One clerk's sales and the refunds they paid out. */
export class ClerkCashUpDto {
  @ApiProperty({ format: 'uuid' })
  clerkId: string;
  /** The account's e-mail now; null when the account is gone. */
  @ApiProperty({ type: 'string', nullable: true })
  email: string | null;
  /** The account's name now; null when the account is gone. */
  @ApiProperty({ type: 'string', nullable: true })
  name: string | null;
  /** One entry per currency, by code. */
  @ApiProperty({ type: [CashUpFiguresDto] })
  figures: CashUpFiguresDto[];
}

/** The box office cash-up of [from, to): per clerk and in total, per currency. */
export class CashUpResponseDto {
  /** The range's start, included (UTC). */
  @ApiProperty({ format: 'date-time' })
  from: string;
  /** The range's end, excluded (UTC). */
  @ApiProperty({ format: 'date-time' })
  to: string;
  /** The clerk it is limited to (a staff caller's own id); null: every clerk. */
  @ApiProperty({ type: 'string', format: 'uuid', nullable: true })
  clerkId: string | null;
  /** The performance it is limited to; null: every performance. */
  @ApiProperty({ type: 'integer', nullable: true })
  performanceId: number | null;
  /** Clerks with a sale or a refund paid out in the range, by e-mail. */
  @ApiProperty({ type: [ClerkCashUpDto] })
  clerks: ClerkCashUpDto[];
  /** The clerks' figures summed, one entry per currency, by code. */
  @ApiProperty({ type: [CashUpFiguresDto] })
  totals: CashUpFiguresDto[];
}

function mapFigures(figures: CashUpFigures): CashUpFiguresDto {
  return { ...figures };
}

function mapClerk(clerk: ClerkCashUp): ClerkCashUpDto {
  return { clerkId: clerk.clerkId, email: clerk.email, name: clerk.name, figures: clerk.figures.map(mapFigures) };
}

export function mapCashUp(cashUp: CashUp): CashUpResponseDto {
  return {
    from: cashUp.from.toISOString(),
    to: cashUp.to.toISOString(),
    clerkId: cashUp.clerkId,
    performanceId: cashUp.performanceId,
    clerks: cashUp.clerks.map(mapClerk),
    totals: cashUp.totals.map(mapFigures),
  };
}

/** The CSV's columns, in order: one line per clerk and currency, then one `TOTAL` line per currency. */
export const CASH_UP_CSV_COLUMNS = [
  'line',
  'clerk_id',
  'clerk_email',
  'clerk_name',
  'currency',
  'sales',
  'seats',
  'cash_sales',
  'card_terminal_sales',
  'cash_taken',
  'card_terminal_taken',
  'refunds',
  'cash_refunded',
  'card_terminal_refunded',
  'cash_net',
  'card_terminal_net',
] as const;

/** The cash-up as CSV lines (cells in the order of CASH_UP_CSV_COLUMNS). */
export function cashUpLines(cashUp: CashUp): (string | number | null)[][] {
  const cells = (figures: CashUpFigures) => [
    figures.currency,
    figures.sales,
    figures.seats,
    figures.cashSales,
    figures.cardTerminalSales,
    figures.cashTaken,
    figures.cardTerminalTaken,
    figures.refunds,
    figures.cashRefunded,
    figures.cardTerminalRefunded,
    figures.cashNet,
    figures.cardTerminalNet,
  ];
  return [
    ...cashUp.clerks.flatMap((clerk) =>
      clerk.figures.map((figures) => ['CLERK', clerk.clerkId, clerk.email, clerk.name, ...cells(figures)]),
    ),
    ...cashUp.totals.map((figures) => ['TOTAL', null, null, null, ...cells(figures)]),
  ];
}
