import { Injectable } from '@nestjs/common';
import { Clock } from '@app/core';
import { RefreshTokensRepository } from '@app/database';
import { PruneLoop } from './prune.loop';

/** How long after its expiry a refresh token's row is kept (ms): a day, clocks apart included. */
export const EXPIRED_REFRESH_TOKEN_KEPT_MS = 24 * 3600_000;

/**
 * Deletes the rows of refresh tokens that expired more than a day ago ({@link PruneLoop}: 1,000 a
 * statement, at start then hourly). Every login and every refresh (each rotates the token) adds a
 * row to `refresh_tokens`, so without this the table grows for ever; an expired token is refused
 * by its signed `exp` before its row is read, so the row serves nothing.
 */
@Injectable()
export class RefreshTokenPruneLoop extends PruneLoop {
  constructor(refreshTokens: RefreshTokensRepository, clock: Clock) {
    super(
      {
        rows: 'refresh token(s) expired',
        keptMs: EXPIRED_REFRESH_TOKEN_KEPT_MS,
        deleteBefore: (before, limit) => refreshTokens.deleteExpired(before, limit),
      },
      clock,
    );
  }
}
