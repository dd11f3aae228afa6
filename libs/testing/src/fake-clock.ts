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

  /** Moves now forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.at += ms;
  }
}
