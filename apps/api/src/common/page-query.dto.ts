import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** `?limit=` when a request does not give it. */
export const DEFAULT_PAGE_LIMIT = 20;

/** `?limit=` (1–100, default 20) and `?cursor=` (opaque, from the previous page). */
export class PageQueryDto {
  @ApiPropertyOptional({ description: 'Items per page, 1–100.', minimum: 1, maximum: 100, default: DEFAULT_PAGE_LIMIT })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = DEFAULT_PAGE_LIMIT;

  /** `nextCursor` of the previous page; omit for the first page. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}
