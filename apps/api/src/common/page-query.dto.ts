import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';
import { IntegerQuery } from './canonical-integer';
import { MaxLength } from './text-length';

/** `?limit=` when a request does not give it. */
export const DEFAULT_PAGE_LIMIT = 20;

/** `?limit=` (1–100, default 20) and `?cursor=` (opaque, from the previous page). */
export class PageQueryDto {
  @ApiPropertyOptional({
    description: 'Items per page, 1–100, in decimal digits (no sign, leading zero or exponent).',
    type: 'integer',
    minimum: 1,
    maximum: 100,
    default: DEFAULT_PAGE_LIMIT,
  })
  @IsOptional()
  @IntegerQuery(1, 100)
  limit: number = DEFAULT_PAGE_LIMIT;

  /** `nextCursor` of the previous page; omit for the first page. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}
