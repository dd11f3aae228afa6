import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Role } from '@app/database';
import { InvalidTokenError, MissingRoleError } from './auth.errors';
import { AuthenticatedUser, IS_PUBLIC, ROLES } from './decorators';
import { TokenService } from './token.service';

interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  user?: AuthenticatedUser;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i;

type Target = Parameters<Reflector['getAllAndOverride']>[1][number];

/**
 * A guard's reading of one decorator's metadata per route (handler and controller class), made
 * on the route's first request and kept: metadata is set when the classes load and never
 * changes, and the global guards run on every request.
 */
class RouteMetadata<T> {
  private readonly byHandler = new WeakMap<Target, WeakMap<Target, { value: T }>>();

  of(context: ExecutionContext, read: (targets: [Target, Target]) => T): T {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byClass = this.byHandler.get(handler);
    if (byClass === undefined) this.byHandler.set(handler, (byClass = new WeakMap()));
    let known = byClass.get(controller);
    if (known === undefined) byClass.set(controller, (known = { value: read([handler, controller]) }));
    return known.value;
  }
}

/** Global: every route needs a valid access token unless it is marked `@Public()`. */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  private readonly isPublic = new RouteMetadata<boolean | undefined>();

  /** Synchronous (no promise per request); throws InvalidTokenError (401) without a valid token. */
  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.isPublic.of(context, (targets) =>
      this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets),
    );
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthRequest>();
    const header = request.headers.authorization;
    const token = typeof header === 'string' ? BEARER.exec(header.trim())?.[1] : undefined;
    if (!token) throw new InvalidTokenError('an access token is required (Authorization: Bearer <token>)');
    request.user = this.tokens.verifyAccessNow(token);
    return true;
  }
}

/** Global, after the access-token guard: enforces `@Roles(...)`. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  private readonly roles = new RouteMetadata<Role[] | undefined>();

  canActivate(context: ExecutionContext): boolean {
    const roles = this.roles.of(context, (targets) =>
      this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets),
    );
    if (!roles || roles.length === 0) return true;
    const user = context.switchToHttp().getRequest<AuthRequest>().user;
    if (!user) throw new InvalidTokenError();
    if (!roles.includes(user.role)) throw new MissingRoleError();
    return true;
  }
}
