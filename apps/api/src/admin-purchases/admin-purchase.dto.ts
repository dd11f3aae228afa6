import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEmail, IsInt, IsOptional, Max, MaxLength, Min } from 'class-validator';
import type { Purchase } from '@app/ticketing';
import { PageQueryDto } from '../common/page-query.dto';
import { mapPurchase, PurchaseResponseDto } from '../purchases/purchase.dto';

/** The query of `GET /admin/purchases`: a page, optionally of one performance and/or one buyer. */
export class AdminPurchaseQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only purchases of this performance.', minimum: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  performanceId?: number;

  @ApiPropertyOptional({ description: 'Only purchases of the buyer with this e-mail (any case).', maxLength: 320 })
  @IsOptional()
  @IsEmail()
  @MaxLength(320)
  email?: string;
}

/** A purchase as operators see it: the buyer's view plus whose it is. */
export class AdminPurchaseResponseDto extends PurchaseResponseDto {
  /** The buyer's user id. */
  userId: string;
}

export class AdminPurchasePageDto {
  items: AdminPurchaseResponseDto[];
  nextCursor: string | null;
}

export function mapAdminPurchase(purchase: Purchase): AdminPurchaseResponseDto {
  return { ...mapPurchase(purchase), userId: purchase.userId };
}
