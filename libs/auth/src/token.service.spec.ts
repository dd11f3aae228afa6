import { createHash } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { Role } from '@app/database';
import { InvalidTokenError, SessionEndedError } from './auth.errors';
import { FakeClock } from '@app/testing';
import {
  ACCESS_TOKEN_TTL_SECONDS,
  ENDED_SESSIONS_MEMORY_MS,
  hashToken,
  REFRESH_TOKEN_TTL_SECONDS,
  TokenService,
} from './token.service';

const USER = { id: '9b2f6c1e-6a43-4a0e-9d1c-2f4e8b7a1c33', email: 'ada@example.com', role: Role.User };
const env = parseEnv({});
const FAMILY = '3f1c2a9e-0b7d-4c1e-9f53-4a6f3f0c2d11';

describe('TokenService', () => {
  let clock: FakeClock;
  let tokens: TokenService;
  const later = (seconds: number) => new Date(clock.nowMs() + seconds * 1000);

  beforeEach(() => {
    clock = new FakeClock(Date.parse('2026-11-25T12:00:00Z'));
    tokens = new TokenService(new JwtService(), env, clock);
  });

  describe('sessions ended', () => {
    const OTHER = { ...USER, id: '5d0b3c52-1c8e-4f3a-8f0e-6b1a2c3d4e5f' };
    const nowUs = () => clock.nowMs() * 1000;

    it("refuses the account's tokens minted before the end, to the microsecond, cached ones too; not later ones, not other accounts'", async () => {
      const before = await tokens.signAccess(USER, nowUs() + 10);
      const other = await tokens.signAccess(OTHER, nowUs());
      expect(tokens.verifyAccessNow(before)).toEqual(USER); // cached from now on
      tokens.endSessions(USER.id, nowUs() + 11);
      expect(() => tokens.verifyAccessNow(before)).toThrow(SessionEndedError);
      // Minted in the same second, after the end (a login right after a reset).
      const after = await tokens.signAccess(USER, nowUs() + 11);
      expect(tokens.verifyAccessNow(after)).toEqual(USER);
      expect(tokens.verifyAccessNow(other)).toEqual(OTHER);
      // A fresh process (no cache) refuses it as well.
      const fresh = new TokenService(new JwtService(), env, clock);
      fresh.endSessions(USER.id, nowUs() + 11);
      expect(() => fresh.verifyAccessNow(before)).toThrow(SessionEndedError);
      expect(fresh.verifyAccessNow(after)).toEqual(USER);
    });

    it('keeps the latest end of an account when told an earlier one after it', async () => {
      const token = await tokens.signAccess(USER, nowUs() + 5);
      tokens.endSessions(USER.id, nowUs() + 10);
      tokens.endSessions(USER.id, nowUs());
      expect(() => tokens.verifyAccessNow(token)).toThrow(SessionEndedError);
    });

    it('counts a token without iat_us from the start of its second', async () => {
      const seconds = Math.floor(clock.nowMs() / 1000);
      const legacy = new JwtService().sign(
        { sub: USER.id, email: USER.email, role: USER.role, typ: 'access', iat: seconds, exp: seconds + 600 },
        { secret: env.JWT_ACCESS_SECRET },
      );
      tokens.endSessions(USER.id, seconds * 1_000_000 + 1);
      expect(() => tokens.verifyAccessNow(legacy)).toThrow(SessionEndedError);
    });

    it('refuses a token whose iat_us is no integer', async () => {
      const seconds = Math.floor(clock.nowMs() / 1000);
      const odd = new JwtService().sign(
        {
          sub: USER.id,
          email: USER.email,
          role: USER.role,
          typ: 'access',
          iat: seconds,
          exp: seconds + 600,
          iat_us: 'x',
        },
        { secret: env.JWT_ACCESS_SECRET },
      );
      expect(() => tokens.verifyAccessNow(odd)).toThrow(InvalidTokenError);
    });

    it('forgets an end once the tokens it refused have expired, when told of another', async () => {
      const token = await tokens.signAccess(USER, nowUs());
      tokens.endSessions(USER.id, nowUs() + 1);
      const ended = (tokens as unknown as { endedSessions: Map<string, unknown> }).endedSessions;
      clock.advance(ENDED_SESSIONS_MEMORY_MS - 1);
      tokens.endSessions(OTHER.id, nowUs());
      expect([...ended.keys()]).toEqual([USER.id, OTHER.id]);
      clock.advance(1);
      tokens.endSessions(OTHER.id, nowUs());
      expect([...ended.keys()]).toEqual([OTHER.id]);
      // By then the token has expired anyway.
      expect(() => tokens.verifyAccessNow(token)).toThrow(InvalidTokenError);
    });
  });

  it('verifies its access tokens until they are 10 minutes old', async () => {
    const token = await tokens.signAccess(USER);
    expect(await tokens.verifyAccess(token)).toEqual(USER);
    clock.advance((ACCESS_TOKEN_TTL_SECONDS - 1) * 1000);
    expect(await tokens.verifyAccess(token)).toEqual(USER);
    clock.advance(2 * 1000);
    await expect(tokens.verifyAccess(token)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('checks the time window of a token it verified before on every later call, and only that token', async () => {
    const claims = { sub: USER.id, email: USER.email, role: Role.User, typ: 'access' };
    const nowSeconds = Math.floor(clock.nowMs() / 1000);
    const token = new JwtService().sign(
      { ...claims, iat: nowSeconds, nbf: nowSeconds + 5, exp: nowSeconds + 60 },
      { secret: env.JWT_ACCESS_SECRET },
    );
    await expect(tokens.verifyAccess(token)).rejects.toBeInstanceOf(InvalidTokenError);
    clock.advance(5 * 1000);
    expect(await tokens.verifyAccess(token)).toEqual(USER);
    // Known now: still refused before its nbf and from its exp on.
    clock.advance(-1 * 1000);
    await expect(tokens.verifyAccess(token)).rejects.toBeInstanceOf(InvalidTokenError);
    clock.advance(56 * 1000);
    await expect(tokens.verifyAccess(token)).rejects.toBeInstanceOf(InvalidTokenError);
    clock.advance(-1 * 1000);
    expect(await tokens.verifyAccess(token)).toEqual(USER);
    // A token that differs from a known one in one character is checked in full.
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    await expect(tokens.verifyAccess(`${token.slice(0, -1)}${last}`)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('answers from its cache only for the exact token it verified, not for another with the same signature', async () => {
    const token = await tokens.signAccess(USER);
    expect(await tokens.verifyAccess(token)).toEqual(USER);
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, role: Role.Admin })).toString('base64url');
    await expect(tokens.verifyAccess(`${header}.${forged}.${signature}`)).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(tokens.verifyAccess(`${header}x.${payload}.${signature}`)).rejects.toBeInstanceOf(InvalidTokenError);
    // The verified token itself still answers, from the cache.
    expect(await tokens.verifyAccess(token)).toEqual(USER);
  });

  it('verifies refresh tokens until they are 30 days old, with a fresh id each time', async () => {
    const first = await tokens.signRefresh(USER.id, FAMILY);
    const second = await tokens.signRefresh(USER.id, FAMILY);
    expect(first.id).not.toBe(second.id);
    expect(first.expiresAt).toEqual(later(REFRESH_TOKEN_TTL_SECONDS));
    expect(await tokens.verifyRefresh(first.token)).toMatchObject({ sub: USER.id, fam: FAMILY, typ: 'refresh' });
    clock.advance((REFRESH_TOKEN_TTL_SECONDS + 1) * 1000);
    await expect(tokens.verifyRefresh(first.token)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('refuses each kind of token where the other is expected', async () => {
    const access = await tokens.signAccess(USER);
    const refresh = await tokens.signRefresh(USER.id, FAMILY);
    await expect(tokens.verifyRefresh(access)).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(tokens.verifyAccess(refresh.token)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('refuses a token of the right key but the wrong typ claim', async () => {
    const forged = new JwtService().sign({ ...USER, sub: USER.id, typ: 'refresh' }, { secret: env.JWT_ACCESS_SECRET });
    await expect(tokens.verifyAccess(forged)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('refuses alg none and algorithms other than HS256', async () => {
    const claims = { sub: USER.id, email: USER.email, role: Role.Admin, typ: 'access' };
    const unsigned = new JwtService().sign(claims, { algorithm: 'none' });
    await expect(tokens.verifyAccess(unsigned)).rejects.toBeInstanceOf(InvalidTokenError);
    const hs512 = new JwtService().sign(claims, { secret: env.JWT_ACCESS_SECRET, algorithm: 'HS512' });
    await expect(tokens.verifyAccess(hs512)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it.each([
    ['no exp', { sub: USER.id, email: USER.email, role: Role.User, typ: 'access' }, {}],
    ['a sub that is not a uuid', { sub: 'x', email: USER.email, role: Role.User, typ: 'access' }, { expiresIn: 60 }],
    ['an unknown role', { sub: USER.id, email: USER.email, role: 'ROOT', typ: 'access' }, { expiresIn: 60 }],
    ['no e-mail', { sub: USER.id, role: Role.User, typ: 'access' }, { expiresIn: 60 }],
  ])('refuses a validly signed access token with %s', async (_name, claims, options) => {
    const forged = new JwtService().sign(claims, { secret: env.JWT_ACCESS_SECRET, ...options });
    await expect(tokens.verifyAccess(forged)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('refuses a validly signed refresh token with malformed claims', async () => {
    const sign = (claims: object, options: object) =>
      new JwtService().sign(claims, { secret: env.JWT_REFRESH_SECRET, ...options });
    const good = { sub: USER.id, fam: USER.id, jti: USER.id, typ: 'refresh' };
    await expect(tokens.verifyRefresh(sign(good, {}))).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(tokens.verifyRefresh(sign({ ...good, sub: 'x' }, { expiresIn: 60 }))).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
    await expect(tokens.verifyRefresh(sign({ ...good, jti: 7 }, { expiresIn: 60 }))).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
    expect(await tokens.verifyRefresh(sign(good, { expiresIn: 60 }))).toMatchObject(good);
  });

  it('hashes tokens with sha256', () => {
    expect(hashToken('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
  });
});
