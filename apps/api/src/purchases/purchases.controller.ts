import { Controller, Get, Headers, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthenticatedUser, CallerRequest, CurrentUser, RequiresBuyerAccount } from '@app/auth';
import { BookingDescriber, PurchaseCancellation, PurchaseReader, PurchaseService } from '@app/ticketing';
import { UuidParam } from '../common/parse-id.pipe';
import { ErrorBodyDto } from '../common/error-body.dto';
import { PageQueryDto } from '../common/page-query.dto';
import { AdmissionEnd, AdmissionRequest, RequiresAdmission } from '../waiting-room/admission';
import { mapPurchase, PurchaseCreateDto, PurchasePageDto, PurchaseResponseDto } from './purchase.dto';
import { NoBody } from '../common/no-body';
import { acceptedBody, checkedBody } from '../common/compiled-validation';
import { ApiCreatedAt, resourcePath } from '../common/location';

/** A purchase's `Location`, before its id. */
const PURCHASE_PATH = resourcePath('purchases');

@ApiTags('purchases')
@ApiBearerAuth()
@Controller('purchases')
export class PurchasesController {
  constructor(
    private readonly purchases: PurchaseService,
    private readonly reader: PurchaseReader,
    private readonly cancellation: PurchaseCancellation,
    private readonly describer: BookingDescriber,
    private readonly admission: AdmissionEnd,
  ) {}

