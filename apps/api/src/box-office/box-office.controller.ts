import { Body, Controller, Get, Post, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthenticatedUser, CurrentUser, RequiresCurrentRole, Role, Roles } from '@app/auth';
import { BookingDescriber, BoxOfficeService, MAX_SEATS_PER_BOX_OFFICE_SALE, PrintableTickets } from '@app/ticketing';
import { ErrorBodyDto } from '../common/error-body.dto';
import { IdParam, UuidParam } from '../common/parse-id.pipe';
import { ApiCreatedAt, resourcePath } from '../common/location';
import { ApiTicketPdfResponses, pdfFile, TicketPdf } from '../tickets/ticket-pdf';
import { BoxOfficeSaleCreateDto, BoxOfficeSaleResponseDto, mapBoxOfficeSale } from './box-office.dto';

/**
 * A window sale's `Location`, before its id: `GET /admin/purchases/:id`, the one route that reads a
 * sale (an admin's; a clerk reads its sales in the cash-up and prints them, but has no GET of one).
 */
const SALE_PATH = resourcePath('admin/purchases');

@ApiTags('box office')
@ApiBearerAuth()
@Controller('box-office')
export class BoxOfficeController {
  constructor(
    private readonly boxOffice: BoxOfficeService,
    private readonly describer: BookingDescriber,
    private readonly printable: PrintableTickets,
    private readonly pdf: TicketPdf,
  ) {}

  /**
   * Sells seats at the box office window to someone who walks up and pays there, in cash or on the
   * card terminal: nothing goes through the payment gateway. The seats are sold all or none, at
   * their current prices, on the sale's own path (a walk-up racing online buyers for a seat: one of
   * them gets it). The sale is the venue's (`saleChannel: "BOX_OFFICE"`, `paymentMethod`): stored
   * under the selling account, which sees none of it on the buyer's routes (404, or left out of its
   * lists); operators manage it through the admin routes. The answer carries each ticket's signed
   * code for the window to print (`GET /box-office/sales/:id/tickets.pdf` prints them at once). A repeated sale finds its seats sold: 409 naming them, and the box
   * office sale that has them and when (`details.soldAtBoxOffice`). Allowed
   * from the on-sale on while sales are on or closed, also after `salesCloseAt`, until the
   * performance's check-in closes; not while paused, nor for a canceled performance. No per-buyer
   * limit (1 to ${MAX_SEATS_PER_BOX_OFFICE_SALE} seats a sale); no waiting room. Staff or admin.
   * The 201 answer's `Location` is `/api/v1/admin/purchases/<id>` (readable by admins).
   */
  @Post('performances/:id/sales')
  @Roles(Role.Staff, Role.Admin)
  // A staff account whose role was revoked sells nothing more, whatever its token says.
  @RequiresCurrentRole()
  @ApiCreatedAt({
    type: BoxOfficeSaleResponseDto,
    readBy: '/admin/purchases/{id}',
    description:
      "the sale: the selling account's purchase, `saleChannel: \"BOX_OFFICE\"`, with its tickets' codes; `Location` is the admins' view of it",
  })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description: `seatIds empty, over ${MAX_SEATS_PER_BOX_OFFICE_SALE}, repeated or not ids; paymentMethod not CASH or CARD_TERMINAL; not an e-mail address; a name empty, over 200 characters or with control or invisible characters; an unknown field`,
  })
  @ApiResponse({
    status: 403,
    type: ErrorBodyDto,
    description: 'neither staff nor admin (read from the account now); `SalesNotOpen` before the on-sale',
  })
  @ApiResponse({
    status: 404,
    type: ErrorBodyDto,
    description: 'no such performance; seats not of it (`details.seatIds`); nothing held',
  })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description:
      'a seat is held, sold or blocked (`details.seatIds` names them; nothing held; `details.soldAtBoxOffice` `[{purchaseId, seatIds, soldAt}]` the box office sales that have some of them: a repeated sale); `PerformanceCanceled`; `BoxOfficeClosed` (its check-in has closed); `SalesClosed` while sales are paused (`details.reason` PAUSED) or the performance is being deleted',
  })
  @ApiResponse({ status: 503, type: ErrorBodyDto, description: 'Redis unavailable or the sale not replicated in time' })
  async sell(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Body() body: BoxOfficeSaleCreateDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BoxOfficeSaleResponseDto> {
    const sale = this.boxOffice.sell(
      { id: operator.id, email: operator.email },
      {
        performanceId: id,
        seatIds: body.seatIds,
        paymentMethod: body.paymentMethod,
        email: body.email,
        name: body.name,
      },
    );
    const answer = mapBoxOfficeSale(await this.describer.describe(sale));
    reply.header('location', SALE_PATH + answer.id);
    return answer;
  }

  /**
   * The sale's tickets to print at the window, as one A4 PDF, one ticket a page (the page of `GET
   * /purchases/:id/tickets.pdf`: the walk-up as holder, the QR code of the code the door admits).
   * At once: right after the sale too, before it is written to PostgreSQL (the tickets the sale
   * answered, from the ids it took ahead), when the door answers its codes `TicketNotWrittenYet`
   * for a few seconds and admits them after. Only tickets that admit someone (a seat refunded is
   * left out). A window sale only (an online purchase or a guest comp is a 404 here); a staff
   * account prints the sales it made (as the cash-up shows a clerk their own drawer), an admin
   * any. The role is read from the account now. 429 `TooManyTicketPrints` (`Retry-After`) past
   * TICKET_PRINT_LIMIT.operator, the print routes together, counted only once it would render.
   */
  @Get('sales/:id/tickets.pdf')
  @Roles(Role.Staff, Role.Admin)
  // A clerk whose staff role was revoked prints nothing more, whatever its token says.
  @RequiresCurrentRole()
  @ApiResponse({ status: 400, type: ErrorBodyDto, description: 'not a uuid' })
  @ApiResponse({ status: 403, type: ErrorBodyDto, description: 'neither staff nor admin (read from the account now)' })
  @ApiTicketPdfResponses({
    pages: 'each',
    notFound: "no such box office sale (an online purchase, a guest comp); to staff, another clerk's sale",
    conflict:
      'PurchaseCanceled (refunded, also while only in Redis), TicketsNotIssued (a sale in Redis without its ticket ids: retry after `Retry-After` seconds)',
    limit: 'operator',
  })
  async salePdf(@CurrentUser() operator: AuthenticatedUser, @UuidParam() id: string): Promise<StreamableFile> {
    const tickets = await this.printable.ofBoxOfficeSale({ id: operator.id, admin: operator.role === Role.Admin }, id);
    return pdfFile(await this.pdf.render(tickets), `tickets-${tickets[0]!.purchaseId}.pdf`);
  }
}
