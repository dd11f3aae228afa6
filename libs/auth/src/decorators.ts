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

/** The authenticated caller of the route. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthenticatedUser =>
    context.switchToHttp().getRequest<{ user: AuthenticatedUser }>().user,
);
