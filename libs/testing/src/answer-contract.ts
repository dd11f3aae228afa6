import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { OpenApiContract } from './openapi-contract';

/**
 * Routes of an in-process app that are not operations of the API, each with its reason: their
 * answers are not held against the document.
 */
const NOT_OPERATIONS: { path: RegExp; reason: string }[] = [
  // foundation.e2e-spec.ts (test-errors), auth.e2e-spec.ts (test-admin).
  { path: /^\/api\/v1\/test-/, reason: 'test-only controllers an e2e file adds to the app' },
  { path: /^\/docs(-json|-yaml|\/|$)/, reason: 'Swagger UI and the document itself, not an operation of it' },
  {
    path: /^\/metrics$/,
    reason: "Prometheus's scrape, left out of the document (ApiExcludeController): not for clients",
  },
];

/** The uniform error body, which an answer to a path no route has must carry too. */
const ERROR_BODY = { content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } } };

/** Each mismatch once, with how often and an example request. */
export type Mismatches = Map<string, { count: number; example: string }>;

/** What {@link checkAnswers} collects for one app. */
export interface AnswerLedger {
  /** How many answers were held against the document. */
  checked: number;
  /** The document's operations answered, with the status: `METHOD /template STATUS`. */
  answered: Set<string>;
  mismatches: Mismatches;
}

/**
 * Holds every answer `app` sends (Fastify's `onSend`: the status, Content-Type and body as they go
 * out, whichever way the test asked: `inject`, a caller helper, a real socket) against `contract`,
 * into the ledger it answers. HEAD and OPTIONS (Fastify's and CORS's
 * answers, not operations) and the routes of NOT_OPERATIONS are left out; an answer to a path no
 * route has must be the uniform error body. Register before `init`.
 */
export function checkAnswers(app: NestFastifyApplication, contract: OpenApiContract): AnswerLedger {
  const ledger: AnswerLedger = { checked: 0, answered: new Set(), mismatches: new Map() };
  const mismatches = ledger.mismatches;
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', (request, reply, payload, done) => {
      try {
        const method = request.method;
        const route = request.routeOptions.url;
        // Fastify routes a path without its query and fragment (`/events#frag` is `/events`).
        const path = request.url.split(/[?#]/)[0];
        if (method === 'HEAD' || method === 'OPTIONS' || NOT_OPERATIONS.some((skip) => skip.path.test(path))) {
          return done(null, payload);
        }
        const header = reply.getHeader('content-type');
        const answer = {
          method,
          path,
          status: reply.statusCode,
          contentType: header === undefined ? undefined : String(header),
          body: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : payload == null ? '' : undefined,
        };
        let problems: string[];
        if (route === undefined) {
          problems = contract.checkAgainst(ERROR_BODY, answer, `(no route) ${answer.status}`);
        } else {
          const verdict = contract.check(answer);
          problems = verdict.problems;
          if (verdict.operation) ledger.answered.add(`${verdict.operation} ${answer.status}`);
        }
        ledger.checked++;
        for (const problem of problems) {
          const seen = mismatches.get(problem);
          if (seen) seen.count++;
          else mismatches.set(problem, { count: 1, example: `${method} ${request.url} (${request.id})` });
        }
      } catch (error) {
        mismatches.set(`the contract check failed: ${String(error)}`, { count: 1, example: request.url });
      }
      done(null, payload);
    });
  return ledger;
}

/** Fails (throws) with the mismatches, each with how often and an example request. */
export function reportMismatches(mismatches: Mismatches): void {
  if (mismatches.size === 0) return;
  const lines = [...mismatches].map(([problem, { count, example }]) => `${problem}  [${count}×, e.g. ${example}]`);
  throw new Error(
    `answers that do not match the built api's OpenAPI document (fix the DTO or its decorators where the ` +
      `document is wrong, the api where it is; error statuses: apps/api/src/common/openapi-errors.ts):\n` +
      lines.join('\n'),
  );
}
