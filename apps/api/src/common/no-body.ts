import { BadRequestException, CanActivate, ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

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

/** Marks a POST, PUT or DELETE route that takes no body (see NoBodyGuard). */
export function NoBody(): MethodDecorator & ClassDecorator {
  return UseGuards(NoBodyGuard);
}
