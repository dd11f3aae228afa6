import { Inject, Injectable } from '@nestjs/common';
import { Env, retentionMs } from '@app/config';
import { Clock } from '@app/core';
import { AuthEventsRepository } from '@app/database';
import { PruneLoop } from './prune.loop';

/**
 * Deletes account events (`auth_events`) recorded more than AUTH_EVENT_RETENTION_DAYS ago
 * ({@link PruneLoop}: 1,000 a statement, at start then hourly; `forever`: none). Each names an
 * account and what it did when, and every signup, reset, change, token mailed, resend and print
 * adds one; nothing reads one that old (AuthEventsRepository.deleteRecordedBefore says why).
 */
@Injectable()
export class AuthEventPruneLoop extends PruneLoop {
  constructor(events: AuthEventsRepository, clock: Clock, @Inject(Env) env: Env) {
    super(
      {
        rows: 'auth event(s) recorded',
        keptMs: retentionMs(env.AUTH_EVENT_RETENTION_DAYS),
        deleteBefore: (before, limit) => events.deleteRecordedBefore(before, limit),
      },
      clock,
    );
  }
}
