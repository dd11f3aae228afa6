import { Clock } from '@app/core';

/** A Clock that stands still until the test moves it, so a rule's time passes without waiting. */
export class FakeClock extends Clock {
  /** `at`: where the clock starts, epoch ms. */
  constructor(private at: number) {
    super();
  }

  now(): Date {
    return new Date(this.at);
  }

  /** Moves now by `ms` milliseconds: forward, or back when `ms` is negative (a token not yet valid). */
  advance(ms: number): void {
    this.at += ms;
  }
}
