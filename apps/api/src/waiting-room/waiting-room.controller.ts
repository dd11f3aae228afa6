import { Body, Controller, Delete, Get, HttpCode, Logger, Post, Put, Req, Res, Sse } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  catchError,
  concatMap,
  filter,
  finalize,
  interval,
  map,
  Observable,
  of,
  startWith,
  takeUntil,
  takeWhile,
} from 'rxjs';
import { DomainError } from '@app/core';
import { RequestContext } from '@app/logging';
import {
  accessTokenOf,
  AuthenticatedUser,
  CurrentUser,
  Public,
  RequiresBuyerAccount,
  Role,
  Roles,
  TokenService,
} from '@app/auth';
import { AdmissionGate, QueueTicket, toScheduleTime, WaitingRoomService } from '@app/ticketing';
import { IdParam, UuidParam } from '../common/parse-id.pipe';
import { ApiCreatedAt, resourcePath } from '../common/location';
import {
  mapQueueTicket,
  mapWaitingRoom,
  QueueTicketResponseDto,
  WaitingRoomResponseDto,
  WaitingRoomSettingsDto,
} from './waiting-room.dto';
import { NoBody } from '../common/no-body';
import { ErrorBodyDto, errorBody } from '../common/error-body.dto';
import { domainStatus } from '../common/all-exceptions.filter';
import { QueueStreams } from './queue-streams';

/**
 * How often (ms) an open event stream checks that its caller's session still holds (the access
 * token not expired, its account's sessions not ended): a password reset ends the stream within
 * about this much after this api hears of it, whatever the poll interval.
 */
export const QUEUE_STREAM_CHECK_MS = 1000;

/** A queue ticket's `Location`, before its id: `GET /queue/:ticketId`. */
const QUEUE_TICKET_PATH = resourcePath('queue');

/** A performance's waiting room: its settings (admin) and joining it (buyer). */
@ApiTags('waiting room')
@Controller('performances/:id/queue')
export class PerformanceQueueController {
  constructor(
    private readonly rooms: WaitingRoomService,
    private readonly gate: AdmissionGate,
  ) {}

  /**
   * Sets or changes the performance's waiting room (admin). From then on, holds and purchases
   * of the performance need an `Admission-Token` (other api processes follow within
   * WAITING_ROOM_CACHE_MS). 404 unknown performance; 409 when `opensAt` changes after the opening,
   * or the performance was canceled (PerformanceCanceled).
   */
  @Put()
  @ApiBearerAuth()
  @Roles(Role.Admin)
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'the queue has opened: `opensAt` can no longer change; or PerformanceCanceled: the performance was canceled, its room no longer changes',
  })
  async configure(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Body() body: WaitingRoomSettingsDto,
  ): Promise<WaitingRoomResponseDto> {
    const view = await this.rooms.configure(
      id,
      {
        opensAt: toScheduleTime(body.opensAt, 'opensAt'),
        admitPerSecond: body.admitPerSecond,
        maxActive: body.maxActive,
        admissionTtlSeconds: body.admissionTtlSeconds,
        sessionTtlSeconds: body.sessionTtlSeconds,
      },
      operator,
    );
    this.gate.forget(id);
    return mapWaitingRoom(view);
  }

  /** The settings with live figures; `seedSha256` always, `seed` once the pre-queue is shuffled. 404 without a queue. */
  @Get()
  @Public()
  async view(@IdParam() id: number): Promise<WaitingRoomResponseDto> {
    return mapWaitingRoom(await this.rooms.view(id));
  }

  /**
   * Turns the queue off (admin): holds and purchases need no token; its tickets end (each reads
   * ENDED, endReason CLOSED, to its owner for a day). 404 without a queue; 409 PerformanceCanceled.
   */
  @Delete()
  @NoBody()
  @HttpCode(204)
  @ApiBearerAuth()
  @Roles(Role.Admin)
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'PerformanceCanceled: the performance was canceled, its room no longer changes',
  })
  async remove(@CurrentUser() operator: AuthenticatedUser, @IdParam() id: number): Promise<void> {
    await this.rooms.remove(id, operator);
    this.gate.forget(id);
  }

  /**
   * Joins the queue; joining again answers the same ticket (one per buyer and performance). A
   * buyer whose ticket has ended joins at the back. 404 when the performance has no queue; 403
   * EmailNotVerified for a buyer whose e-mail is not confirmed while EMAIL_VERIFICATION_REQUIRED;
   * 409 PerformanceCanceled when the performance was canceled. The 201 answer's `Location` is
   * `/api/v1/queue/<ticketId>`, where the ticket is polled.
   */
  @Post()
  @NoBody()
  @ApiBearerAuth()
  @ApiCreatedAt({ type: QueueTicketResponseDto, description: 'the queue ticket', readBy: '/queue/{ticketId}' })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'PerformanceCanceled: the performance was canceled, its waiting room takes no one',
  })
  @ApiForbiddenResponse({
    type: ErrorBodyDto,
    description:
      'EMAIL_VERIFICATION_REQUIRED and the buyer has not confirmed their e-mail address (`details.code`: `EmailNotVerified`)',
  })
  @RequiresBuyerAccount()
  async join(
    @CurrentUser() user: AuthenticatedUser,
    @IdParam() id: number,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<QueueTicketResponseDto> {
    const ticket = mapQueueTicket(await this.rooms.join(user.id, id));
    reply.header('location', QUEUE_TICKET_PATH + ticket.ticketId);
    return ticket;
  }
}

