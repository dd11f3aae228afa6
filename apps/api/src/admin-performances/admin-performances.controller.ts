import { applyDecorators, Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthenticatedUser, CurrentUser, Role, Roles } from '@app/auth';
import {
  BookingDescriber,
  CompService,
  MAX_SEATS_PER_COMP,
  PerformanceCancellations,
  SeatBlocks,
} from '@app/ticketing';
import { AdminPurchaseResponseDto, mapAdminPurchase } from '../admin-purchases/admin-purchase.dto';
import { ErrorBodyDto } from '../common/error-body.dto';
import { PageQueryDto } from '../common/page-query.dto';
import { IdParam } from '../common/parse-id.pipe';
import { ApiCreatedAt, resourcePath } from '../common/location';
import { CompCreateDto, compRequest } from './comp.dto';
import {
  mapCancellation,
  PerformanceCancellationResponseDto,
  PerformanceCancelDto,
} from './performance-cancellation.dto';
import {
  mapBlockResult,
  mapReleaseResult,
  mapSeatBlock,
  SeatBlockDto,
  SeatBlockPageDto,
  SeatBlockResultDto,
  SeatReleaseDto,
  SeatReleaseResultDto,
  toBlockTarget,
} from './seat-block.dto';

/** A comp's `Location`, before its id: `GET /admin/purchases/:id`, where operators read any purchase. */
const COMP_PATH = resourcePath('admin/purchases');

/** The 404 and 503 answers of blocking and releasing seats, which name seats and commit alike. */
function ApiSeatBlockErrors(): MethodDecorator {
  return applyDecorators(
    ApiResponse({
      status: 404,
      type: ErrorBodyDto,
      description:
        'no such performance, seats not of it (`details.seatIds`), or a section or rows not of it (named in the message, `details.section`, `details.rows`)',
    }),
    ApiResponse({
      status: 503,
      type: ErrorBodyDto,
      description:
        'the change could not be confirmed on REDIS_WAIT_REPLICAS replicas, or Redis is unavailable; nothing committed, retry',
    }),
  );
}

@ApiTags('admin')
@ApiBearerAuth()
@Roles(Role.Admin)
@Controller('admin/performances')
export class AdminPerformancesController {
  constructor(
    private readonly cancellations: PerformanceCancellations,
    private readonly seatBlocks: SeatBlocks,
    private readonly comps: CompService,
    private readonly describer: BookingDescriber,
  ) {}

