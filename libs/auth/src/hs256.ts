import { createHmac, KeyObject, timingSafeEqual } from 'node:crypto';

/** Three base64url parts, the signature possibly empty: what jsonwebtoken (jws) takes for a JWS. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Verifies a compact JWT signed with HMAC-SHA256 and returns its claims, or `null` for any token
 * that jsonwebtoken's `verify(token, key, { algorithms: ['HS256'], clockTimestamp: nowSeconds })`
 * refuses: not three base64url parts, a header that is not JSON or names another algorithm
 * (`none` included), a wrong signature (compared in constant time), claims that are not a JSON
 * object, a non-numeric `nbf` or `exp`, `nbf` in the future, `exp` at or before `nowSeconds`.
 * It accepts no token jsonwebtoken refuses (the spec compares them). Called on every
 * authenticated request: one HMAC and two `JSON.parse`, without jsonwebtoken's layers.
 */
export function verifyHs256(token: string, key: KeyObject, nowSeconds: number): Record<string, unknown> | null {
  if (!COMPACT_JWS.test(token)) return null;
  const firstDot = token.indexOf('.');
  const lastDot = token.lastIndexOf('.');
  const header = parseObject(token.slice(0, firstDot));
  if (header?.alg !== 'HS256') return null;
  const given = Buffer.from(token.slice(lastDot + 1));
  const expected = Buffer.from(createHmac('sha256', key).update(token.slice(0, lastDot)).digest('base64url'));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const claims = parseObject(token.slice(firstDot + 1, lastDot));
  if (!claims) return null;
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > nowSeconds)) return null;
  if (claims.exp !== undefined && (typeof claims.exp !== 'number' || nowSeconds >= claims.exp)) return null;
  return claims;
}

function parseObject(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
