import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser, CurrentUser, Role, Roles } from '@app/auth';
import { AdminPurchases, BookingDescriber, TicketResend } from '@app/ticketing';
import { UuidParam } from '../common/parse-id.pipe';
import { ErrorBodyDto } from '../common/error-body.dto';
import { NoBody } from '../common/no-body';
import {
  AdminPurchasePageDto,
  AdminPurchaseQueryDto,
  AdminPurchaseResponseDto,
  AdminRefundDto,
  AdminRefundResponseDto,
  mapAdminPurchase,
  mapAdminRefund,
} from './admin-purchase.dto';
import { mapTicketResend, TicketResendResponseDto } from '../tickets/ticket.dto';

@ApiTags('admin')
@ApiBearerAuth()
@Roles(Role.Admin)
@Controller('admin/purchases')
export class AdminPurchasesController {
  constructor(
    private readonly purchases: AdminPurchases,
    private readonly describer: BookingDescriber,
    private readonly resend: TicketResend,
  ) {}

  /**
   * Anyone's purchases, newest first, by performance, buyer e-mail and/or presale (`presaleId`:
   * those made in it, each naming it in `presale`). Lists purchases written to PostgreSQL (within
   * PURCHASE_FLUSH_AGE_SECONDS of the sale), each in its newest state. Admin only.
   */
  @Get()
  async list(@Query() query: AdminPurchaseQueryDto): Promise<AdminPurchasePageDto> {
    const page = await this.purchases.list(
      { performanceId: query.performanceId, email: query.email, presaleId: query.presaleId },
      query.cursor,
      query.limit,
    );
    const items = await this.describer.describeAll(Promise.resolve(page.items));
    return { items: items.map(mapAdminPurchase), nextCursor: page.nextCursor };
  }

  /** Anyone's purchase, flushed to PostgreSQL or not. Admin only. */
  @Get(':id')
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such purchase' })
  async get(@UuidParam() id: string): Promise<AdminPurchaseResponseDto> {
    return mapAdminPurchase(await this.describer.describe(this.purchases.get(id)));
  }

  /**
   * Cancels and refunds anyone's purchase, whatever the buyer's cancellation window: the charge is
   * refunded through the payment gateway once (a free purchase, amount 0, was never charged: nothing
   * is refunded, the gateway is not asked), the seats are for sale again, the buyer gets a
   * cancellation notice by e-mail, and the audit log records who did it. With `seatIds`, only those
   * seats (a partial refund): their prices summed are refunded, their tickets void, and the purchase
   * stays PAID with its other seats (naming all it still has is its whole refund). A purchase with a
   * checked-in ticket (among the seats refunded): 409, unless the body says `resellCheckedInSeats: false` (then the
   * checked-in seats stay sold, listed in `keptSeatIds`). Admin only.
   *
   * An optional `Idempotency-Key` (the operator's own; a window clerk's client should always send
   * one): recorded with the refund in the same Redis step, so a retry with the key and the same body
   * answers 200 with the first answer (its seats, amount and `refundMethod`: what the window pays
   * out) for 24 h, also when the api that made the refund died before answering; the key with
   * another body (another purchase, other seats, another `resellCheckedInSeats`) answers 409
   * `IdempotencyKeyInUse`, refunding nothing. Without a key, a retry of a refund that happened
   * answers 409 (already refunded).
   */
  @Post(':id/refund')
  @HttpCode(200)
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such purchase' })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description:
      'already refunded or canceled; `IdempotencyKeyInUse` (the `Idempotency-Key` was used for another refund request); `SeatAlreadyRefunded` (a seat named was refunded before); a ticket was checked in (without `resellCheckedInSeats: false`); `PurchaseNotWrittenYet` (some seats of a purchase written behind within seconds: retry after `Retry-After`); `SeatPricesUnknown` (sold before seat prices were kept: refund it whole)',
  })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description:
      'bad body: `seatIds` empty, repeated or not integers; or a seat not of this purchase; an `Idempotency-Key` not 1–200 printable ASCII characters, or sent twice',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      "1–200 printable ASCII characters, the operator's own, per performance; a window clerk's client should always send one: a retry with the key and the same body answers the first refund again (200, its seats, amount and refundMethod) for 24 h, even when the first answer was lost; the key with another body is a 409 IdempotencyKeyInUse",
    schema: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$' },
  })
  async refund(
    @CurrentUser() operator: AuthenticatedUser,
    @UuidParam() id: string,
    @Body() body: AdminRefundDto,
    @Headers('Idempotency-Key') idempotencyKey: string | undefined,
  ): Promise<AdminRefundResponseDto> {
    return mapAdminRefund(
      await this.describer.describe(
        this.purchases.refund({ id: operator.id, email: operator.email }, id, {
          resellCheckedInSeats: body?.resellCheckedInSeats ?? true,
          ...(body?.seatIds ? { seatIds: body.seatIds } : {}),
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        }),
      ),
    );
  }

  /**
   * E-mails a buyer's tickets to the buyer again (a lost confirmation), for any purchase: queued
   * through the outbox, RabbitMQ and the mailer, with the tickets as they are when it is sent. Not
   * limited; the audit log records who did it (`purchase.resend-tickets`). Admin only.
   */
  @Post(':id/resend-tickets')
  @NoBody()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiResponse({ status: 202, type: TicketResendResponseDto, description: 'the e-mail is queued' })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such purchase' })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description:
      'PurchaseCanceled (canceled or refunded), NoTicketsToSend (every ticket transferred away), TicketsNotIssued (not written yet: retry after `Retry-After` seconds)',
  })
  async resendTickets(
    @CurrentUser() operator: AuthenticatedUser,
    @UuidParam() id: string,
  ): Promise<TicketResendResponseDto> {
    return mapTicketResend(await this.resend.resendForOperator({ id: operator.id, email: operator.email }, id));
  }
}
