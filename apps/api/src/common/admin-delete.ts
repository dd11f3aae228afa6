import { applyDecorators, Delete } from '@nestjs/common';
import { ApiBearerAuth, ApiConflictResponse } from '@nestjs/swagger';
import { Role, Roles } from '@app/auth';
import { ErrorBodyDto } from './error-body.dto';
import { NoBody } from './no-body';

/**
 * `DELETE /<resource>/:id` of a catalog resource, admin only: no body, and 409 (an ErrorBodyDto,
 * `conflict` saying when) while sales keep it. The route's `@HttpCode(204)` stays on the method:
 * the Swagger CLI plugin documents the success status from it only there.
 */
export function AdminDeleteById(conflict: string): MethodDecorator {
  return applyDecorators(
    Delete(':id'),
    NoBody(),
    ApiBearerAuth(),
    Roles(Role.Admin),
    ApiConflictResponse({ type: ErrorBodyDto, description: conflict }),
  );
}
