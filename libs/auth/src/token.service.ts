import { createHash, createSecretKey, KeyObject, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { Env } from '@app/config';
import { Role } from '@app/database';
import { InvalidTokenError, SessionEndedError } from './auth.errors';
import { Clock, isUuid } from '@app/core';
import { verifyHs256 } from './hs256';
import { AuthenticatedUser } from './decorators';

export const ACCESS_TOKEN_TTL_SECONDS = 600;
export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

const ROLES: ReadonlySet<unknown> = new Set(Object.values(Role));

/** HS256 only: a token naming any other algorithm (`none` included) is refused. */
const ALGORITHM = 'HS256';

interface AccessClaims {
  sub: string;
  email: string;
  role: Role;
  typ: 'access';
  /**
   * When it was minted, epoch microseconds, PostgreSQL's clock for a login's or a refresh's token:
   * compared with the time the account's sessions last ended (`iat` has whole seconds only, and a
   * login right after a password reset, in the same second, must work).
   */
  iat_us: number;
}

/** An access token's claims as verified: `iat_us` is missing from tokens minted before it was added. */
type VerifiedClaims = Omit<AccessClaims, 'iat_us'> & { iat_us?: number; iat: number; exp: number; nbf?: number };

/**
 * How long (ms) a process remembers that an account's sessions ended: an access token minted
 * before that has expired by then (its lifetime), with a minute to spare for clocks apart.
 */
export const ENDED_SESSIONS_MEMORY_MS = (ACCESS_TOKEN_TTL_SECONDS + 60) * 1000;

export interface RefreshClaims {
  sub: string;
  /** The token family: every token rotated from one login. */
  fam: string;
  jti: string;
  typ: 'refresh';
}

/** Verified access tokens kept per process; beyond this many, the oldest go first. */
const VERIFIED_ACCESS_TOKENS = 20_000;

interface VerifiedAccess {
  /** The whole token verified: a lookup by its signature counts only for this exact text. */
  token: string;
  user: Readonly<AuthenticatedUser>;
  /** Epoch seconds: the token is valid while `notBefore <= now < expires`. */
  notBefore: number;
  expires: number;
  /** Epoch microseconds: when it was minted (`iat_us`, or the start of its `iat` second). */
  issuedUs: number;
}

interface EndedSessions {
  /** Epoch microseconds (PostgreSQL's clock): tokens minted earlier are refused. */
  atUs: number;
  /** Epoch ms (this process's clock): past it the entry may go (ENDED_SESSIONS_MEMORY_MS). */
  keepUntilMs: number;
}

export interface IssuedRefreshToken {
  token: string;
  id: string;
  hash: string;
  expiresAt: Date;
}

/** Signs and verifies the two kinds of token, each with its own key and a `typ` claim. */
@Injectable()
export class TokenService {
  /**
   * The secrets as key objects, made once: given a string, jsonwebtoken first tries to read it
   * as a PEM key and fails, on every call, which costs about half a millisecond of CPU on each
   * authenticated request.
   */
  private readonly accessKey: KeyObject;
  private readonly refreshKey: KeyObject;
  /**
   * Access tokens already verified, by their signature part, each entry answering only for the
   * exact text it verified (compared on every hit): a buyer sends the same token with every
   * request for ten minutes, and the answer for a given text only changes with the time, which is
   * checked on every hit (`nbf`, `exp`), and when its account's sessions end (`endedSessions`, also
   * checked on every hit). Keyed by the 43-character signature rather than the
   * ~300-character token, the Map hashes a seventh of the text a request (−0.27 µs a request,
   * docs/performance.md); the comparison keeps a token whose header or claims differ from the
   * verified one, with the same signature, out of the cache's answer (it is verified in full, and
   * fails). Only tokens that passed every check are kept; a Map in insertion order, the oldest
   * dropped past VERIFIED_ACCESS_TOKENS (~10 MB at most).
   */
  private readonly verifiedAccess = new Map<string, VerifiedAccess>();
  /**
   * Accounts whose sessions ended within ENDED_SESSIONS_MEMORY_MS, by id, oldest news first (an
   * entry told again moves to the end), so pruning stops at the first entry still kept; told by
   * SessionRevocations (this process's own endings, and every api's through Redis). Usually empty:
   * a request costs one lookup in it, no round trip.
   */
  private readonly endedSessions = new Map<string, EndedSessions>();

  constructor(
    private readonly jwt: JwtService,
    private readonly env: Env,
    private readonly clock: Clock,
  ) {
    this.accessKey = createSecretKey(Buffer.from(env.JWT_ACCESS_SECRET!));
    this.refreshKey = createSecretKey(Buffer.from(env.JWT_REFRESH_SECRET!));
  }

  /**
   * An access token for `user`, minted at `issuedAtUs` (epoch microseconds; PostgreSQL's clock as
   * `UsersRepository.findForSession` read it holding the account's row, this process's clock when
   * not given).
   */
  signAccess(user: AuthenticatedUser, issuedAtUs = this.clock.nowMs() * 1000): Promise<string> {
    const claims: AccessClaims = {
      sub: user.id,
      email: user.email,
      role: user.role,
      typ: 'access',
      iat_us: issuedAtUs,
    };
    return this.jwt.signAsync(
      { ...claims, iat: this.nowSeconds() },
      { secret: asSecret(this.accessKey), algorithm: ALGORITHM, expiresIn: ACCESS_TOKEN_TTL_SECONDS },
    );
  }

  /**
   * Verifies an access token without touching the database (a token verified before is looked up,
   * its time window checked again); `InvalidTokenError` (401) when it fails.
   */
  async verifyAccess(token: string): Promise<AuthenticatedUser> {
    return this.verifyAccessNow(token);
  }

  /**
   * {@link verifyAccess} without a promise, for the global guard: Nest awaits nothing for a guard
   * that answers synchronously (each promise of a request also pays AsyncLocalStorage's hook).
   * Throws `InvalidTokenError` (401) when the token fails, `SessionEndedError` (401) when it was
   * minted before its account's sessions ended (a password reset, a role change): a verified
   * token's cached answer too.
   */
  verifyAccessNow(token: string): AuthenticatedUser {
    const now = this.nowSeconds();
    const signature = token.slice(token.lastIndexOf('.') + 1);
    const known = this.verifiedAccess.get(signature);
    if (known !== undefined && known.token === token && known.notBefore <= now && now < known.expires) {
      if (this.endedSessions.size !== 0) this.refuseEndedSession(known.user.id, known.issuedUs);
      return known.user;
    }
    const claims = this.verify<VerifiedClaims>(token, this.accessKey, now);
    const wellFormed =
      claims.typ === 'access' &&
      isUuid(claims.sub) &&
      typeof claims.email === 'string' &&
      ROLES.has(claims.role) &&
      (claims.iat_us === undefined || Number.isSafeInteger(claims.iat_us));
    if (!wellFormed) throw new InvalidTokenError();
    // A token minted before iat_us existed counts from the start of its second: refused, rather
    // than let through, when it shares the second of its account's sessions' end.
    const issuedUs = claims.iat_us ?? claims.iat * 1_000_000;
    if (this.endedSessions.size !== 0) this.refuseEndedSession(claims.sub, issuedUs);
    const user = Object.freeze({ id: claims.sub, email: claims.email, role: claims.role });
    if (this.verifiedAccess.size >= VERIFIED_ACCESS_TOKENS) {
      this.verifiedAccess.delete(this.verifiedAccess.keys().next().value!);
    }
    const notBefore = typeof claims.nbf === 'number' ? claims.nbf : -Infinity;
    this.verifiedAccess.set(signature, { token, user, notBefore, expires: claims.exp, issuedUs });
    return user;
  }

  /**
   * Records that every session of account `userId` ended at `atUs` (epoch microseconds,
   * PostgreSQL's clock): from now on this process refuses the account's access tokens minted
   * earlier, for ENDED_SESSIONS_MEMORY_MS (by then they have expired). An earlier time than the one
   * known changes nothing but the entry's keeping. Entries past their keeping are dropped here, so
   * the memory holds only the last ENDED_SESSIONS_MEMORY_MS's accounts.
   */
  endSessions(userId: string, atUs: number): void {
    const nowMs = this.clock.nowMs();
    const known = this.endedSessions.get(userId);
    this.endedSessions.delete(userId);
    this.endedSessions.set(userId, {
      atUs: Math.max(atUs, known?.atUs ?? -Infinity),
      keepUntilMs: nowMs + ENDED_SESSIONS_MEMORY_MS,
    });
    for (const [id, ended] of this.endedSessions) {
      if (ended.keepUntilMs > nowMs) break;
      this.endedSessions.delete(id);
    }
  }

  /** Throws SessionEndedError when account `userId`'s sessions ended after `issuedUs`. */
  private refuseEndedSession(userId: string, issuedUs: number): void {
    const ended = this.endedSessions.get(userId);
    if (ended !== undefined && issuedUs < ended.atUs) throw new SessionEndedError();
  }

  async signRefresh(userId: string, familyId: string): Promise<IssuedRefreshToken> {
    const id = randomUUID();
    const claims: RefreshClaims = { sub: userId, fam: familyId, jti: id, typ: 'refresh' };
    const token = await this.jwt.signAsync(
      { ...claims, iat: this.nowSeconds() },
      { secret: asSecret(this.refreshKey), algorithm: ALGORITHM, expiresIn: REFRESH_TOKEN_TTL_SECONDS },
    );
    const expiresAt = new Date(this.clock.now().getTime() + REFRESH_TOKEN_TTL_SECONDS * 1000);
    return { token, id, hash: hashToken(token), expiresAt };
  }

  /** Verifies a refresh token's signature, expiry and claims (not whether it was rotated: the database knows). */
  async verifyRefresh(token: string): Promise<RefreshClaims> {
    const claims = this.verify<RefreshClaims>(token, this.refreshKey);
    const wellFormed = claims.typ === 'refresh' && isUuid(claims.sub) && isUuid(claims.fam) && isUuid(claims.jti);
    if (!wellFormed) throw new InvalidTokenError();
    return claims;
  }

  /**
   * Signature, algorithm (HS256 only) and expiry, checked with one HMAC (see `verifyHs256`); a
   * token without a numeric `exp` and `iat` (one we did not make, signed with a leaked key) is
   * refused too, since jsonwebtoken would accept it forever.
   */
  private verify<T extends object>(token: string, key: KeyObject, nowSeconds = this.nowSeconds()): T {
    const claims = verifyHs256(token, key, nowSeconds);
    if (!claims || !Number.isSafeInteger(claims.exp) || !Number.isSafeInteger(claims.iat))
      throw new InvalidTokenError();
    return claims as T;
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }
}

/** @nestjs/jwt hands `secret` to jsonwebtoken, which takes a KeyObject; its types say Buffer. */
function asSecret(key: KeyObject): Buffer {
  return key as unknown as Buffer;
}

/** What the database keeps of a refresh token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
