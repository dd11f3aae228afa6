import { describe, expect, it } from 'vitest';
import { uncoveredOperations } from './openapi-coverage';

describe('uncoveredOperations', () => {
  const operations = ['GET /a', 'POST /a', 'GET /b/{id}', 'DELETE /b/{id}'];

  it('names the operations without a success answer, errors alone not counting', () => {
    const answered = ['GET /a 200', 'POST /a 400', 'POST /a 409', 'DELETE /b/{id} 204', ''];
    expect(uncoveredOperations(operations, answered, {})).toEqual({ uncovered: ['GET /b/{id}', 'POST /a'], stale: [] });
  });

  it('leaves out the exempt operations, and names an exempt one that was answered after all', () => {
    const exempt = { 'GET /b/{id}': 'reason', 'GET /a': 'reason' };
    expect(uncoveredOperations(operations, ['GET /a 200', 'POST /a 201'], exempt)).toEqual({
      uncovered: ['DELETE /b/{id}'],
      stale: ['GET /a'],
    });
  });
});
