import { Injectable } from '@nestjs/common';
import { Observable, ReplaySubject } from 'rxjs';
import { Env } from '@app/config';
import { DomainError } from '@app/core';

/**
 * An account past WAITING_ROOM_STREAMS_PER_USER open event streams on this api process: 429 with
 * Retry-After (the poll interval: by then a stream it closed frees its place) and
 * `details.code` `TooManyQueueStreams`.
 */
export class TooManyQueueStreamsError extends DomainError {
  constructor(limit: number, retryAfterSeconds: number) {
    super(
      'too_many',
      'TooManyQueueStreams',
      `at most ${limit} waiting-room event streams of one account are open at once; close one, or poll GET /api/v1/queue/:ticketId`,
      { code: 'TooManyQueueStreams', limit },
      retryAfterSeconds,
    );
  }
}

/**
 * The waiting-room event streams open on this api process, counted per account: each holds a
 * connection and a timer, so one account may not open hundreds. Per process, not across replicas
 * (an account behind a load balancer may have up to the limit on each api), with no round trip.
 */
@Injectable()
export class QueueStreams {
  /** Open streams by account id; an account with none has no entry. */
  private readonly open = new Map<string, number>();

  private readonly limit: number;

  /** Emits once this process stops taking requests; replayed to a stream opened after. */
  private readonly stopping = new ReplaySubject<void>(1);

  constructor(env: Env) {
    this.limit = env.WAITING_ROOM_STREAMS_PER_USER;
  }

  /**
   * Emits when this process drains its connections on SIGTERM (`endAll`), at once for a stream
   * opened after: each stream ends there, as a stream of a finished ticket does, and the client's
   * EventSource reconnects, through Nginx to another replica. A stream left open would hold its
   * connection, and the shutdown, until SHUTDOWN_GRACE_MS killed the process.
   */
  get ending(): Observable<void> {
    return this.stopping;
  }

  /** Ends every stream open on this process, and any opened after (see `ending`). */
  endAll(): void {
    this.stopping.next();
  }

  /**
   * Takes one of account `userId`'s stream places and answers the function that gives it back
   * (idempotent: call it when the stream ends, however it ends). Throws TooManyQueueStreamsError
   * (429, Retry-After `retryAfterSeconds`) when the account has WAITING_ROOM_STREAMS_PER_USER open.
   */
  take(userId: string, retryAfterSeconds: number): () => void {
    const count = this.open.get(userId) ?? 0;
    if (count >= this.limit) throw new TooManyQueueStreamsError(this.limit, retryAfterSeconds);
    this.open.set(userId, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(userId) ?? 1) - 1;
      if (left > 0) this.open.set(userId, left);
      else this.open.delete(userId);
    };
  }

  /** How many streams account `userId` has open on this process. */
  openOf(userId: string): number {
    return this.open.get(userId) ?? 0;
  }
}
