/**
 * Operations of the api's OpenAPI document that no in-process e2e story answers with a success,
 * each with its reason (openapi-coverage.global-setup.ts holds the run against this list).
 */
export const NOT_ANSWERED_IN_PROCESS: Record<string, string> = {
  'GET /api/v1/queue/{ticketId}/events':
    "a Server-Sent Events stream: Nest's @Sse writes its 200 to the raw response, which Fastify's onSend " +
    'never sees (its refusals are checked); waiting-room.e2e-spec.ts reads its content type and events',
};

/**
 * Of `operations` (`METHOD /template`), those without a success answer (2xx) among `answered`
 * (`METHOD /template STATUS` lines) and not in `exempt`: `uncovered`; the entries of `exempt` that
 * were answered with a success after all: `stale`. Both sorted.
 */
export function uncoveredOperations(
  operations: string[],
  answered: string[],
  exempt: Record<string, string>,
): { uncovered: string[]; stale: string[] } {
  const succeeded = new Set(
    answered.filter((line) => / 2\d\d$/.test(line)).map((line) => line.slice(0, line.lastIndexOf(' '))),
  );
  return {
    uncovered: operations.filter((operation) => !succeeded.has(operation) && !(operation in exempt)).sort(),
    stale: Object.keys(exempt)
      .filter((operation) => succeeded.has(operation))
      .sort(),
  };
}
