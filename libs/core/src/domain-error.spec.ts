import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError, describeFailure, StoreUnavailableError } from './domain-error';

describe('StoreUnavailableError', () => {
  it('is an `unavailable` domain error with a 1 s Retry-After and a message that names no cause', () => {
    const cause = new Error('Connection is closed.');
    const error = new StoreUnavailableError('redis', cause);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'ServiceUnavailable', name: 'ServiceUnavailable' });
    expect(error).toMatchObject({ store: 'redis', cause, retryAfterSeconds: 1 });
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error.message).not.toContain('Connection');
  });
});

describe('describeFailure (for logs)', () => {
  it("adds the cause's message to the error's, when there is one", () => {
    const outage = new StoreUnavailableError('redis', new Error('Connection is closed.'));
    expect(describeFailure(outage)).toBe(
      'the service is temporarily unavailable; retry shortly (Connection is closed.)',
    );
    expect(describeFailure(new Error('plain'))).toBe('plain');
    expect(describeFailure('text')).toBe('text');
  });
});
