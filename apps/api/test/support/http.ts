import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { expect } from 'vitest';
import { TestSession } from '@app/testing';

/**
 * What the API e2e files share for talking HTTP: calling the app and checking the uniform error
 * body (starting it: ./api.ts).
 */

/** The keys of the uniform error body, sorted (`details` aside, which some answers add). */
export const ERROR_KEYS = ['error', 'message', 'path', 'requestId', 'statusCode', 'timestamp'];

/**
 * HTTP against an in-process API under `/api/v1`, positional: a payload that is not a string is
 * sent as JSON (a string as it is, to send malformed JSON), with the session's and extra headers.
 */
export function jsonCaller(app: () => NestFastifyApplication) {
  return (method: string, url: string, payload?: unknown, session?: TestSession, headers: object = {}) =>
    app().inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
      headers: {
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        ...session?.headers,
        ...headers,
      },
    });
}

/** Asserts an error answer of `status` with the uniform body; returns the body. */
export function expectUniform(res: { statusCode: number; json(): Record<string, unknown> }, status: number) {
  const body = res.json();
  expect(res.statusCode, JSON.stringify(body)).toBe(status);
  expect(
    Object.keys(body)
      .filter((key) => key !== 'details')
      .sort(),
  ).toEqual(ERROR_KEYS);
  expect(body.statusCode).toBe(status);
  return body;
}

/**
 * Asserts that each of `answers` (by what was asked, for the failure message) is the 503 of a
 * dependency that is unavailable now (PostgreSQL, Redis): `Retry-After: 1` (s) and the uniform body
 * with the generic message, never the cause, and the answer's own request id.
 */
export function expectServiceUnavailable(
  answers: Record<string, { statusCode: number; body: string; headers: Record<string, unknown>; json(): unknown }>,
): void {
  for (const [route, res] of Object.entries(answers)) {
    expect(res.statusCode, `${route}: ${res.body}`).toBe(503);
    expect(res.headers['retry-after'], route).toBe('1');
    const body = res.json() as Record<string, unknown>;
    expect(Object.keys(body).sort(), route).toEqual(ERROR_KEYS);
    expect(body, route).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'the service is temporarily unavailable; retry shortly',
      requestId: res.headers['x-request-id'],
    });
  }
}

/** Spellings of `n` that `Number()` reads as `n` but that are not its canonical decimal name. */
export function nonCanonicalSpellings(n: number): string[] {
  const s = String(n);
  return [
    `0x${n.toString(16)}`,
    `0b${n.toString(2)}`,
    `0o${n.toString(8)}`,
    `%2B${s}`,
    `${s}.0`,
    `%20${s}`,
    `${s}%20`,
    `0${s}`,
    `00${s}`,
    `${s}e0`,
    `${n * 10}e-1`,
  ];
}
