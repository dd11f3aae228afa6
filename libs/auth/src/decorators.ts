import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { Role } from '@app/database';

export const IS_PUBLIC = 'isPublic';
export const ROLES = 'roles';

/** Who made the request, as the access token says. */
export interface AuthenticatedUser {
  id: string;
  email: string;
  role: Role;
}

/** Marks a route (or controller) as reachable without an access token. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Restricts a route (or controller) to users holding one of these roles. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

/**
 * A request that passed the access-token guard on a route that is not `@Public()`: its caller.
 * For `@Req()` where `@CurrentUser()` would cost the global pipe's promises (hot routes).
 */
export interface CallerRequest {
  user: AuthenticatedUser;
}

/** The authenticated caller of the route. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthenticatedUser =>
    context.switchToHttp().getRequest<{ user: AuthenticatedUser }>().user,
);
