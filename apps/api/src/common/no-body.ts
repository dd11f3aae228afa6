import {
  applyDecorators,
  BadRequestException,
  CanActivate,
  ExecutionContext,
  Injectable,
  UseGuards,
} from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest, preParsingHookHandler, RouteOptions } from 'fastify';

const MAX_PROBLEMS = 10;

/** The 400 message for a body (`{}`, `[]`, any JSON) sent to a route that takes none. */
export const NO_BODY = 'this route takes no body';

/**
 * Refuses a request that brings a body to a route that takes none, before anything is done: every
 * field is unknown, as any unknown property of a body is (400, "property x should not exist"), and
 * any other body, `{}` and `[]` included, is "this route takes no body". Only no body at all (also
 * an empty one sent with `Content-Type: application/json`) passes: a client that sends `{}` to
 * a route documented to take none is told so rather than acted on.
 */
@Injectable()
export class NoBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const body: unknown = context.switchToHttp().getRequest<FastifyRequest>().body;
    if (body === undefined) return true;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const names = Object.keys(body);
      if (names.length > 0)
        throw new BadRequestException(names.slice(0, MAX_PROBLEMS).map((name) => `property ${name} should not exist`));
    }
    throw new BadRequestException([NO_BODY]);
  }
}

/** The key of Fastify's route config that marks a route taking no body (see {@link NoBody}). */
export const NO_BODY_ROUTE = 'noBody';

/**
 * Marks a POST, PUT or DELETE route that takes no body: a JSON body is refused by NoBodyGuard
 * (after who is asking, as any field), a body of any other content type, or none named, by
 * {@link refuseOtherBodies} before it is parsed (where it would have been a 415).
 */
export function NoBody(): MethodDecorator {
  return applyDecorators(UseGuards(NoBodyGuard), RouteConfig({ [NO_BODY_ROUTE]: true }));
}

/**
 * Fastify's `onRoute` hook: gives each route marked {@link NoBody} a `preParsing` step that
 * refuses a body that is not JSON (400 "this route takes no body"), so every body sent to such a
 * route is a 400 whatever its content type. Only those routes run it: the others pay nothing.
 */
export function refuseOtherBodies(route: RouteOptions): void {
  if ((route.config as Record<string, unknown> | undefined)?.[NO_BODY_ROUTE] !== true) return;
  const own = route.preParsing === undefined ? [] : [route.preParsing].flat();
  route.preParsing = [...own, refuseNonJsonBody];
}

const refuseNonJsonBody: preParsingHookHandler = (request, _reply, payload, done) => {
  const { headers } = request;
  const type = headers['content-type']?.split(';')[0].trim().toLowerCase();
  if (carriesBody(headers) && type !== 'application/json') return done(new BadRequestException([NO_BODY]));
  done(null, payload);
};

/**
 * Whether a request with these headers brings a body: a transfer coding, or a length other than 0
 * (an empty body, `Content-Length: 0`, is none).
 */
export function carriesBody(headers: FastifyRequest['headers']): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