  /**
   * Buys the caller's live hold. 402 when the payment is declined (the hold stays), 409 when
   * the hold has expired or was bought already. While its performance does not sell (paused,
   * closed, ended: 409 SalesClosed; salesOpenAt moved past now: 403 SalesNotOpen) the purchase is
   * refused and the hold stays: before anything is recorded or charged, or, when sales stopped
   * during the charge, with the charge refunded. Only one purchase attempt of a hold is at the
   * payment gateway at a time: another (a double click, without a key or with another key) answers
   * 409 "a purchase of this reservation is in progress" at once with `Retry-After: 1`, charging
   * nothing. The same `Idempotency-Key` returns the first answer for 24 h;
   * while a request with that key is still working, another answers 409 at once with `Retry-After` (seconds).
   * 503 with `Retry-After` when `REDIS_WAIT_REPLICAS` replicas did not confirm the sale in time: it
   * may stand; retry with the same key to get it (README, Redis Cluster). 503 too when the gateway
   * failed to answer the charge (ChargeOutcomeUnknownError): retried with the same key, the charge
   * is asked again under its key. A purchase that used
   * a waiting-room admission ends its session before the answer. 403 EmailNotVerified for a buyer
   * whose e-mail is not confirmed while EMAIL_VERIFICATION_REQUIRED (checked before anything else).
   * A free hold (amount 0: every seat priced 0) is bought without any payment step: the payment
   * gateway is not asked (no charge, no 402), and the purchase is PAID at once. `paymentToken` (what
   * the processor's client SDK returned) goes to the gateway with the charge, never into an answer or
   * a log; a retry with the same Idempotency-Key and another token answers 409, charging nothing.
   * The 201 answer (a replay's too) carries `Location: /api/v1/purchases/<id>`.
   */
  @Post()
  @ApiBody({ type: PurchaseCreateDto })
  @ApiCreatedAt({ type: PurchaseResponseDto, description: 'the purchase, PAID', readBy: '/purchases/{id}' })
  @RequiresAdmission('purchase')
  @ApiServiceUnavailableResponse({
    type: ErrorBodyDto,
    description:
      'Not confirmed by enough Redis replicas in time, Redis or PostgreSQL unavailable, or the payment gateway failed to answer the charge ("the payment\'s outcome is not known yet": the attempt is settled once, by a retry or by the reconciler); retry with the same Idempotency-Key (Retry-After)',
  })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'the hold expired, was released or bought already; sales are paused, closed or ended (SalesClosed; a charge already made is refunded); "a purchase of this reservation is in progress" (another attempt of the hold is at the payment gateway: nothing charged, `Retry-After: 1`); a request with the same Idempotency-Key still working (`Retry-After`); its payment was refunded (retry with a new key); or the same Idempotency-Key was used with another `paymentToken` (or none: nothing charged, retry with a new key)',
  })
  @ApiNotFoundResponse({
    type: ErrorBodyDto,
    description:
      "no such reservation of the caller's; a comp's hold (an operator's comp, sold only on the comp's own path) is none, also to its recipient",
  })
  @ApiResponse({
    status: 402,
    type: ErrorBodyDto,
    description:
      'the payment gateway declined the charge: nothing charged, the hold kept (never for a free hold, amount 0: nothing is charged)',
  })
  @ApiForbiddenResponse({
    type: ErrorBodyDto,
    description:
      'sales have not opened yet (SalesNotOpen, `details.salesOpenAt`), the performance has a waiting room and the request carries no valid `Admission-Token` for this buyer (`details.code`: `AdmissionRequired`), or EMAIL_VERIFICATION_REQUIRED and the buyer has not confirmed their e-mail address (`details.code`: `EmailNotVerified`)',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: '1–200 printable ASCII characters',
    schema: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$' },
  })
  // Closest to the method: checked before the admission guard.
  @RequiresBuyerAccount()
  create(
    // The caller and the body from the request, not `@CurrentUser()` and `@Body()`: Nest runs the
    // global validation pipe's `async` chain on those (~12 promises each a request,
    // docs/performance.md); the body is checked here as that pipe would, same 400s.
    @Req() request: AdmissionRequest & CallerRequest & { body: unknown },
    @Headers('Idempotency-Key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PurchaseResponseDto> {
    // Not `async` (as the hold route): Nest awaits what the handler returns.
    const body = acceptedBody(PurchaseCreateDto, request.body);
    if (body === undefined) {
      return checkedBody(PurchaseCreateDto, request.body).then((checked) =>
        this.bought(request, checked, idempotencyKey, reply),
      );
    }
    return this.bought(request, body, idempotencyKey, reply);
  }

  /**
   * The purchase of the hold `body` names, as the answer says it, once its queue session (if any)
   * ended; `reply` gets its `Location` then (a refusal throws, so only a 201 carries one).
   */
  private bought(
    request: AdmissionRequest & CallerRequest,
    body: PurchaseCreateDto,
    idempotencyKey: string | undefined,
    reply: FastifyReply,
  ): Promise<PurchaseResponseDto> {
    // UUIDs are case-insensitive (RFC 4122); holds are stored under the lower-case spelling.
    const holdId = body.reservationId.toLowerCase();
    const bought = this.purchases.purchase(request.user.id, holdId, idempotencyKey, body.paymentToken ?? null);
    return this.describer.describe(bought).then((bought) => {
      const answer = mapPurchase(bought);
      const ended = this.admission.afterPurchase(request);
      if (ended === null) {
        reply.header('location', PURCHASE_PATH + answer.id);
        return answer;
      }
      // Named only once the answer is sure to be the 201 (the session's end may still fail).
      return ended.then(() => {
        reply.header('location', PURCHASE_PATH + answer.id);
        return answer;
      });
    });
  }

  /** The caller's purchases, newest first, including those not yet written to PostgreSQL. */
  @Get()
  async list(@CurrentUser() user: AuthenticatedUser, @Query() query: PageQueryDto): Promise<PurchasePageDto> {
    const page = await this.reader.list(user.id, query.cursor, query.limit);
    const items = await this.describer.describeAll(Promise.resolve(page.items));
    return { items: items.map(mapPurchase), nextCursor: page.nextCursor };
  }

  /** The caller's own purchase; anyone else's is a 404. */
  @Get(':id')
  async get(@CurrentUser() user: AuthenticatedUser, @UuidParam() id: string): Promise<PurchaseResponseDto> {
    return mapPurchase(await this.describer.describe(this.reader.get(user.id, id)));
  }

  /**
   * Refunds the purchase and frees its seats for sale again; a free purchase (amount 0) was never
   * charged, so nothing is refunded (the payment gateway is not asked). Always the whole purchase:
   * every seat it still holds, and what is left of its charge (only the box office refunds some
   * seats: `POST /admin/purchases/:id/refund` with `seatIds`). Safe to retry: a purchase its buyer
   * canceled already answers 200 as the first cancel did, nothing refunded twice (docs/guide/buying.md,
   * "A cancel is safe to retry"); 409 when canceled otherwise (an operator's refund, its performance's
   * cancellation).
   */
  @Post(':id/cancel')
  @NoBody()
  @HttpCode(200)
  @ApiResponse({
    status: 200,
    type: PurchaseResponseDto,
    description:
      "the purchase CANCELED (`canceledAt`); also to a repeat of the buyer's own cancel (a retry after a lost answer or a 503, concurrent cancels): the same answer, with the first cancel's `canceledAt`, nothing refunded or mailed twice",
  })
  @ApiServiceUnavailableResponse({
    type: ErrorBodyDto,
    description:
      'Redis unavailable or timed out, or the cancel not confirmed by REDIS_WAIT_REPLICAS replicas in time (CancellationNotReplicated); the cancel may have happened: retry (`Retry-After`), a retry answers 200 when it had',
  })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      "already canceled otherwise than by its buyer (an operator's refund, whole or of its last seats, or its performance's cancellation; a repeat past the Redis record's retention, 24 h after the flush); past the performance's `cancelUntil`, or the performance allows no self-service cancel (CancellationClosed, `details.cancelUntil` on the venue's clock, `details.timeZone`); or a ticket of it was checked in (PurchaseCheckedIn); or a comp, taken back only by an operator's refund (`details.code` CompNotCancelable)",
  })
  async cancel(@CurrentUser() user: AuthenticatedUser, @UuidParam() id: string): Promise<PurchaseResponseDto> {
    return mapPurchase(await this.describer.describe(this.cancellation.cancel(user.id, id)));
  }
}
