import { Controller, Get, Query, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiResponse, ApiTags } from '@nestjs/swagger';
import { stringify } from 'csv-stringify/sync';
import { AuthenticatedUser, CurrentUser, RequiresCurrentRole, Role, Roles } from '@app/auth';
import { CashUp, CashUpService, toDateTime } from '@app/ticketing';
import { ErrorBodyDto } from '../common/error-body.dto';
import { CASH_UP_CSV_COLUMNS, cashUpLines, CashUpQueryDto, CashUpResponseDto, mapCashUp } from './cash-up.dto';

const BAD_INPUT =
  'from or to missing or not RFC 3339 with an explicit offset; from not before to; a range over 31 days; clerkId not a uuid; performanceId not an id; an unknown parameter';
const FORBIDDEN =
  "neither staff nor admin (read from the account now); `CashUpOfOtherClerk`: staff asking for another clerk's";

/**
 * The box office cash-up (end-of-shift reconciliation): per clerk and in total, per currency, the
 * window's sales by payment method, the refunds paid out there, and what the cash drawer and the
 * card terminal should hold. Admins read anyone's; staff their own drawer only. Exact at the
 * moment it is read: sales not written to PostgreSQL yet count.
 */
@ApiTags('admin')
@ApiBearerAuth()
@Controller('admin/box-office')
export class CashUpController {
  constructor(private readonly cashUps: CashUpService) {}

  /**
   * The cash-up of [from, to) (half-open, at most 31 days), optionally of one clerk (`clerkId`) and
   * one performance (`performanceId`). A clerk's sales are those they sold at the window (by sale
   * time); their refunds those they paid out there (whole and partial refunds of box office sales,
   * refunds owed after a canceled show marked paid; by the time paid). Comps are not money: not
   * counted. Several currencies are kept apart. Staff (their own only) or admin.
   */
  @Get('cash-up')
  @Roles(Role.Staff, Role.Admin)
  // A clerk whose staff role was revoked reads no drawer any more, whatever the token says.
  @RequiresCurrentRole()
  @ApiResponse({ status: 200, type: CashUpResponseDto, description: 'the cash-up' })
  @ApiResponse({ status: 400, type: ErrorBodyDto, description: BAD_INPUT })
  @ApiResponse({ status: 403, type: ErrorBodyDto, description: FORBIDDEN })
  async cashUp(@CurrentUser() caller: AuthenticatedUser, @Query() query: CashUpQueryDto): Promise<CashUpResponseDto> {
    return mapCashUp(await this.read(caller, query));
  }

  /**
   * The same cash-up as CSV, for a spreadsheet: one line per clerk and currency (`line` CLERK),
   * then one per currency of the totals (`line` TOTAL). Money in minor units of `currency`.
   */
  @Get('cash-up.csv')
  @Roles(Role.Staff, Role.Admin)
  @RequiresCurrentRole()
  @ApiOkResponse({
    description: `CSV (UTF-8 with a byte-order mark, CRLF lines, a header line): ${CASH_UP_CSV_COLUMNS.join(', ')}. Money in minor units of currency. Text cells a spreadsheet would read as a formula start with an apostrophe.`,
    content: { 'text/csv': { schema: { type: 'string' } } },
  })
  @ApiResponse({ status: 400, type: ErrorBodyDto, description: BAD_INPUT })
  @ApiResponse({ status: 403, type: ErrorBodyDto, description: FORBIDDEN })
  async cashUpCsv(@CurrentUser() caller: AuthenticatedUser, @Query() query: CashUpQueryDto): Promise<StreamableFile> {
    const cashUp = await this.read(caller, query);
    // As the door list writes its CSV (attendees-csv.ts): RFC 4180, CRLF, BOM, formulas escaped.
    const csv = stringify(cashUpLines(cashUp), {
      bom: true,
      header: true,
      columns: [...CASH_UP_CSV_COLUMNS],
      record_delimiter: 'windows',
      escape_formulas: true,
    });
    return new StreamableFile(Buffer.from(csv, 'utf8'), {
      type: 'text/csv; charset=utf-8',
      disposition: 'attachment; filename="box-office-cash-up.csv"',
    });
  }

  private read(caller: AuthenticatedUser, query: CashUpQueryDto): Promise<CashUp> {
    return this.cashUps.read(
      { id: caller.id, role: caller.role },
      {
        from: toDateTime(query.from, 'from'),
        to: toDateTime(query.to, 'to'),
        clerkId: query.clerkId ?? null,
        performanceId: query.performanceId ?? null,
      },
    );
  }
}
