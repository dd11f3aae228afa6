import { Logger } from '@nestjs/common';
import { Clock, describeFailure, PollingLoop, RepeatedFailureLog } from '@app/core';

/** Rows deleted per statement: short statements, each holding few row locks. */
export const PRUNE_BATCH = 1_000;
/** The pause between passes (ms) once a pass found nothing more to delete: an hour. */
export const PRUNE_PAUSE_MS = 3600_000;

/** What a {@link PruneLoop} deletes, and after how long. */
export interface PruneTarget {
  /** The rows as the log names them, e.g. `auth event(s) recorded`. */
  rows: string;
  /** How long (ms) a row is kept past its time; null: kept for ever (the loop never starts). */
  keptMs: number | null;
  /**
   * Deletes at most `limit` rows whose time is before `before` and that nothing can need any more,
   * skipping rows another statement has locked (FOR UPDATE SKIP LOCKED); answers how many it deleted.
   */
  deleteBefore(before: Date, limit: number): Promise<number>;
}

/**
 * Deletes a table's rows once older than their retention, a batch of {@link PRUNE_BATCH} at a time:
 * the next batch at once while batches come back full, then again an hour later; from the start of
 * `batch`. Any number of batch processes may run it (rows another one is deleting are skipped, and
 * a row a request holds is left for a later pass, never waited for). A failure (PostgreSQL away)
 * is logged once, then every 30 s with a count, and the pass tried again an hour later. Stopping
 * waits for the statement in progress. Subclasses name the target; what may go is theirs to say.
 */
export abstract class PruneLoop extends PollingLoop {
  private readonly logger: Logger;
  // While PostgreSQL is down every try fails the same way; say it once (then every 30 s, with a count).
  private readonly failures: RepeatedFailureLog;

  constructor(
    private readonly target: PruneTarget,
    private readonly clock: Clock,
  ) {
    super();
    this.logger = new Logger(new.target.name);
    this.failures = new RepeatedFailureLog((message) => this.logger.warn(`pruning ${target.rows} failed: ${message}`));
  }

  /**
   * Starts pruning; nothing when the rows are kept for ever. `pauseMs`: milliseconds between
   * passes once one found nothing more to delete (an hour).
   */
  start(pauseMs = PRUNE_PAUSE_MS): void {
    if (this.target.keptMs === null) {
      this.logger.log(`${this.target.rows} are kept for ever: none pruned`);
      return;
    }
    this.startLoop(pauseMs);
  }

  /** One batch; true (run again at once) when it was full. */
  protected async step(): Promise<boolean> {
    try {
      const before = new Date(this.clock.now().getTime() - (this.target.keptMs ?? 0));
      const deleted = await this.target.deleteBefore(before, PRUNE_BATCH);
      this.failures.succeeded();
      if (deleted > 0) this.logger.log(`deleted ${deleted} ${this.target.rows} before ${before.toISOString()}`);
      return deleted === PRUNE_BATCH;
    } catch (error) {
      this.failures.failed(describeFailure(error));
      return false;
    }
  }
}
