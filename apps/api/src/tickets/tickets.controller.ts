import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  StreamableFile,
} from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser, CurrentUser, RequiresCurrentRole, Role, Roles } from '@app/auth';
import {
  CheckInUndo,
  PrintableTickets,
  PrintCaller,
  TicketResend,
  TicketService,
  TicketTransferService,
} from '@app/ticketing';
import { PageQueryDto } from '../common/page-query.dto';
import { HeldTicketPageDto, mapHeldTicket } from '../ticket-transfers/ticket-transfer.dto';
import { ParseTicketIdPipe, UuidParam } from '../common/parse-id.pipe';
import { ErrorBodyDto } from '../common/error-body.dto';
import { NoBody } from '../common/no-body';
import {
  CheckInCreateDto,
  CheckInResponseDto,
  CheckInUndoResponseDto,
  mapCheckIn,
  mapTicketHolderResend,
  mapTicketResend,
  TicketHolderResendResponseDto,
  TicketResendResponseDto,
  mapCheckInUndo,
  mapTicket,
  TicketListDto,
} from './ticket.dto';
import { ApiTicketPdfResponses, pdfFile, TicketPdf } from './ticket-pdf';

/** Who may print what: an admin prints anyone's (the role its token names, as the admin routes read it). */
function printCaller(user: AuthenticatedUser): PrintCaller {
  return { id: user.id, admin: user.role === Role.Admin };
}

@ApiTags('tickets')
@ApiBearerAuth()
@Controller()
export class TicketsController {
  constructor(
    private readonly tickets: TicketService,
    private readonly transfers: TicketTransferService,
    private readonly undo: CheckInUndo,
    private readonly resend: TicketResend,
    private readonly printable: PrintableTickets,
    private readonly pdf: TicketPdf,
  ) {}

  /**
   * The tickets the caller holds, newest first: those of its purchases it did not transfer away,
   * and those it received by a transfer (`received: true`), each with the code of its current
   * version. Tickets are listed once issued (their purchase written to PostgreSQL, a few seconds
   * after it is answered). A ticket whose purchase is canceled or refunded is CANCELED, without a
   * code, at once: also while the cancellation is only in Redis, as the purchase's ticket list and
   * the door have it.
   */
  @Get('tickets')
  async held(@CurrentUser() user: AuthenticatedUser, @Query() query: PageQueryDto): Promise<HeldTicketPageDto> {
    const page = await this.transfers.held(user.id, query.cursor, query.limit);
    return { items: page.items.map(mapHeldTicket), nextCursor: page.nextCursor };
  }

  /**
   * The tickets of the caller's purchase, one per seat, each with its signed code (none for a
   * ticket transferred to someone else: status TRANSFERRED). Anyone else's
   * purchase is a 404. Tickets are issued when the purchase is written to PostgreSQL (a few
   * seconds after it is answered): before that, 409 `TicketsNotIssued` with `Retry-After`, but
   * for a purchase canceled already: its tickets, CANCELED, as after the flush (`id` null until then).
   */
  @Get('purchases/:id/tickets')
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such purchase of the caller' })
  @ApiResponse({ status: 409, type: ErrorBodyDto, description: 'not issued yet: retry after `Retry-After` seconds' })
  async list(@CurrentUser() user: AuthenticatedUser, @UuidParam() id: string): Promise<TicketListDto> {
    return { items: (await this.tickets.ticketsOf(user.id, id)).map(mapTicket) };
  }

  /**
   * The caller's purchase's tickets to print at home, as one A4 PDF, one ticket a page: event, venue,
   * start on the venue's clock with its offset, seat, price, holder, purchase and ticket ids, and the
   * QR code of the code the door scans (the e-mail's), written out under it. Only tickets that admit
   * someone: none canceled or refunded, none transferred away (their holders print theirs, `GET
   * /tickets/:ticketId/ticket.pdf`). An admin may print anyone's purchase (a box office sale's too);
   * a box office sale is not its selling clerk's (404). 409 `PurchaseCanceled`, `NoTicketsToPrint`
   * (every ticket transferred away), `TicketsNotIssued` (with `Retry-After`, as the ticket list).
   * 429 `TooManyTicketPrints` (`Retry-After`) past TICKET_PRINT_LIMIT, counted only once it would render.
   */
  @Get('purchases/:id/tickets.pdf')
  @ApiTicketPdfResponses({
    pages: 'each',
    notFound:
      "no such purchase of the caller (an admin: no such purchase); anyone else's is a 404 whether it is written to PostgreSQL yet or not",
    conflict:
      "PurchaseCanceled (canceled or refunded, also while only in Redis), NoTicketsToPrint (every ticket transferred away), TicketsNotIssued (the caller's own purchase, answered 201 but not written to PostgreSQL yet, so its tickets have no ids or codes: the tickets are being issued, retry after `Retry-After` seconds; never a 404)",
    limit: 'buyer',
  })
  async purchasePdf(@CurrentUser() user: AuthenticatedUser, @UuidParam() id: string): Promise<StreamableFile> {
    const tickets = await this.printable.ofPurchase(printCaller(user), id);
    return pdfFile(await this.pdf.render(tickets), `tickets-${tickets[0]!.purchaseId}.pdf`);
  }

