import type { Type } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';

/** The prefix of every API route (`/health/*` and `/metrics` excepted), without its leading slash. */
export const API_PREFIX = 'api/v1';

/**
 * Where a created resource is read, ready to append its id: `resourcePath('purchases')` is
 * `/api/v1/purchases/`. A 201 answer's `Location` (RFC 9110 §10.2.2) is this plus the id, one
 * string concatenation, built once per route at load rather than per request (the hot POSTs,
 * docs/performance.md). An absolute path: a client resolves it against the request's URL, so it
 * holds behind Nginx or any proxy that keeps the path.
 */
export function resourcePath(collection: string): string {
  return `/${API_PREFIX}/${collection}/`;
}

/**
 * Swagger for a 201 answer that names its resource: the body's schema and the `Location` header,
 * the path of `readBy` (the GET route, an OpenAPI path template) with the created id.
 */
export function ApiCreatedAt(options: { type: Type<unknown>; description: string; readBy: string }): MethodDecorator {
  return ApiResponse({
    status: 201,
    type: options.type,
    description: options.description,
    headers: {
      Location: {
        description: `the created resource: \`GET /${API_PREFIX}${options.readBy}\` (an absolute path; RFC 9110 §10.2.2)`,
        schema: { type: 'string', example: `/${API_PREFIX}${options.readBy.replace(/\{[^}]+\}/, '42')}` },
      },
    },
  });
}
