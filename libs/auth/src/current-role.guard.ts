import { CanActivate, ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Role, UsersRepository } from '@app/database';
import { MissingRoleError } from './auth.errors';
import { AuthenticatedUser, ROLES } from './decorators';

/**
 * After the access-token guard, which checks the role the token names: refuses (403 MissingRole)
 * a caller whose role in PostgreSQL is no longer one of the route's `@Roles` (an admin revoked
 * their staff role; the token names it until it expires). One indexed read per request, for the
 * routes where a role revoked minutes ago must already count (the door's check-in). The request's
 * user then carries the role read (`@CurrentUser().role`).
 */
@Injectable()
export class CurrentRoleGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly users: UsersRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, [
      context.getHandler(),
      context.getClass(),
    ]);
    const request = context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>();
    const user = request.user;
    if (!roles || !user) return true;
    const role = await this.users.roleOf(user.id);
    if (role === null || !roles.includes(role)) throw new MissingRoleError();
    // The route reads the role of now too (an admin made staff undoes only its own check-ins).
    if (role !== user.role) request.user = { ...user, role };
    return true;
  }
}

/** Marks a route whose caller's role is read from PostgreSQL, not only from the token (see CurrentRoleGuard). */
export const RequiresCurrentRole = () => UseGuards(CurrentRoleGuard);