  /**
   * One ticket to print, for whoever holds it now: the account it was transferred to, else its
   * buyer (an admin: any ticket, a box office sale's also before its flush, from the id the sale
   * took ahead); the page of `GET /purchases/:id/tickets.pdf`, with the code of its current version. 404 for anyone else (the buyer who transferred it away too), 409
   * `TicketCanceled` (the ticket, its seat or its purchase canceled or refunded, also while only in
   * Redis). 429 `TooManyTicketPrints` as `GET /purchases/:id/tickets.pdf`.
   */
  @Get('tickets/:ticketId/ticket.pdf')
  @ApiParam({ name: 'ticketId', schema: { type: 'string', pattern: '^[1-9][0-9]{0,18}$' } })
  @ApiResponse({ status: 400, type: ErrorBodyDto, description: 'not a ticket id (canonical decimal digits)' })
  @ApiTicketPdfResponses({
    pages: 'one',
    notFound: "no such ticket, or not the caller's: held by someone else (transferred away), or a box office sale's",
    conflict: 'TicketCanceled: the ticket, its seat or its purchase canceled or refunded (also while only in Redis)',
    limit: 'buyer',
  })
  async ticketPdf(
    @CurrentUser() user: AuthenticatedUser,
    @Param('ticketId', new ParseTicketIdPipe()) ticketId: string,
  ): Promise<StreamableFile> {
    const ticket = await this.printable.ofTicket(printCaller(user), ticketId);
    return pdfFile(await this.pdf.render([ticket]), `ticket-${ticket.ticketId}.pdf`);
  }

