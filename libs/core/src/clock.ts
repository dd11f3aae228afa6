import { Injectable } from '@nestjs/common';

/** The time port: code asks it for "now" so tests can move time instead of waiting. */
export abstract class Clock {
  abstract now(): Date;
}

@Injectable()
export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}
