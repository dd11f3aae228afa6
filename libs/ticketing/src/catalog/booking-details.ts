import { Injectable } from '@nestjs/common';
import { perTurn } from '@app/redis';
import { NotFoundError } from '../errors';
import { CatalogCopies } from './catalog-copies';
import type { Performance, SeatListing } from './catalog.types';
import { SeatDirectory } from './seat-directory';

/** What a person reads of a hold or a purchase besides its ids. */
export interface BookingDetails {
  eventTitle: string;
  venue: string;
  /** IANA name of the venue's time zone. */
  timeZone: string;
  /** When the performance starts (an instant; shown on the venue's wall clock by the caller). */
  startsAt: Date;
  /**
   * The booked seats in the booking's order. `price` is what the booking pays for the seat (its
   * `seatPrices`), an integer in minor units of `currency`; for a booking made before bookings
   * recorded their prices, the seat's price in the catalog now.
   */
  seats: SeatListing[];
}

/** A hold or a purchase: seats of one performance. */
export interface Booking {
  performanceId: number;
  seatIds: number[];
  /** Each seat's price as booked (minor units), in the order of `seatIds`; absent on older bookings. */
  seatPrices?: number[];
}

export type Described<T extends Booking> = T & { details: BookingDetails };

/**
 * Adds to holds and purchases what a person reads (event title, venue, time zone, start, seats),
 * from this process's catalog copies: the catalog version is read from Redis alongside the work
 * that finds the bookings (one command sent with it, no extra round trip on the way; one for all
 * the requests of an event-loop turn, see `perTurn`), the
 * performance comes from the in-process copies of that version (LocalCatalog), the seats from the
 * in-process SeatDirectory. PostgreSQL and the Redis cache are read only on a process's first use
 * of a performance or after an admin write.
 */
@Injectable()
export class BookingDescriber {
  /** The catalog version, one `GET` per event-loop turn whatever the number of bookings described in it. */
  private readonly currentVersion: () => Promise<string>;

  constructor(
    private readonly copies: CatalogCopies,
    private readonly directory: SeatDirectory,
  ) {
    this.currentVersion = perTurn(() => this.copies.currentVersion());
  }

  /**
   * `work`'s booking with its details. Throws what `work` throws, NotFoundError('performance').
   * Without `async`/`await`: when this process holds the performance and its seats (every
   * booking but a process's first of a performance), the details are added in the same
   * callback, without the promises (each one paying AsyncLocalStorage's hook) of a load.
   */
  describe<T extends Booking>(work: Promise<T>): Promise<Described<T>> {
    return Promise.all([work, this.currentVersion()]).then(([booking, version]) => {
      this.copies.observe(version);
      return this.keptDetails(booking) ?? this.detailed(version, booking);
    });
  }

  /**
   * `work`'s bookings with their details, in the same order. A booking whose performance is gone
   * (NotFoundError: deleted between the list and its details) is left out rather than failing the
   * list: holds end with their performance, and a performance any purchase refers to cannot be
   * deleted, so only holds ending anyway can be missing. Throws what `work` throws.
   */
  async describeAll<T extends Booking>(work: Promise<T[]>): Promise<Described<T>[]> {
    const [bookings, version] = await Promise.all([work, this.currentVersion()]);
    this.copies.observe(version);
    const described = await Promise.all(
      bookings.map((booking) =>
        this.detailed(version, booking).then(
          (details): Described<T>[] => [details],
          (error: unknown): Described<T>[] => {
            if (error instanceof NotFoundError) return [];
            throw error;
          },
        ),
      ),
    );
    return described.flat();
  }

  private async detailed<T extends Booking>(version: string, booking: T): Promise<Described<T>> {
    const performance = await this.copies.performance(version, booking.performanceId);
    return withDetails(booking, performance, await this.directory.seats(performance, booking.seatIds));
  }

  /** {@link detailed} from what this process holds already; undefined when it lacks the performance or its seats. */
  private keptDetails<T extends Booking>(booking: T): Described<T> | undefined {
    const performance = this.copies.keptPerformance(booking.performanceId);
    const seats = performance && this.directory.keptSeats(performance, booking.seatIds);
    return seats && withDetails(booking, performance, seats);
  }
}

/**
 * The booking with its details; each seat's price is the booking's own (`seatPrices`) when it has
 * them, so a section repriced after the hold shows what the buyer pays, not the new price.
 */
function withDetails<T extends Booking>(booking: T, performance: Performance, seats: SeatListing[]): Described<T> {
  const prices = booking.seatPrices;
  const booked = prices
    ? seats.map((seat) => ({ ...seat, price: prices[booking.seatIds.indexOf(seat.id)] ?? seat.price }))
    : seats;
  return {
    ...booking,
    details: {
      eventTitle: performance.eventTitle,
      venue: performance.venue,
      timeZone: performance.timeZone,
      startsAt: performance.startsAt,
      seats: booked,
    },
  };
}
