import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { Role } from '@app/database';

export const IS_PUBLIC = 'isPublic';
export const ROLES = 'roles';
export const SIGN_IN_OPTIONAL = 'signInOptional';

/** Who made the request, as the access token says. */
export interface AuthenticatedUser {
  id: string;
  email: string;
  role: Role;
}

/** Marks a route (or controller) as reachable without an access token. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * On a `@Public()` route: an `Authorization` header, when one is sent, must carry a valid access
 * token (401 otherwise, as on any route), whose caller `@CurrentUser()` then gives; without the
 * header the caller is undefined.
 */
export const SignInOptional = () => SetMetadata(SIGN_IN_OPTIONAL, true);

/** Restricts a route (or controller) to users holding one of these roles. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

/**
 * A request that passed the access-token guard on a route that is not `@Public()`: its caller.
 * For `@Req()` where `@CurrentUser()` would cost the global pipe's promises (hot routes).
 */
export interface CallerRequest {
  user: AuthenticatedUser;
}

/** The authenticated caller of the route (undefined on a `@SignInOptional()` route called without a token). */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthenticatedUser =>
    context.switchToHttp().getRequest<{ user: AuthenticatedUser }>().user,
);
