import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser, CurrentUser, Role, Roles } from '@app/auth';
import { WindowRefunds } from '@app/ticketing';
import { ErrorBodyDto } from '../common/error-body.dto';
import { NoBody } from '../common/no-body';
import { IdParam, UuidParam } from '../common/parse-id.pipe';
import {
  mapWindowRefund,
  WindowRefundPageDto,
  WindowRefundQueryDto,
  WindowRefundResponseDto,
} from './window-refund.dto';

/**
 * Refunds owed at the box office window: box office sales (paid in cash or on the card terminal)
 * that the bulk refund of their canceled performance canceled. Their money goes back only at the
 * window: the holder brings the tickets or receipt, the operator gives the amount back the way it
 * was taken and marks the refund paid. Admins only, as every refund (`POST /admin/purchases/:id/refund`):
 * the list names each buyer (the address and name the window took), which door staff (`STAFF`, who
 * also sell at the window) see only for the ticket they scan; nobody is a refund-handling clerk.
 */
@ApiTags('admin')
@ApiBearerAuth()
@Roles(Role.Admin)
@Controller('admin')
export class WindowRefundsController {
  constructor(private readonly refunds: WindowRefunds) {}

  /**
   * The performance's window refunds, oldest owed first; `?status=OWED` for those still to give
   * back (whom to pay, how much, in cash or to the card). Admins only (403 for staff and buyers).
   */
  @Get('performances/:id/window-refunds')
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance' })
  @ApiResponse({ status: 400, type: ErrorBodyDto, description: 'an unknown status, a bad limit or cursor' })
  async list(@IdParam() id: number, @Query() query: WindowRefundQueryDto): Promise<WindowRefundPageDto> {
    const page = await this.refunds.list(id, query.status, query.cursor, query.limit);
    return { items: page.items.map(mapWindowRefund), nextCursor: page.nextCursor };
  }

  /**
   * Marks the purchase's refund owed at the window paid: the operator gave the money back there.
   * Recorded in the audit log (`purchase.window-refund-paid`). Of two operators marking one refund
   * at once, one wins; the other gets 409 `WindowRefundPaid` (who paid it and when in `details`).
   * Admins only (403 for staff and buyers).
   */
  @Post('purchases/:id/window-refund/paid')
  @NoBody()
  @HttpCode(200)
  @ApiResponse({ status: 200, type: WindowRefundResponseDto, description: 'the refund, PAID' })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no refund owed at the window for that purchase' })
  @ApiResponse({ status: 409, type: ErrorBodyDto, description: '`WindowRefundPaid`: marked paid before' })
  async markPaid(
    @CurrentUser() operator: AuthenticatedUser,
    @UuidParam() id: string,
  ): Promise<WindowRefundResponseDto> {
    return mapWindowRefund(await this.refunds.markPaid({ id: operator.id, email: operator.email }, id));
  }
}
