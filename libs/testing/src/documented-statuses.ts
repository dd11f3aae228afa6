import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** One answer of a route: its method, its route's path as Fastify registered it, its status. */
interface Answer {
  method: string;
  route: string;
  status: number;
}

/**
 * Records every answer the app gives to a route of its own (Fastify's `onResponse`), so that
 * `undocumentedAnswers` can hold them against the app's OpenAPI document when its test file ends:
 * every error status (4xx) an e2e test meets on a documented operation must be listed for it (431
 * aside: any route may answer it, the document's description says so). Register before `init`.
 */
export function recordAnswers(app: NestFastifyApplication): Answer[] {
  const answers: Answer[] = [];
  const seen = new Set<string>();
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url;
      if (route !== undefined) {
        const key = `${request.method} ${route} ${reply.statusCode}`;
        if (!seen.has(key)) {
          seen.add(key);
          answers.push({ method: request.method, route, status: reply.statusCode });
        }
      }
      done();
    });
  return answers;
}

/**
 * The answers of `answers` whose status the app's OpenAPI document (`/docs-json`, when it serves
 * one) does not list for their operation, as "METHOD /path STATUS" lines; routes the document does
 * not have (test-only controllers, HEAD) are left out.
 */
export async function undocumentedAnswers(app: NestFastifyApplication, answers: Answer[]): Promise<string[]> {
  if (answers.length === 0) return [];
  const res = await app.inject({ method: 'GET', url: '/docs-json' });
  if (res.statusCode !== 200) return [];
  const paths = (res.json() as { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> })
    .paths;
  const missing: string[] = [];
  for (const { method, route, status } of answers) {
    // Errors only: success answers come from the Swagger CLI plugin, which does not run under
    // Vitest; the fuzz test checks every status against the built API's document.
    if (status < 400 || status === 431 || status >= 500) continue;
    // The test-only controller's own failures (TestApiModule).
    if (route.startsWith('/api/v1/test-errors')) continue;
    const path = route.replace(/:(\w+)/g, '{$1}');
    const operation = paths[path]?.[method.toLowerCase()];
    if (!operation) continue;
    if (!Object.hasOwn(operation.responses ?? {}, String(status))) missing.push(`${method} ${path} ${status}`);
  }
  return missing;
}

/** Fails (throws) with the undocumented answers, naming where to declare them. */
export function reportUndocumented(missing: string[]): void {
  if (missing.length === 0) return;
  throw new Error(
    `answers whose status the OpenAPI document does not list for their operation (declare them on the controller, ` +
      `or derive them in apps/api/src/common/openapi-errors.ts):\n${missing.join('\n')}`,
  );
}
