import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Role } from '@app/database';
import { InvalidTokenError, MissingRoleError } from './auth.errors';
import { AuthenticatedUser, IS_PUBLIC, ROLES, SIGN_IN_OPTIONAL } from './decorators';
import { TokenService } from './token.service';

interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  user?: AuthenticatedUser;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i;

/** The access token of an `Authorization: Bearer <token>` header, or undefined without a well-formed one. */
export function accessTokenOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const header = headers.authorization;
  return typeof header === 'string' ? BEARER.exec(header.trim())?.[1] : undefined;
}

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

/** What the access guard needs to know of a route: `@Public()`, `@SignInOptional()` and `@Roles(...)`. */
interface RouteAccess {
  isPublic: boolean;
  /** A public route that reads a caller when a token is sent. */
  signInOptional: boolean;
  /** Undefined when the route takes any role. */
  roles: Role[] | undefined;
}

/**
 * Global, the one guard of every route: a valid access token unless the route is marked
 * `@Public()`, then the roles of `@Roles(...)`. One guard rather than two (token, then roles):
 * Nest calls each global guard on every request, liveness included.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  private readonly access = new RouteMetadata<RouteAccess>();

  /**
   * Synchronous (no promise per request). Throws InvalidTokenError (401) without a valid token
   * (or on a public route with roles, which has no caller; on a `@SignInOptional()` route, with an
   * `Authorization` header that is not a valid token), MissingRoleError (403) for a role the route
   * does not take.
   */
  canActivate(context: ExecutionContext): boolean {
    const route = this.access.of(context, (targets) => {
      const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets);
      return {
        isPublic: this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets) === true,
        signInOptional: this.reflector.getAllAndOverride<boolean | undefined>(SIGN_IN_OPTIONAL, targets) === true,
        roles: roles && roles.length > 0 ? roles : undefined,
      };
    });
    if (route.isPublic && route.roles === undefined && !route.signInOptional) return true;
    const request = context.switchToHttp().getRequest<AuthRequest>();
    if (!route.isPublic || (route.signInOptional && request.headers.authorization !== undefined)) {
      const token = accessTokenOf(request.headers);
      if (!token) throw new InvalidTokenError('an access token is required (Authorization: Bearer <token>)');
      request.user = this.tokens.verifyAccessNow(token);
    }
    if (route.roles === undefined) return true;
    const user = request.user;
    if (!user) throw new InvalidTokenError();
    if (!route.roles.includes(user.role)) throw new MissingRoleError();
    return true;
  }
}
