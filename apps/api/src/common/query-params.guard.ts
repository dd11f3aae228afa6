import { BadRequestException, CanActivate, ExecutionContext, Injectable, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';

const MAX_PROBLEMS = 10;

/**
 * What a route handler takes of the query string, read from its parameter decorators:
 * `'dto'` for `@Query() query: SomeDto` (the validation pipe refuses the DTO's unknown
 * properties), else the names of its `@Query('name')` parameters (none for most routes).
 */
export type QueryDeclaration = 'dto' | ReadonlySet<string>;

/** The query declaration of `handler`, a method of `controller` (see QueryDeclaration). */
export function queryDeclarationOf(controller: object, handler: { name: string }): QueryDeclaration {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ?? {}) as Record<
    string,
    { data?: unknown }
  >;
  const names = new Set<string>();
  for (const [key, arg] of Object.entries(args)) {
    if (key.split(':')[0] !== String(RouteParamtypes.QUERY)) continue;
    if (typeof arg.data !== 'string') return 'dto';
    names.add(arg.data);
  }
  return names;
}

/** The 400 messages for the parameters of `query` that `allowed` does not name ([] when none). */
export function undeclaredParameters(query: Record<string, unknown>, allowed: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const name in query) {
    if (!Object.hasOwn(query, name) || allowed.has(name)) continue;
    problems.push(`property ${name} should not exist`);
    if (problems.length === MAX_PROBLEMS) break;
  }
  return problems;
}

/**
 * Global, after the access guard: a query parameter a route does not declare is a 400 ("property
 * x should not exist"), as the validation pipe answers for routes with a query DTO, so a filter a
 * route does not have (`/events/2/sales?performanceId=3`) is never read as applied. Each
 * handler's declaration is read once; a request without a query string costs a `indexOf`.
 */
@Injectable()
export class QueryParamsGuard implements CanActivate {
  private readonly declarations = new WeakMap<object, QueryDeclaration>();

  /** Throws BadRequestException (400, the uniform body) naming each undeclared parameter. */
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ url?: string; query?: Record<string, unknown> }>();
    if (request.url === undefined || request.url.indexOf('?') < 0 || request.query === undefined) return true;
    const handler = context.getHandler();
    let declaration = this.declarations.get(handler);
    if (declaration === undefined) {
      declaration = queryDeclarationOf(context.getClass(), handler);
      this.declarations.set(handler, declaration);
    }
    if (declaration === 'dto') return true;
    const problems = undeclaredParameters(request.query, declaration);
    if (problems.length > 0) throw new BadRequestException(problems);
    return true;
  }
}

/** Registers QueryParamsGuard as a global guard; imported after AuthModule (see ApiModule). */
@Module({ providers: [{ provide: APP_GUARD, useClass: QueryParamsGuard }] })
export class QueryParamsModule {}
