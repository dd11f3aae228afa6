import { ArgumentsHost, Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '@app/core';
import { DatabaseUnavailableError } from '@app/database';
import { FakeClock } from '@app/testing';
import { PerformanceCancelNotReplicatedError } from '@app/ticketing';
import { AllExceptionsFilter, failureKind } from './all-exceptions.filter';

/** An ioredis reply error: its class, not its text, makes a kind. */
class ReplyError extends Error {}

/** A Node system error with its `code`. */
const refused = (address: string) =>
  Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });

describe('AllExceptionsFilter: the error log of failed requests', () => {
  let clock: FakeClock;
  let filter: AllExceptionsFilter;
  /** What the filter logged at error: the message, and whether an error (its stack) came with it. */
  let logged: { message: string; withError: boolean }[];
  const statuses: number[] = [];

  const host = (url: string): ArgumentsHost => {
    const reply = {
      header: () => reply,
      status: (status: number) => (statuses.push(status), reply),
      send: () => reply,
    };
    return {
      switchToHttp: () => ({ getRequest: () => ({ method: 'GET', url, id: 'r-1' }), getResponse: () => reply }),
    } as unknown as ArgumentsHost;
  };
  const fail = (exception: unknown, url = '/api/v1/performances/7/seats') => filter.catch(exception, host(url));

  beforeEach(() => {
    clock = new FakeClock(Date.UTC(2026, 11, 7, 12));
    filter = new AllExceptionsFilter(clock);
    logged = [];
    statuses.length = 0;
    vi.spyOn(Logger.prototype, 'error').mockImplementation((line: unknown) => {
      logged.push(
        typeof line === 'string'
          ? { message: line, withError: false }
          : {
              message: (line as { message: string }).message,
              withError: (line as { err?: unknown }).err instanceof Error,
            },
      );
    });
  });
  afterEach(() => {
    filter.onApplicationShutdown();
    vi.restoreAllMocks();
  });

  it('logs the first Redis-unavailable 503 in full, then "… and N more like it" once the interval passed', () => {
    for (let slot = 1; slot <= 1_235; slot += 1) {
      fail(new StoreUnavailableError('redis', new ReplyError(`MOVED ${slot} 10.0.0.${slot % 250}:6379`)));
    }
    expect(statuses.every((status) => status === 503)).toBe(true);
    expect(logged).toEqual([
      {
        message:
          'GET /api/v1/performances/7/seats failed: ServiceUnavailable: the service is temporarily unavailable; retry shortly (cause: Error: MOVED 1 10.0.0.1:6379)',
        withError: true,
      },
    ]);
    clock.advance(10_000);
    filter.onApplicationShutdown();
    expect(logged.slice(1)).toEqual([
      {
        message:
          '… and 1,234 more like it in the last 10 s (StoreUnavailableError redis ← ReplyError); the last: GET /api/v1/performances/7/seats failed: ServiceUnavailable: the service is temporarily unavailable; retry shortly (cause: Error: MOVED 1235 10.0.0.235:6379)',
        withError: false,
      },
    ]);
  });

  it('counts each kind of dependency failure apart: Redis by cause, PostgreSQL, a sale not replicated', () => {
    fail(new StoreUnavailableError('redis', new ReplyError('TRYAGAIN')));
    fail(new StoreUnavailableError('redis', refused('10.0.0.1:6379')));
    fail(new DatabaseUnavailableError(refused('10.0.0.2:5432'), 'down'));
    fail(new PerformanceCancelNotReplicatedError(7));
    for (let n = 0; n < 3; n += 1) {
      fail(new StoreUnavailableError('redis', refused(`10.0.0.${n}:6379`)));
      fail(new DatabaseUnavailableError(refused('10.0.0.2:5432'), 'down'));
      fail(new PerformanceCancelNotReplicatedError(8));
    }
    expect(logged).toHaveLength(4);
    expect(logged.every((line) => line.withError)).toBe(true);
    clock.advance(12_000);
    // The next failure writes the counts due, whatever its kind; its own kind had none since its
    // first and was quiet for the interval: it is logged in full again.
    fail(new StoreUnavailableError('redis', new ReplyError('TRYAGAIN')));
    expect(logged.slice(4).map((line) => line.message.replace(/; the last: .*/, ''))).toEqual([
      'GET /api/v1/performances/7/seats failed: ServiceUnavailable: the service is temporarily unavailable; retry shortly (cause: Error: TRYAGAIN)',
      '… and 3 more like it in the last 12 s (StoreUnavailableError redis ← Error ECONNREFUSED)',
      '… and 3 more like it in the last 12 s (DatabaseUnavailableError ← Error ECONNREFUSED)',
      '… and 3 more like it in the last 12 s (PerformanceCancelNotReplicatedError)',
    ]);
  });

  it('logs every 500 in full, however many come', () => {
    for (let n = 0; n < 5; n += 1) fail(new TypeError("Cannot read properties of undefined (reading 'id')"));
    expect(statuses).toEqual([500, 500, 500, 500, 500]);
    expect(logged).toHaveLength(5);
    expect(logged.every((line) => line.withError && line.message.includes('failed: TypeError: Cannot read'))).toBe(
      true,
    );
  });

  it('logs a kind in full again once it was quiet for a whole interval (the next outage)', () => {
    fail(new StoreUnavailableError('redis', refused('10.0.0.1:6379')));
    clock.advance(60_000);
    fail(new StoreUnavailableError('redis', refused('10.0.0.1:6379')));
    expect(logged).toHaveLength(2);
    expect(logged.every((line) => line.withError)).toBe(true);
  });
});

describe('failureKind', () => {
  it('names the class, the store and the cause’s class and system code, never a message', () => {
    expect(failureKind(new StoreUnavailableError('redis', new ReplyError('ASK 4576 10.0.0.7:6379')))).toBe(
      'StoreUnavailableError redis ← ReplyError',
    );
    expect(failureKind(new StoreUnavailableError('redis', refused('10.0.0.7:6379')))).toBe(
      'StoreUnavailableError redis ← Error ECONNREFUSED',
    );
    expect(failureKind(new PerformanceCancelNotReplicatedError(7))).toBe('PerformanceCancelNotReplicatedError');
  });
});