  /**
   * Issues comps (complimentary tickets: press, artists' guests, sponsors): the named seats become
   * a purchase of the recipient (the account whose **confirmed** address is `email`, as for a
   * ticket transfer), amount 0 whatever the seats cost, never charged, all seats or none. The
   * recipient gets the usual confirmation e-mail with the tickets and sees it in `GET /purchases`
   * (`comp: true`); only an operator takes it back (a refund, which refunds nothing). With `guest`
   * `{email, name}` instead of `email` (someone without an account), it is a guest comp: stored
   * under the operator's account as a walk-up's box office sale is (`saleChannel: "BOX_OFFICE"`,
   * `paymentMethod: null`, in none of that account's buyer views), its tickets e-mailed to the
   * guest, who is the holder at the door and on the door list. `note` (who and why) is for operators: kept with the purchase (`compNote`), in the
   * audit log (`comp.issue`) and the sales report counts comps apart (`comps`, no revenue).
   * Allowed before the on-sale, while sales are paused or closed, after they ended; not for a
   * canceled performance or one that has started. No per-buyer limit applies (1 to
   * ${MAX_SEATS_PER_COMP} seats a comp). A retry finds the seats sold (409): never issued twice.
   * `includeBlocked: true` lets the seats be blocked (house) seats too, taken out of their block
   * into the comp in one atomic step. Admin only. The 201 answer's `Location` is
   * `/api/v1/admin/purchases/<id>` (the recipient reads it at `GET /purchases/:id`).
   */
  @Post(':id/comps')
  @ApiCreatedAt({
    type: AdminPurchaseResponseDto,
    readBy: '/admin/purchases/{id}',
    description:
      "the comp: the recipient's purchase, `amount` 0, `comp: true`, `compNote`; a guest comp: the operator's account's (`userId`, `soldBy`), `saleChannel: \"BOX_OFFICE\"`, `paymentMethod: null`, `deliveryEmail` and `deliveryName` the guest's",
  })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description: `both or neither of \`email\` and \`guest\`; not an e-mail address (\`email\`, \`guest.email\`); \`guest\` not an object, or its \`name\` missing, empty, over 200 characters or with control or invisible characters; seatIds empty, over ${MAX_SEATS_PER_COMP}, repeated or not ids; a note empty, over 200 characters or with control or invisible characters; an unknown field`,
  })
  @ApiResponse({
    status: 404,
    type: ErrorBodyDto,
    description:
      'no such performance; seats not of it (`details.seatIds`); `RecipientNotFound` (`details.code`, with `email` only): no account has the address, or it has not confirmed it (`details.reason` `NO_ACCOUNT` or `NOT_CONFIRMED`; issue a guest comp instead); nothing held',
  })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description:
      'a seat is held, sold, or blocked without `includeBlocked` (`details.seatIds` names them; nothing held, no block changed); `PerformanceCanceled`; `PerformanceStarted`; `SalesClosed` while the performance is being deleted',
  })
  @ApiResponse({
    status: 503,
    type: ErrorBodyDto,
    description:
      'Redis unavailable or the sale not replicated in time (with `includeBlocked`, also PostgreSQL: no block changed)',
  })
  async issueComp(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Body() body: CompCreateDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AdminPurchaseResponseDto> {
    const comp = this.comps.issue({ id: operator.id, email: operator.email }, compRequest(id, body));
    const answer = mapAdminPurchase(await this.describer.describe(comp));
    reply.header('location', COMP_PATH + answer.id);
    return answer;
  }

  /**
   * Cancels a performance (the show is called off) and starts refunding every paid purchase of it.
   * Once this answers, the performance is `CANCELED` for good: no hold, purchase (also of a hold
   * made before) or check-in of it goes through, and a PATCH of it answers 409. `batch` then
   * cancels each paid purchase as an operator's refund does (checked-in tickets included): the
   * charge refunded once (a free purchase, amount 0, has none to refund), the buyer e-mailed one
   * cancellation notice; follow it with `GET
   * /admin/performances/:id/cancellation`. Answers 202 with the progress; canceling again answers
   * 200 with the first cancellation's progress (its reason kept). The audit log records who
   * canceled (`performance.cancel`). Admin only.
   */
  @Post(':id/cancel')
  @HttpCode(202)
  @ApiBody({ type: PerformanceCancelDto, required: false })
  @ApiResponse({
    status: 202,
    type: PerformanceCancellationResponseDto,
    description: 'canceled now; refunds under way',
  })
  @ApiResponse({ status: 200, type: PerformanceCancellationResponseDto, description: 'canceled before: its progress' })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description: 'a reason over 500 characters or not text, an unknown field',
  })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance' })
  async cancel(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Body() body: PerformanceCancelDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PerformanceCancellationResponseDto> {
    // A reason of white space alone (trimmed to nothing) is none.
    const { created, progress } = await this.cancellations.cancel(id, body?.reason || null, {
      id: operator.id,
      email: operator.email,
    });
    if (!created) reply.status(200);
    return mapCancellation(progress);
  }

  /** How far the refunds of a canceled performance have come. Admin only. */
  @Get(':id/cancellation')
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance, or it was never canceled' })
  async cancellation(@IdParam() id: number): Promise<PerformanceCancellationResponseDto> {
    return mapCancellation(await this.cancellations.progress(id));
  }

  /**
   * Takes seats off sale (blocked: sound desk, camera positions, house seats, broken views): all
   * the named seats or none. Name them by id (`seatIds`, 1–500) or by place: `section` (its name
   * in any casing), optionally `rows` (labels) and `numbers` `{from, to}` (seat numbers in each
   * row), matching 1–2,000 seats whose rows hold at most 20,000 seats plus 30 a row (the Lua
   * scripts' work: each touched row is refreshed whole); exactly one of the two forms. Blocked seats read `BLOCKED`
   * everywhere, are never held, sold or offered by best-available, and stay blocked when Redis
   * loses the performance (kept in PostgreSQL) until released. A seat blocked already stays so,
   * with its first reason (`alreadyBlocked`). A seat in a buyer's live hold or sold refuses the
   * whole request (409 `SeatsNotBlockable`, details `{seatIds, held, sold, truncated, heldCount,
   * soldCount}`: at most the lowest 100 of them; nothing blocked), unless `onlyFree` is true: then the free seats are blocked and the
   * others answered in `skipped`. Audit log: `seat.block` (with the selection as asked). Admin only.
   */
  @Post(':id/seat-blocks')
  @HttpCode(200)
  @ApiResponse({ status: 200, type: SeatBlockResultDto, description: 'blocked (or blocked already)' })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description:
      'neither or both of seatIds and a selection by place; seatIds empty, over 500, repeated or not ids; rows or numbers without section, a bad row label or number range; a section or row name matching several only by casing, none exactly (named); two labels naming one row twice (`details.section`, `row`, `rows`); a selection matching no seat or more than 2,000, or whose touched rows hold more than 20,000 seats plus 30 a row (`details.matched`, `rows`, `rowSeats`, `work`, `maxWork`; split it); seat ids over the same work bound, plus the row slots read to refresh their sections (`details.seats`, `rows`, `rowSeats`, `sectionSlots`, `work`, `maxWork`; split them by rows or sections); a reason over 200 characters or not text; onlyFree not a boolean; an unknown field',
  })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description:
      "SeatsNotBlockable: seats in a buyer's live hold or sold; nothing blocked. `details` always `{seatIds, held, sold, truncated, heldCount, soldCount}`: `seatIds` the lowest 100 of those seats at most (ascending), `held` and `sold` those listed by state, `truncated` (boolean) whether more were left out, `heldCount` and `soldCount` how many are held and sold in all. PerformanceCanceled: the performance was canceled, its seats are no longer for sale; nothing blocked, no audit row",
  })
  @ApiSeatBlockErrors()
  async block(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Body() body: SeatBlockDto,
  ): Promise<SeatBlockResultDto> {
    // A reason of white space alone (trimmed to nothing) is none.
    const result = await this.seatBlocks.block(
      id,
      toBlockTarget(body),
      body.reason || null,
      { id: operator.id, email: operator.email },
      { onlyFree: body.onlyFree ?? false },
    );
    return mapBlockResult(result);
  }

  /**
   * Puts blocked seats back on sale: holdable and offered by best-available again at once. The
   * seats by id or by place, as a block names them; by place, the selection means its blocked seats
   * (the bounds count those only, so a large section with a few blocked seats is one request). A
   * named seat that is not blocked is no change and no error (`notBlocked`), so a retry is safe. Audit log: `seat.release`. Admin only.
   * A canceled performance's seats are neither blocked nor released (409 PerformanceCanceled).
   */
  @Post(':id/seat-blocks/release')
  @HttpCode(200)
  @ApiResponse({ status: 200, type: SeatReleaseResultDto, description: 'released (or not blocked)' })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description:
      'neither or both of seatIds and a selection by place; seatIds empty, over 500, repeated or not ids; rows or numbers without section, a bad row label or number range; a section or row name matching several only by casing, none exactly (named); two labels naming one row twice (`details.section`, `row`, `rows`); a selection matching no seat, or more than 2,000 blocked seats, or blocked seats whose rows hold more than 20,000 seats plus 30 a row (split it); seat ids whose blocked seats are over the same work bound, plus the row slots read to refresh their sections (`details.sectionSlots`; split them); an unknown field',
  })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description:
      'PerformanceCanceled: the performance was canceled, its seats are no longer for sale; nothing released, no audit row',
  })
  @ApiSeatBlockErrors()
  async release(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Body() body: SeatReleaseDto,
  ): Promise<SeatReleaseResultDto> {
    const result = await this.seatBlocks.release(id, toBlockTarget(body), { id: operator.id, email: operator.email });
    return mapReleaseResult(result);
  }

  /** The performance's blocked seats in layout order, with reason, who and when; keyset pages. Admin only. */
  @Get(':id/seat-blocks')
  @ApiResponse({ status: 400, type: ErrorBodyDto, description: 'a bad limit or cursor' })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance' })
  async listBlocks(@IdParam() id: number, @Query() query: PageQueryDto): Promise<SeatBlockPageDto> {
    const page = await this.seatBlocks.list(id, query.cursor, query.limit);
    return { items: page.items.map(mapSeatBlock), nextCursor: page.nextCursor };
  }
}
