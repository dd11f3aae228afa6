import type { IncomingHttpHeaders } from 'node:http';
import { Controller, Delete, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthenticatedUser, CallerRequest, CurrentUser, RequiresBuyerAccount } from '@app/auth';
import { BookingDescriber, HoldDesk } from '@app/ticketing';
import { UuidParam } from '../common/parse-id.pipe';
import { RequiresAdmission } from '../waiting-room/admission';
import {
  mapReservation,
  ReservationCreateDto,
  ReservationListResponseDto,
  ReservationResponseDto,
  reservationRequest,
} from './reservation.dto';
import { NoBody } from '../common/no-body';
import { ErrorBodyDto } from '../common/error-body.dto';
import { acceptedBody, checkedBody } from '../common/compiled-validation';
import { ApiCreatedAt, resourcePath } from '../common/location';

/** A hold's `Location`, before its id. */
const RESERVATION_PATH = resourcePath('reservations');

@ApiTags('reservations')
@ApiBearerAuth()
@Controller('reservations')
export class ReservationsController {
  constructor(
    private readonly holds: HoldDesk,
    private readonly describer: BookingDescriber,
  ) {}

  /**
   * Holds seats in one of two forms. Chosen `seatIds`: all of them or none; 409 names the seats
   * that are not available, and those in the caller's own live hold as such (or, on a performance with `noOrphanSeats`, a selection leaving a
   * single empty seat: `SingleSeatLeft`). Best available (`quantity`, optional `grade` or
   * `section`, `together`, `accessible`): the best seats are picked and held in one atomic step,
   * following the ladder TOGETHER → TOGETHER_WITH_GAP → ADJACENT_ROWS → (with `together: false`)
   * SPLIT; the answer's `arrangement` names the rung; 409 `NoSeatsFit` when nothing fits (nothing
   * held). Both: 403 before sales open, and (EmailNotVerified) for a buyer whose e-mail is not
   * confirmed while EMAIL_VERIFICATION_REQUIRED; 409 when the caller would hold more than the per-user
   * limit of the performance; 400 for a body mixing the forms or giving grade and section.
   * An optional `Idempotency-Key` (per user and performance): a retry of the same request answers
   * the hold the first one made (same id, seats, expiresAt), holding nothing, as long as that hold
   * is readable (24 h past its expiry), even once it was released, expired or bought; the key with
   * another request is a 409; concurrent requests with one key make one hold. A refused request
   * records nothing. The 201 answer (a replay's too) carries `Location: /api/v1/reservations/<id>`.
   */
  @Post()
  @ApiBody({ type: ReservationCreateDto })
  @ApiCreatedAt({ type: ReservationResponseDto, description: 'the hold, HELD', readBy: '/reservations/{id}' })
  @ApiResponse({
    status: 403,
    type: ErrorBodyDto,
    description:
      'sales not open yet (SalesNotOpen; while a presale is open and no `accessCode` was sent, the message says so and `details.presales` names the open presales: [{id, name}]), `AccessCodeInvalid` (a presale is open and `accessCode` is none of its; nothing held), `PresaleNotOpen` (a presale is open and `accessCode` is that of another presale of the performance, not open now: `details.presale` `{id, name, opensAt, closesAt}`; nothing held, not counted as a wrong code), no valid admission while the performance has a waiting room (`details.code`: `AdmissionRequired`: send the buyer to the queue), or EMAIL_VERIFICATION_REQUIRED and the buyer has not confirmed their e-mail address (`details.code`: `EmailNotVerified`)',
  })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'unknown performance, seat, section or grade' })
  @ApiResponse({
    status: 429,
    type: ErrorBodyDto,
    description:
      '`TooManyAccessCodeAttempts` (`details.code`): 10 wrong `accessCode`s for this performance within 15 minutes; every hold of the caller with an `accessCode` for it is refused, the code not checked, until the window (from the first miss) ends: `Retry-After` gives the seconds left; nothing held. A hold without `accessCode` is not concerned.',
    headers: { 'Retry-After': { description: 'seconds until a code is checked again', schema: { type: 'integer' } } },
  })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description:
      "the Idempotency-Key already used for another request (other seats, or another best-available request: \"Idempotency-Key was already used for another reservation request…\"; nothing held, no Retry-After); a seat is not available (details.seatIds; nothing held; seats in the caller's own live hold named in the message, `already in your hold <id>`, and in details.heldByYou: [{reservationId, seatIds}]); SingleSeatLeft (noOrphanSeats; details.singleSeatId: the seat that would be left empty on its own, details.besideSeatId: the selected seat beside it); NoSeatsFit (best available: nothing fits, details.singleLeft when the rule refused it, details.soldOut when no seat of the scope is free, details.noAccessibleSeats when the scope of an accessible request has no wheelchair space at all, as against spaces all taken, which has no such field); SalesClosed (paused, closed or ended); the per-user limit (MAX_SEATS_PER_RESERVATION held at once); TicketLimitExceeded (maxTicketsPerBuyer of the performance, bought and held together; details.limit, bought, held, requested); or PresaleAllocationExhausted (a hold with a presale's `accessCode` asks for more seats than are left of the presale's `maxSeats`, held and sold together; details.code, details.presale {id, name}, maxSeats, seatsTaken, seatsLeft, requested; nothing held, a best-available hold never made smaller)",
  })
  @ApiResponse({
    status: 503,
    type: ErrorBodyDto,
    description:
      'Redis or PostgreSQL unavailable, or the seat data being rebuilt past the wait (`Retry-After`); also "a newer version is upgrading the seat data; retry shortly": during a rolling deploy that changes the seating data format, a replica of the older version answers a best-available request (and a seat-id hold under noOrphanSeats) so, leaving the data to the newer version; a retry after `Retry-After` reaches a newer replica as they take over. Nothing held.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      '1–200 printable ASCII characters, sent once; per user and performance: a retry of the same request answers the first hold again (24 h past its expiry), another request with the key is a 409',
    schema: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$' },
  })
  @RequiresAdmission('hold')
  // Closest to the method: checked before the admission guard.
  @RequiresBuyerAccount()
  create(
    // The caller, the body and the Idempotency-Key from the request, not `@CurrentUser()`, `@Body()`
    // and `@Headers()`: Nest runs the global validation pipe's `async` chain on those (~12 promises
    // each a request, docs/performance.md); the body is checked here as that pipe would, same 400s.
    @Req() { user, body: raw, headers }: CallerRequest & { body: unknown; headers: IncomingHttpHeaders },
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ReservationResponseDto> {
    // A repeated header is refused before any route (bootstrap's repeatedSingleHeader): a string here.
    const idempotencyKey = headers['idempotency-key'] as string | undefined;
    // Not `async`: Nest awaits what the handler returns (and answers a throw as a rejection), so
    // the accepted body's hold needs no promise of the handler's own.
    const body = acceptedBody(ReservationCreateDto, raw);
    if (body === undefined) {
      return checkedBody(ReservationCreateDto, raw).then((checked) => this.held(user, checked, idempotencyKey, reply));
    }
    return this.held(user, body, idempotencyKey, reply);
  }

  /**
   * The hold `body` asks for (with the request's Idempotency-Key, if any), as the answer says it;
   * `reply` gets its `Location` (a refusal throws, so only a 201 carries one).
   */
  private held(
    user: AuthenticatedUser,
    body: ReservationCreateDto,
    idempotencyKey: string | undefined,
    reply: FastifyReply,
  ): Promise<ReservationResponseDto> {
    const request = reservationRequest(body);
    const held =
      request.form === 'seats'
        ? this.holds.hold(user.id, request.performanceId, request.seatIds, idempotencyKey, request.accessCode)
        : this.holds.holdBestAvailable(user.id, request, idempotencyKey);
    return this.describer.describe(held).then((described) => {
      const answer = mapReservation(described);
      reply.header('location', RESERVATION_PATH + answer.id);
      return answer;
    });
  }

  /**
   * The caller's live holds (status HELD) on every performance, soonest to expire first; all of
   * them in one answer (a user holds few seats), so `nextCursor` is always null. A comp's hold
   * (the operator's comp path's, waiting for its purchase) is not listed to its recipient.
   */
  @Get()
  async listMine(@CurrentUser() user: AuthenticatedUser): Promise<ReservationListResponseDto> {
    const holds = await this.describer.describeAll(this.holds.listLive(user.id));
    return { items: holds.map(mapReservation), nextCursor: null };
  }

  /** The caller's own reservation; anyone else's is a 404, and so is a comp's hold (the operator's comp path's). */
  @Get(':id')
  @ApiResponse({
    status: 404,
    type: ErrorBodyDto,
    description: "no such reservation of the caller's; a comp's hold is none, also to its recipient",
  })
  async get(@CurrentUser() user: AuthenticatedUser, @UuidParam() id: string): Promise<ReservationResponseDto> {
    return mapReservation(await this.describer.describe(this.holds.get(user.id, id)));
  }

  /** Releases the seats now. 409 when the hold has already ended (released, expired or bought). */
  @Delete(':id')
  @NoBody()
  @HttpCode(204)
  @ApiResponse({
    status: 404,
    type: ErrorBodyDto,
    description: "no such reservation of the caller's; a comp's hold is none, also to its recipient",
  })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description: 'the hold has already ended: released, expired or bought',
  })
  release(@CurrentUser() user: AuthenticatedUser, @UuidParam() id: string): Promise<void> {
    return this.holds.release(user.id, id);
  }
}