  /**
   * E-mails the caller's purchase's tickets to the caller again (a lost confirmation): queued through
   * the outbox, RabbitMQ and the mailer as the confirmation is, with the tickets as they are when it
   * is sent (none canceled or transferred away). At most 3 per 15 minutes per account (429
   * `TooManyTicketResends`, `Retry-After`). 409 `PurchaseCanceled`, `NoTicketsToSend` (every
   * ticket transferred away), `TicketsNotIssued` (with `Retry-After`, as the ticket list).
   */
  @Post('purchases/:id/tickets/resend')
  @NoBody()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiResponse({ status: 202, type: TicketResendResponseDto, description: 'the e-mail is queued' })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such purchase of the caller' })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description:
      'PurchaseCanceled (canceled or refunded: no ticket admits), NoTicketsToSend (every ticket transferred away), TicketsNotIssued (not written yet: retry after `Retry-After` seconds)',
  })
  @ApiResponse({
    status: 429,
    type: ErrorBodyDto,
    description: 'TooManyTicketResends: 3 in the last 15 minutes by this account; `Retry-After`',
  })
  async resendTickets(
    @CurrentUser() user: AuthenticatedUser,
    @UuidParam() id: string,
  ): Promise<TicketResendResponseDto> {
    return mapTicketResend(await this.resend.resendForBuyer(user.id, id));
  }

  /**
   * E-mails one ticket to whoever holds it now (admin): the account it was transferred to, else its
   * purchase's buyer (a box office sale's delivery address when it has one), with its current code,
   * in the resend e-mail of its purchase: queued through the outbox, RabbitMQ and the mailer, which
   * reads the holder again when it sends (a transfer accepted meanwhile sends it to the new holder).
   * Not limited; the audit log records who did it (`ticket.resend`). 409 `TicketCanceled` for a
   * ticket canceled or refunded (also while its purchase's cancellation is only in Redis); 404 for
   * an unknown ticket (also one of a purchase not written to PostgreSQL yet: its tickets have no
   * ids). Admin only.
   */
  @Post('admin/tickets/:ticketId/resend')
  @NoBody()
  @HttpCode(HttpStatus.ACCEPTED)
  @Roles(Role.Admin)
  @ApiTags('admin')
  @ApiParam({ name: 'ticketId', schema: { type: 'string', pattern: '^[1-9][0-9]{0,18}$' } })
  @ApiResponse({ status: 202, type: TicketHolderResendResponseDto, description: 'the e-mail is queued' })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description: 'not a ticket id (canonical decimal digits), or a body',
  })
  @ApiResponse({ status: 403, type: ErrorBodyDto, description: 'not an admin' })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such ticket' })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description: 'TicketCanceled: the ticket or its purchase was canceled or refunded; nothing queued',
  })
  async resendTicket(
    @CurrentUser() operator: AuthenticatedUser,
    @Param('ticketId', new ParseTicketIdPipe()) ticketId: string,
  ): Promise<TicketHolderResendResponseDto> {
    return mapTicketHolderResend(
      await this.resend.resendTicketForOperator({ id: operator.id, email: operator.email }, ticketId),
    );
  }

  /**
   * Checks a ticket in at the door (staff or admin). 200 the first time, with the seat and the
   * holder; 409 `TicketAlreadyCheckedIn` afterwards (`details.checkedInAt` says when, in UTC; the
   * message names it on the venue's clock, with the offset); 409 `TicketCanceled` for a canceled or
   * refunded purchase; with `performanceId` (the door's performance), 409
   * `TicketForAnotherPerformance` for a ticket of another (`details.performanceId` names its own;
   * nothing recorded), 404 when no performance has that id; 400 for a forged or malformed code; 404
   * for a genuine code whose ticket no longer exists. Of concurrent scans of one code, one gets
   * 200. Only inside the ticket's check-in window (the performance's `checkInOpensAt` until
   * `checkInClosesAt`): before it 409 `CheckInNotOpen`, from its close 409 `CheckInClosed`, each
   * naming the performance's start on the venue's clock (`details.startsAt`,
   * `details.checkInOpensAt`, `details.checkInClosesAt`, `details.reason` NOT_OPEN or CLOSED);
   * nothing recorded. A ticket used already answers `TicketAlreadyCheckedIn` at any time, and a
   * canceled one `TicketCanceled`, also while its cancellation is only in Redis (not flushed yet).
   */
  @Post('check-in')
  @HttpCode(200)
  @Roles(Role.Staff, Role.Admin)
  // A door person whose staff role was revoked admits no one more, whatever their token says.
  @RequiresCurrentRole()
  @ApiResponse({ status: 400, type: ErrorBodyDto, description: 'forged or malformed code' })
  @ApiResponse({
    status: 403,
    type: ErrorBodyDto,
    description: 'the caller is neither staff nor admin (read from the account now, not only from the token)',
  })
  @ApiResponse({
    status: 404,
    type: ErrorBodyDto,
    description: "genuine code, ticket no longer exists; or the door's performanceId names no performance",
  })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description:
      'already checked in (`details.checkedInAt`, and `details.checkedInBy`: the account, the door, that scanned it; the message says both, the time on the venue clock), TicketTransferred (a code from before a transfer of the ticket: void), canceled (also while the cancellation is only in Redis; before any window refusal), its performance canceled, (with `performanceId`) a ticket for another performance, or scanned outside its check-in window: before doors open (`details.reason` NOT_OPEN) or after check-in closed (CLOSED), with the performance start on the venue clock in the message and `details`; nothing recorded',
  })
  async checkIn(@CurrentUser() user: AuthenticatedUser, @Body() body: CheckInCreateDto): Promise<CheckInResponseDto> {
    return mapCheckIn(await this.tickets.checkIn(body.code, user.id, body.performanceId));
  }

  /**
   * Undoes the check-in of a ticket (a wrong ticket scanned, a holder turned back after the scan):
   * afterwards it admits again, once, and its purchase can be canceled again as if never scanned.
   * An admin undoes any check-in; a staff account only its own, within CHECK_IN_UNDO_MINUTES (10)
   * of it (403 `CheckInUndoForbidden` otherwise, `details.reason` NOT_YOUR_CHECK_IN or
   * UNDO_WINDOW_PASSED). 409 `TicketNotCheckedIn` (none to undo, or undone meanwhile),
   * `TicketCanceled` (its purchase canceled or refunded: a refund may have kept its seat as checked
   * in), `PerformanceCanceled`. Every undo adds a `check-in.undo` row to the audit log.
   */
  @Delete('check-in/:ticketId')
  @NoBody()
  @Roles(Role.Staff, Role.Admin)
  // A door person whose staff role was revoked undoes nothing more, whatever their token says.
  @RequiresCurrentRole()
  @ApiParam({ name: 'ticketId', schema: { type: 'string', pattern: '^[1-9][0-9]{0,18}$' } })
  @ApiResponse({
    status: 200,
    type: CheckInUndoResponseDto,
    description: 'the check-in undone; the ticket admits again, once',
  })
  @ApiResponse({ status: 400, type: ErrorBodyDto, description: 'not a ticket id (canonical decimal digits)' })
  @ApiResponse({
    status: 403,
    type: ErrorBodyDto,
    description:
      'the caller is neither staff nor admin; or CheckInUndoForbidden: a staff account and a check-in another account made (`details.reason` NOT_YOUR_CHECK_IN) or its own older than CHECK_IN_UNDO_MINUTES (UNDO_WINDOW_PASSED); nothing changed, an admin may undo it',
  })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such ticket' })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description:
      'TicketNotCheckedIn (no check-in to undo, or undone meanwhile), TicketCanceled (its purchase canceled or refunded, also while only in Redis), PerformanceCanceled; nothing changed',
  })
  async undoCheckIn(
    @CurrentUser() user: AuthenticatedUser,
    @Param('ticketId', new ParseTicketIdPipe()) ticketId: string,
  ): Promise<CheckInUndoResponseDto> {
    const actor = { id: user.id, email: user.email, admin: user.role === Role.Admin };
    return mapCheckInUndo(await this.undo.undo(actor, ticketId));
  }
}
