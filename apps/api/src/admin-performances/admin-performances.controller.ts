import { Body, Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthenticatedUser, CurrentUser, Role, Roles } from '@app/auth';
import { PerformanceCancellations } from '@app/ticketing';
import { ErrorBodyDto } from '../common/error-body.dto';
import { IdParam } from '../common/parse-id.pipe';
import {
  mapCancellation,
  PerformanceCancellationResponseDto,
  PerformanceCancelDto,
} from './performance-cancellation.dto';

@ApiTags('admin')
@ApiBearerAuth()
@Roles(Role.Admin)
@Controller('admin/performances')
export class AdminPerformancesController {
  constructor(private readonly cancellations: PerformanceCancellations) {}

  /**
   * Cancels a performance (the show is called off) and starts refunding every paid purchase of it.
   * Once this answers, the performance is `CANCELED` for good: no hold, purchase (also of a hold
   * made before) or check-in of it goes through, and a PATCH of it answers 409. `batch` then
   * cancels each paid purchase as an operator's refund does (checked-in tickets included): the
   * charge refunded once, the buyer e-mailed one cancellation notice; follow it with `GET
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
}
