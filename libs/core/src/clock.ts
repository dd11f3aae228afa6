import { Injectable } from '@nestjs/common';

/**
 * The time port: code asks it for "now" so tests can move time instead of waiting. Provided once
 * for every process by the global {@link CoreModule}.
 */
export abstract class Clock {
  abstract now(): Date;

  /**
   * Now as epoch milliseconds, for the hot paths that only compare instants: {@link SystemClock}
   * answers it without allocating a Date. A fake that overrides only now() gets this one from it.
   */
  nowMs(): number {
    return this.now().getTime();
  }
}

/** The machine's clock. Its nowMs() reads Date.now() itself: a spy on now() alone does not move it. */
@Injectable()
export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }

  nowMs(): number {
    return Date.now();
  }
}
