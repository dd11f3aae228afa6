import { Controller, Get, Head, Logger, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiOkResponse, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthenticatedUser, CurrentUser, RequiresCurrentRole, Role, Roles } from '@app/auth';
import { AttendeeList, DoorCounts, SalesReportService } from '@app/ticketing';
import { ErrorBodyDto } from '../common/error-body.dto';
import { IdParam } from '../common/parse-id.pipe';
import { attendeesCsv } from './attendees-csv';
import {
  DoorCountDto,
  EventSalesDto,
  mapDoorCount,
  mapEventSales,
  mapPerformanceSales,
  PerformanceSalesDto,
} from './sales.dto';

/** The door list's media type. */
const ATTENDEES_CSV_TYPE = 'text/csv; charset=utf-8';

/** The door list's Content-Disposition: a download named after its performance. */
function attendeesDisposition(performanceId: number): string {
  return `attachment; filename="performance-${performanceId}-attendees.csv"`;
}

@ApiTags('admin')
@ApiBearerAuth()
@Controller()
export class SalesController {
  private readonly logger = new Logger(SalesController.name);

  constructor(
    private readonly reports: SalesReportService,
    private readonly attendeeList: AttendeeList,
    private readonly doorCounts: DoorCounts,
  ) {}

  /**
   * Sales of one performance per section: seats total, available, held and sold, revenue (minor
   * units, with the currency), purchases and cancellations. Exact at the moment it is read,
   * including purchases and cancellations not written to PostgreSQL yet. Admin only.
   */
  @Get('performances/:id/sales')
  @Roles(Role.Admin)
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance' })
  async performance(@IdParam() id: number): Promise<PerformanceSalesDto> {
    return mapPerformanceSales(await this.reports.ofPerformance(id));
  }

  /**
   * The door's live count (gate staff and admins): tickets expected (the report's sold - kept),
   * admitted (its checkedIn) and remaining, and per scanning account (a gate) its admitted and last
   * check-in, so a door manager sees the slow gate. Counted by the sales report's rule in one
   * snapshot: the doors add up to admitted, an undone check-in no longer counts, a canceled or
   * refunded ticket never does. Cheap enough to poll every few seconds.
   */
  @Get('performances/:id/check-ins/summary')
  @Roles(Role.Staff, Role.Admin)
  // A door person whose staff role was revoked sees no more than they may scan.
  @RequiresCurrentRole()
  @ApiTags('tickets')
  @ApiResponse({
    status: 403,
    type: ErrorBodyDto,
    description: 'the caller is neither staff nor admin (read from the account now, not only from the token)',
  })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance' })
  async checkInSummary(@IdParam() id: number): Promise<DoorCountDto> {
    return mapDoorCount(await this.doorCounts.ofPerformance(id));
  }

  /** The event's performances' sales summed (sections by name), with each performance's report. Admin only. */
  @Get('events/:id/sales')
  @Roles(Role.Admin)
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such event' })
  async event(@IdParam() id: number): Promise<EventSalesDto> {
    return mapEventSales(await this.reports.ofEvent(id));
  }

  /**
   * HEAD of the door list: the download's headers, or its 401/403/404, without reading a line or
   * recording a download. Declared before the GET, so Fastify does not make its own HEAD of it,
   * which ran the whole GET (an `attendees.export` audit row for a list nobody received).
   */
  @Head('performances/:id/attendees')
  @Roles(Role.Admin)
  @ApiExcludeEndpoint()
  async attendeesHead(@IdParam() id: number, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    await this.attendeeList.probe(id);
    reply.header('content-type', ATTENDEES_CSV_TYPE).header('content-disposition', attendeesDisposition(id));
  }

  /**
   * The door list: one CSV line per active ticket (ticket, purchase, section, row, seat, price in
   * minor units, currency, purchased and checked-in times on the venue's clock with its offset,
   * buyer's e-mail and name, holder, comp note, the door that checked it in, and the presale the
   * purchase was made in: every ticket, whichever presale), in seat layout
   * order, streamed page by page. Purchases younger than PURCHASE_FLUSH_AGE_SECONDS are not on it
   * yet (it reads PostgreSQL). Admin only; each download is recorded in the audit log
   * (`attendees.export`). Errors before the first byte: NotFoundError (404),
   * DatabaseUnavailableError (503); a page that fails later cuts the download off and is logged.
   */
  @Get('performances/:id/attendees')
  @Roles(Role.Admin)
  @ApiOkResponse({
    description:
      'CSV (UTF-8 with a byte-order mark, CRLF lines, a header line): ticket_id, purchase_id, section, row, seat, ' +
      "price (minor units), currency, purchased_at, checked_in_at (empty until scanned; both ISO 8601 on the venue's clock with its offset, e.g. 2026-12-06T11:18:41.588+01:00), buyer_email, buyer_name, holder_email, holder_name (who holds it now: the buyer unless it was transferred), " +
      'comp_note, checked_in_by_email, checked_in_by_name, presale_id and presale_name (the presale the purchase was made in, empty for a sale of the general on-sale, a comp or a box office sale; a deleted presale keeps its name). ' +
      'Text cells a spreadsheet would read as a formula start with an apostrophe.',
    content: { 'text/csv': { schema: { type: 'string' } } },
  })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance' })
  async attendees(@CurrentUser() operator: AuthenticatedUser, @IdParam() id: number): Promise<StreamableFile> {
    const { timeZone, pages } = await this.attendeeList.open(id, { id: operator.id, email: operator.email });
    const csv = attendeesCsv(pages, timeZone, (error) =>
      this.logger.error(`door list of performance ${id} cut off: ${error.message}`, error.stack),
    );
    return new StreamableFile(csv, { type: ATTENDEES_CSV_TYPE, disposition: attendeesDisposition(id) });
  }
}
