import { Injectable, Logger } from '@nestjs/common';
import { Clock, describeFailure, PollingLoop, RepeatedFailureLog } from '@app/core';
import { RefreshTokensRepository } from '@app/database';

/** How long after its expiry a refresh token's row is kept (ms): a day, clocks apart included. */
export const EXPIRED_REFRESH_TOKEN_KEPT_MS = 24 * 3600_000;
/** Rows deleted per statement: short statements, each holding few row locks. */
const PRUNE_BATCH = 1_000;
/** The pause between passes (ms) once a pass found nothing more to delete. */
const PRUNE_PAUSE_MS = 3600_000;

/**
 * Deletes the rows of refresh tokens that expired more than a day ago, a batch of 1,000 at a time,
 * the next batch at once while batches come back full, then again an hour later. Every login and
 * every refresh (each rotates the token) adds a row to `refresh_tokens`, so without this the table
 * grows for ever; an expired token is refused by its signed `exp` before its row is read, so the
 * row serves nothing. Any number of batch processes may run it (rows another one is deleting are
 * skipped). Stopping waits for the statement in progress.
 */
@Injectable()
export class RefreshTokenPruneLoop extends PollingLoop {
  private readonly logger = new Logger(RefreshTokenPruneLoop.name);
  // While PostgreSQL is down every try fails the same way; say it once (then every 30 s, with a count).
  private readonly failures = new RepeatedFailureLog((message) =>
    this.logger.warn(`pruning expired refresh tokens failed: ${message}`),
  );

  constructor(
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly clock: Clock,
  ) {
    super();
  }

  /** `pauseMs`: milliseconds between passes once one found nothing more to delete (an hour). */
  start(pauseMs = PRUNE_PAUSE_MS): void {
    this.startLoop(pauseMs);
  }

  /** One batch; true (run again at once) when it was full. */
  protected async step(): Promise<boolean> {
    try {
      const before = new Date(this.clock.now().getTime() - EXPIRED_REFRESH_TOKEN_KEPT_MS);
      const deleted = await this.refreshTokens.deleteExpired(before, PRUNE_BATCH);
      this.failures.succeeded();
      if (deleted > 0) this.logger.log(`deleted ${deleted} refresh token(s) expired before ${before.toISOString()}`);
      return deleted === PRUNE_BATCH;
    } catch (error) {
      this.failures.failed(describeFailure(error));
      return false;
    }
  }
}