/** A buyer's queue ticket. */
@ApiTags('waiting room')
@ApiBearerAuth()
@Controller('queue')
export class QueueTicketController {
  private readonly logger = new Logger(QueueTicketController.name);

  constructor(
    private readonly rooms: WaitingRoomService,
    private readonly streams: QueueStreams,
    private readonly tokens: TokenService,
  ) {}

  /**
   * Where the ticket stands, and the `admissionToken` once admitted. Poll every
   * `pollAfterSeconds`: a waiting ticket not polled for twice as long drops out. 404 for anyone else's ticket.
   */
  @Get(':ticketId')
  async get(
    @CurrentUser() user: AuthenticatedUser,
    @UuidParam('ticketId') ticketId: string,
  ): Promise<QueueTicketResponseDto> {
    return mapQueueTicket(await this.rooms.get(user.id, ticketId));
  }

  /**
   * Server-Sent Events: the ticket as `GET /queue/:ticketId` answers it, at once and every
   * `pollAfterSeconds` (each event counts as a poll); the stream ends after the first event that
   * is not WAITING (ADMITTED with the token, or ENDED: a queue removed or a performance deleted
   * reads ENDED with endReason CLOSED, a performance canceled ENDED with CANCELED), or when this api process stops (`QueueStreams.ending`: the client opens it again). The first read
   * comes before the stream starts, so anyone else's ticket is a 404, a store that cannot answer a
   * 503, and an account with WAITING_ROOM_STREAMS_PER_USER streams open on this api process a 429
   * (TooManyQueueStreams, Retry-After the poll interval), each with the uniform body, never an
   * error event inside a 200 stream. Every QUEUE_STREAM_CHECK_MS, and around every poll, the
   * stream checks that the caller's session still holds, as a new request's token is checked (the
   * access token not expired; the account's sessions not ended by a password reset or a role
   * change, SessionRevocations): when not, it ends with one `event: error` of the 401 body
   * ("this session has ended …" or the expired token's), and nothing read after the end is sent
   * (no admission token reaches an ended session). A domain error met by a later poll (a store
   * that stops answering: 503) ends the stream with one `event: error` whose data is the uniform
   * error body the HTTP route would answer (status, message, details), never "Internal server error".
   */
  @Sse(':ticketId/events')
  @ApiOkResponse({
    description:
      "text/event-stream of QueueTicketResponseDto JSON events, ending after the first that is not WAITING or when this api stops (SIGTERM: open it again); a domain error met by a later poll, or the end of the caller's session (an expired access token, a password reset), ends it with `event: error` and the uniform error body as data (401 for the session)",
    content: { 'text/event-stream': { schema: { type: 'string', example: 'data: {"status":"WAITING",…}\n\n' } } },
  })
  @ApiTooManyRequestsResponse({
    type: ErrorBodyDto,
    description:
      'the account has WAITING_ROOM_STREAMS_PER_USER event streams open on this api process (`details.code`: `TooManyQueueStreams`); Retry-After: the poll interval',
  })
  async events(
    @CurrentUser() user: AuthenticatedUser,
    @UuidParam('ticketId') ticketId: string,
    @Req() request: FastifyRequest,
  ): Promise<Observable<{ data: QueueTicketResponseDto } | { type: 'error'; data: ErrorBodyDto }>> {
    const first = await this.rooms.get(user.id, ticketId);
    const release = this.streams.take(user.id, first.pollAfterSeconds);
    // The guard let this token in; the stream asks again as time passes.
    const token = accessTokenOf(request.headers)!;
    const stillSignedIn = () => void this.tokens.verifyAccessNow(token);
    const requestId = RequestContext.requestId() ?? String(request.id);
    const path = request.url.split('?')[0];
    const checksPerPoll = Math.max(1, Math.round((first.pollAfterSeconds * 1000) / QUEUE_STREAM_CHECK_MS));
    return interval(QUEUE_STREAM_CHECK_MS).pipe(
      concatMap(async (tick): Promise<QueueTicket | null> => {
        stillSignedIn();
        if ((tick + 1) % checksPerPoll !== 0) return null;
        const ticket = await this.rooms.get(user.id, ticketId);
        // A session ended while the read was on its way gets nothing it read.
        stillSignedIn();
        return ticket;
      }),
      filter((ticket): ticket is QueueTicket => ticket !== null),
      startWith(first),
      takeWhile((ticket) => ticket.status === 'WAITING', true),
      map((ticket): { data: QueueTicketResponseDto } => ({ data: mapQueueTicket(ticket) })),
      catchError((error: unknown) => {
        // Anything else is a fault: Nest logs it and sends its generic error event.
        if (!(error instanceof DomainError)) throw error;
        const status = domainStatus(error);
        if (status >= 500) this.logger.warn(`queue ticket ${ticketId} stream ended: ${error.message}`);
        return of({ type: 'error' as const, data: errorBody(status, error.message, requestId, path, error.details) });
      }),
      // The process stopping (drainConnections) ends it too: the client reconnects elsewhere.
      takeUntil(this.streams.ending),
      // However it ends: the last event, the client gone (Nest unsubscribes), a fault, the process stopping.
      finalize(release),
    );
  }

  /**
   * Leaves the queue, or gives an admitted slot back. 404 for anyone else's ticket; 409
   * QueueTicketEnded for one's own ticket that has ended already (as GET shows it ENDED, a removed
   * queue's CLOSED, a canceled performance's CANCELED too), with `details.endReason`.
   */
  @Delete(':ticketId')
  @NoBody()
  @HttpCode(204)
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: "anyone else's ticket, or none (`details.ticketId`)" })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'QueueTicketEnded: the ticket has ended already (left before, dropped, expired, done, its queue removed or its performance deleted, its performance canceled; nothing changed); `details.ticketId`, `details.endReason` (LEFT, DROPPED, EXPIRED, DONE, CLOSED or CANCELED), as GET shows it',
  })
  leave(@CurrentUser() user: AuthenticatedUser, @UuidParam('ticketId') ticketId: string): Promise<void> {
    return this.rooms.leave(user.id, ticketId);
  }
}
