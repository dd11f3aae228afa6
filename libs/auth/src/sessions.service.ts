import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import {
  AuthEventsRepository,
  AuthEventType,
  RefreshTokensRepository,
  TransactionRunner,
  UserEntity,
  UsersRepository,
} from '@app/database';
import { normalizeEmail } from './accounts.service';
import { InvalidCredentialsError, InvalidTokenError } from './auth.errors';
import { Clock } from '@app/core';
import { PasswordHasher } from './password-hasher';
import {
  ACCESS_TOKEN_TTL_SECONDS,
  hashToken,
  REFRESH_TOKEN_TTL_SECONDS,
  RefreshClaims,
  TokenService,
} from './token.service';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshExpiresIn: number;
}

type RefreshOutcome = { rotated: TokenPair } | { refused: 'unknown' | 'reused' | 'revoked' | 'expired' };

/** Login, refresh-token rotation with reuse detection, and logout. */
@Injectable()
export class SessionsService {
  constructor(
    private readonly users: UsersRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly events: AuthEventsRepository,
    private readonly transactions: TransactionRunner,
    private readonly hasher: PasswordHasher,
    private readonly tokens: TokenService,
    private readonly clock: Clock,
  ) {}

  /**
   * Starts a new token family. An unknown e-mail costs one argon2 verify too, like a wrong password.
   * The token is minted holding the account's row FOR SHARE, with the password read again there: a
   * password reset committed during the verify refuses the login (401) instead of leaving it a
   * session the reset's revocation never saw; the tokens carry the role as it is then.
   */
  async login(email: string, password: string): Promise<TokenPair> {
    const user = await this.users.findByEmail(normalizeEmail(email));
    const matches = await this.hasher.verify(user?.passwordHash ?? null, password);
    if (!user || !matches || user.deletedAt) throw new InvalidCredentialsError();
    const pair = await this.transactions.run(async (manager) => {
      await this.users.lockForShare(user.id, manager);
      const current = await this.users.findForSession(user.id, manager);
      if (!current || current.user.deletedAt || current.user.passwordHash !== user.passwordHash) return null;
      return this.issuePair(current.user, current.nowUs, randomUUID(), manager);
    });
    if (!pair) throw new InvalidCredentialsError();
    return pair.tokens;
  }

  /**
   * Trades a refresh token for a new pair; the old token stops working. Presenting a token that
   * was already rotated means someone else holds a copy: the whole family is revoked, and that
   * revocation is committed even though the caller gets a 401. Refreshes, revocations and logouts
   * of one family take turns on a lock of the family, so a revocation misses no token; and a
   * refresh takes turns with the changes of the account's row that end all of its sessions.
   */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const claims = await this.tokens.verifyRefresh(refreshToken);
    const now = this.clock.now();
    const outcome = await this.transactions.run(async (manager): Promise<RefreshOutcome> => {
      // The account's row first (FOR SHARE): a password reset, a staff grant or revoke updates
      // that row before it revokes the account's refresh tokens, so it waits for this refresh to
      // commit (its revocation then sees the token minted here), or this refresh waits for it (and
      // then finds its token revoked). Same order in both: no deadlock.
      await this.users.lockForShare(claims.sub, manager);
      // The family next (its id is in the signed claims): a reuse racing the owner's refresh
      // would otherwise revoke the family without the token that refresh is minting.
      await this.refreshTokens.lockFamily(claims.fam, manager);
      const stored = await this.refreshTokens.findByHashForUpdate(hashToken(refreshToken), manager);
      if (!stored || stored.userId !== claims.sub || stored.familyId !== claims.fam) return { refused: 'unknown' };
      if (stored.replacedById) {
        await this.refreshTokens.revokeFamily(stored.familyId, now, manager);
        await this.events.record(stored.userId, AuthEventType.RefreshTokenReused, manager);
        return { refused: 'reused' };
      }
      if (stored.revokedAt) return { refused: 'revoked' };
      if (stored.expiresAt <= now) return { refused: 'expired' };
      // Inside the transaction's own connection: a second connection taken while this one is
      // held deadlocks the pool under a burst of refreshes.
      const current = await this.users.findForSession(stored.userId, manager);
      if (!current || current.user.deletedAt) return { refused: 'unknown' };
      const pair = await this.issuePair(current.user, current.nowUs, stored.familyId, manager);
      await this.refreshTokens.markRotated(stored.id, pair.refreshTokenId, now, manager);
      return { rotated: pair.tokens };
    });
    if ('refused' in outcome) throw new InvalidTokenError(`refresh token is ${outcome.refused}`);
    return outcome.rotated;
  }

  /**
   * Ends the session the refresh token belongs to, as OAuth 2.0 token revocation (RFC 7009) does:
   * the refresh token is the credential, so whoever holds it may end its session (whoever holds it
   * may as well refresh with it and act as its account), with no access token. Its whole family is
   * revoked: a token of the session that was already rotated (the client refreshed in the
   * background, or a copy was used) still ends it, whatever tokens the rotations minted. Resolves
   * alike, changing nothing, for a token that is not a refresh token signed here, expired, unknown,
   * or whose session has ended already: there is nothing left to end, and the answer tells nothing
   * about the token. Throws only what the database throws.
   */
  async logout(refreshToken: string): Promise<void> {
    let claims: RefreshClaims;
    try {
      claims = await this.tokens.verifyRefresh(refreshToken);
    } catch (error) {
      if (error instanceof InvalidTokenError) return;
      throw error;
    }
    await this.transactions.run(async (manager) => {
      // The family's turn, as a refresh takes it: a rotation racing this logout either commits
      // first (its new token is then revoked here) or finds its token revoked.
      await this.refreshTokens.lockFamily(claims.fam, manager);
      const stored = await this.refreshTokens.findByHashForUpdate(hashToken(refreshToken), manager);
      if (stored?.userId !== claims.sub || stored.familyId !== claims.fam) return;
      await this.refreshTokens.revokeFamily(stored.familyId, this.clock.now(), manager);
    });
  }

  /**
   * A new pair for `user`, its access token minted at `issuedAtUs` (PostgreSQL's clock read holding
   * the account's row FOR SHARE: later than any end of its sessions committed before, see
   * SessionRevocations), its refresh token stored in `familyId`.
   */
  private async issuePair(
    user: UserEntity,
    issuedAtUs: number,
    familyId: string,
    manager?: EntityManager,
  ): Promise<{ tokens: TokenPair; refreshTokenId: string }> {
    const accessToken = await this.tokens.signAccess({ id: user.id, email: user.email, role: user.role }, issuedAtUs);
    const refresh = await this.tokens.signRefresh(user.id, familyId);
    await this.refreshTokens.insert(
      { id: refresh.id, userId: user.id, familyId, tokenHash: refresh.hash, expiresAt: refresh.expiresAt },
      manager,
    );
    return {
      tokens: {
        accessToken,
        refreshToken: refresh.token,
        tokenType: 'Bearer',
        expiresIn: ACCESS_TOKEN_TTL_SECONDS,
        refreshExpiresIn: REFRESH_TOKEN_TTL_SECONDS,
      },
      refreshTokenId: refresh.id,
    };
  }
}
