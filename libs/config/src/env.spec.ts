import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from './env';

function problemsOf(source: Record<string, string>): string[] {
  try {
    parseEnv(source);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('parseEnv', () => {
  it('gives the documented defaults for an empty environment', () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/boxoffice');
    expect(env.RESERVATION_TTL_SECONDS).toBe(300);
    expect(env.MAX_SEATS_PER_RESERVATION).toBe(4);
    expect(env.PURCHASE_FLUSH_AGE_SECONDS).toBe(5);
    expect(env.LOG_LEVEL).toBe('info');
    expect(env.DEFAULT_CURRENCY).toBe('KRW');
    expect(env.JWT_ACCESS_SECRET).toBeTruthy();
  });

  it('converts numbers and keeps given values', () => {
    const env = parseEnv({ PORT: '8080', RESERVATION_TTL_SECONDS: '2', LOG_LEVEL: 'debug' });
    expect(env.PORT).toBe(8080);
    expect(env.RESERVATION_TTL_SECONDS).toBe(2);
    expect(env.LOG_LEVEL).toBe('debug');
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x/y'],
    ['REDIS_URL', 'localhost:6379'],
    ['RABBITMQ_URL', 'http://x'],
    ['RESERVATION_TTL_SECONDS', '0'],
    ['MAX_SEATS_PER_RESERVATION', '2.5'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['ADMIN_EMAIL', 'not-an-email'],
    ['DEFAULT_CURRENCY', 'eur'],
    ['DEFAULT_CURRENCY', 'EURO'],
    ['DEFAULT_CURRENCY', 'XYZ'],
  ])('rejects %s=%s and names the variable', (name, value) => {
    const problems = problemsOf({ [name]: value, ...(name === 'ADMIN_EMAIL' ? { ADMIN_PASSWORD: 'longenough' } : {}) });
    expect(problems.some((p) => p.startsWith(name))).toBe(true);
  });

  it('requires both JWT secrets in production, and never prints them', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'JWT_ACCESS_SECRET is required when NODE_ENV=production',
      'JWT_REFRESH_SECRET is required when NODE_ENV=production',
    ]);
    const short = problemsOf({
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: 'short-secret',
      JWT_REFRESH_SECRET: 'x'.repeat(40),
    });
    expect(short.join()).toContain('JWT_ACCESS_SECRET');
    expect(short.join()).not.toContain('short-secret');
    expect(() =>
      parseEnv({ NODE_ENV: 'production', JWT_ACCESS_SECRET: 'a'.repeat(40), JWT_REFRESH_SECRET: 'b'.repeat(40) }),
    ).not.toThrow();
  });

  it('takes a known ISO 4217 code as DEFAULT_CURRENCY', () => {
    expect(parseEnv({ DEFAULT_CURRENCY: 'EUR' }).DEFAULT_CURRENCY).toBe('EUR');
  });

  it('wants ADMIN_EMAIL and ADMIN_PASSWORD together', () => {
    expect(problemsOf({ ADMIN_EMAIL: 'admin@example.com' })).toEqual([
      'ADMIN_EMAIL and ADMIN_PASSWORD must be set together',
    ]);
  });
});
