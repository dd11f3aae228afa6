import type { INestApplication, Type } from '@nestjs/common';
import { ModulesContainer, Reflector } from '@nestjs/core';
import type { OpenAPIObject, OperationObject } from '@nestjs/swagger';
import { IS_PUBLIC, ROLES } from '@app/auth';

/** What a route declares that decides which errors it can answer, whatever its handler does. */
export interface RouteFacts {
  /** `@Public()`: no access token needed, so no 401 for lack of one. */
  public: boolean;
  /** `@Roles(…)`: a 403 for any other role. */
  roles: boolean;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const ERROR_BODY = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } };

const RETRY_AFTER = {
  description: 'Seconds to wait before trying again',
  schema: { type: 'integer', minimum: 0 },
} as const;

/**
 * The facts of every controller method, by the operation id Swagger gives it
 * (`<Controller class>_<method>`), read with the same precedence the guards use (method, then class).
 */
export function routeFacts(app: INestApplication): Map<string, RouteFacts> {
  const reflector = app.get(Reflector);
  const facts = new Map<string, RouteFacts>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type | null;
      if (!controller) continue;
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler: unknown = controller.prototype[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const targets = [handler, controller];
        facts.set(`${controller.name}_${name}`, {
          public: reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets) === true,
          roles: (reflector.getAllAndOverride<unknown[] | undefined>(ROLES, targets) ?? []).length > 0,
        });
      }
    }
  }
  return facts;
}

/**
 * Lists on every operation the error statuses any route of its kind may answer, with the uniform
 * body, where its controller did not describe them itself (a controller's own description of a
 * status is kept): 400 on all (a path, query, header or body value it does not take), 413 and 415
 * on every method but GET and HEAD (a body is read there whether the route takes one or not),
 * 401 on those that need an access token, 403 on those limited to roles,
 * 404 on those with a path parameter, and `default` for the rest; `Retry-After` on every 429 and
 * 503, and on a 409 whose description names it. A client generated from the
 * document then knows every status the fuzz test (`apps/api/test/fuzz.e2e-spec.ts`) meets, except
 * 431 (request headers too large), which any route answers and the document's description names.
 */
export function addErrorResponses(document: OpenAPIObject, facts: Map<string, RouteFacts>): void {
  for (const path of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = path[method];
      if (!operation) continue;
      const route = operation.operationId ? facts.get(operation.operationId) : undefined;
      for (const [status, description] of errorsOf(method, operation, route)) {
        operation.responses[status] ??= { description, content: ERROR_BODY };
      }
      operation.responses.default ??= { description: 'Error (uniform body)', content: ERROR_BODY };
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!response || !('description' in response)) continue;
        // 429 and 503 always carry it; a 409 when its description says so (retry shortly).
        if (status === '429' || status === '503' || response.description.includes('Retry-After')) {
          response.headers = { ...response.headers, 'Retry-After': RETRY_AFTER };
        }
      }
    }
  }
}

function errorsOf(method: string, operation: OperationObject, route: RouteFacts | undefined): [string, string][] {
  const errors: [string, string][] = [
    [
      '400',
      'Invalid request: a path, query, header or body value the route does not take (`details` names the fields)',
    ],
  ];
  // Fastify reads the body of every other method, also where the route takes none (any field
  // is then refused), so a body over the limit is a 413 there too; a GET's body is never read.
  if (method !== 'get' && method !== 'head') {
    errors.push(['413', 'The body is larger than the API takes (64 KiB)']);
    errors.push(['415', 'A body that is not `application/json` (UTF-8)']);
  }
  if (route && !route.public) errors.push(['401', 'No valid access token (missing, malformed or expired)']);
  if (route?.roles) errors.push(['403', "The caller's role may not use this route"]);
  const pathParameter = (operation.parameters ?? []).some((parameter) => 'in' in parameter && parameter.in === 'path');
  if (pathParameter) errors.push(['404', "Nothing with this id (or not the caller's)"]);
  return errors;
}
