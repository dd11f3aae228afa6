import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiParam,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AuthenticatedUser, CurrentUser } from '@app/auth';
import { TicketTransferService } from '@app/ticketing';
import { ErrorBodyDto } from '../common/error-body.dto';
import { NoBody } from '../common/no-body';
import { PageQueryDto } from '../common/page-query.dto';
import { ParseTicketIdPipe, UuidParam } from '../common/parse-id.pipe';
import {
  mapTransfer,
  TicketTransferCreateDto,
  TicketTransferPageDto,
  TicketTransferResponseDto,
} from './ticket-transfer.dto';

/** Ticket transfer: a holder passes a ticket to someone else's e-mail address (docs/guide/tickets.md, "Ticket transfer"). */
@ApiTags('ticket transfers')
@ApiBearerAuth()
@Controller()
export class TicketTransfersController {
  constructor(private readonly transfers: TicketTransferService) {}

  /**
   * Offers a ticket the caller holds (of its own purchase, or received) to an e-mail address: a
   * PENDING transfer, and an e-mail to the address with how to accept it. The answer is the same
   * whether or not the address has an account. One pending transfer per ticket. The offer expires
   * after TICKET_TRANSFER_OFFER_HOURS (72) or at the performance's start, whichever is sooner.
   */
  @Post('tickets/:ticketId/transfers')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiParam({ name: 'ticketId', schema: { type: 'string', pattern: '^[1-9][0-9]{0,18}$' } })
  @ApiResponse({ status: 202, type: TicketTransferResponseDto, description: 'the pending transfer' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'no such ticket held by the caller' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      "TransferPending (another offer of the ticket waits), TicketCanceled, TicketCheckedIn, PerformanceCanceled, PerformanceStarted, TransferToSelf (the caller's own address), TransferLimitReached (the ticket's code version is used up)",
  })
  @ApiResponse({
    status: 429,
    type: ErrorBodyDto,
    description:
      'TooManyTransferOffers: the caller made TICKET_TRANSFER_OFFERS_PER_HOUR offers in the last hour, or the address was sent offers by that many other senders in it, or three times that many offers in all (each offer mails the address); `Retry-After`',
  })
  async offer(
    @CurrentUser() user: AuthenticatedUser,
    @Param('ticketId', new ParseTicketIdPipe()) ticketId: string,
    @Body() body: TicketTransferCreateDto,
  ): Promise<TicketTransferResponseDto> {
    return mapTransfer(await this.transfers.offer(user.id, ticketId, body.email), user.id);
  }

  /** The transfers the caller sent, and those sent to its confirmed address, newest first. */
  @Get('ticket-transfers')
  async list(@CurrentUser() user: AuthenticatedUser, @Query() query: PageQueryDto): Promise<TicketTransferPageDto> {
    const page = await this.transfers.list(user.id, query.cursor, query.limit);
    return { items: page.items.map((transfer) => mapTransfer(transfer, user.id)), nextCursor: page.nextCursor };
  }

  /**
   * Accepts a transfer sent to the caller's confirmed e-mail address: the ticket is the caller's,
   * with a new code (`GET /tickets`); the sender's code of it admits no one from now on, and the
   * sender is mailed. Anyone else (an unconfirmed address included) gets 404.
   */
  @Post('ticket-transfers/:id/accept')
  @NoBody()
  @HttpCode(200)
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: "no such transfer to the caller's confirmed address" })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'TransferAccepted, TransferDeclined, TransferCanceled, TransferExpired (`details.status`); TicketCanceled (its purchase was canceled or refunded), TicketCheckedIn (someone came in on it first), PerformanceCanceled',
  })
  async accept(@CurrentUser() user: AuthenticatedUser, @UuidParam() id: string): Promise<TicketTransferResponseDto> {
    return mapTransfer(await this.transfers.accept(user.id, id), user.id);
  }

  /**
   * Cancels the caller's own pending transfer; the recipient can no longer accept it, and is mailed
   * that the offer is withdrawn (when the offer's e-mail went out).
   */
  @Post('ticket-transfers/:id/cancel')
  @NoBody()
  @HttpCode(200)
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'no such transfer sent by the caller' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'TransferAccepted, TransferDeclined, TransferCanceled, TransferExpired (`details.status`)',
  })
  async cancel(@CurrentUser() user: AuthenticatedUser, @UuidParam() id: string): Promise<TicketTransferResponseDto> {
    return mapTransfer(await this.transfers.cancel(user.id, id), user.id);
  }

  /**
   * Declines a transfer sent to the caller's confirmed e-mail address: it can no longer be
   * accepted, the sender is mailed and may offer the ticket again. Anyone else (the sender, an
   * unconfirmed address included) gets 404.
   */
  @Post('ticket-transfers/:id/decline')
  @NoBody()
  @HttpCode(200)
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: "no such transfer to the caller's confirmed address" })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'TransferAccepted, TransferDeclined, TransferCanceled, TransferExpired (`details.status`)',
  })
  async decline(@CurrentUser() user: AuthenticatedUser, @UuidParam() id: string): Promise<TicketTransferResponseDto> {
    return mapTransfer(await this.transfers.decline(user.id, id), user.id);
  }
}
