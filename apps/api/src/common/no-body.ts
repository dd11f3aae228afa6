import { BadRequestException, CanActivate, ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

const MAX_PROBLEMS = 10;

/**
 * Refuses a request that brings a body to a route that takes none: every field is unknown, as
 * any unknown property of a body is (400, "property x should not exist"). No body, or `{}`
 * (clients that always send JSON), passes.
 */
@Injectable()
export class NoBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const body: unknown = context.switchToHttp().getRequest<FastifyRequest>().body;
    if (body === undefined) return true;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const names = Object.keys(body);
      if (names.length === 0) return true;
      throw new BadRequestException(names.slice(0, MAX_PROBLEMS).map((name) => `property ${name} should not exist`));
    }
    throw new BadRequestException(['this route takes no body']);
  }
}

/** Marks a POST, PUT or DELETE route that takes no body (see NoBodyGuard). */
export function NoBody(): MethodDecorator & ClassDecorator {
  return UseGuards(NoBodyGuard);
}
