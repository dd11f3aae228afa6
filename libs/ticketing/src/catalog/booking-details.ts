import { Injectable, Logger } from '@nestjs/common';
import { PresalesRepository } from '@app/database';
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
  /**
   * The presale whose access code let the booking's hold in before the on-sale (its `presaleId`),
   * with the presale's name; null for a booking made without one.
   */
  presale: PresaleMark | null;
}

/**
 * A presale as a booking names it: its id (decimal digits) and name. The name of a presale deleted
 * since (its sales stay its own) is the one its deletion's audit row kept; null only when neither
 * PostgreSQL's presales nor that row has it, or PostgreSQL did not answer (BookingDescriber).
 */
export interface PresaleMark {
  id: string;
  name: string | null;
}

/** A hold or a purchase: seats of one performance. */
export interface Booking {
  performanceId: number;
  seatIds: number[];
  /** Each seat's price as booked (minor units), in the order of `seatIds`; absent on older bookings. */
  seatPrices?: number[];
  /** The presale whose access code let its hold in (decimal digits); absent for none. */
  presaleId?: string;
}

export type Described<T extends Booking> = T & { details: BookingDetails };

/**
 * Adds to holds and purchases what a person reads (event title, venue, time zone, start, seats),
 * from this process's catalog copies: the catalog version is read from Redis alongside the work
 * that finds the bookings (one command sent with it, no extra round trip on the way; one for all
 * the requests of an event-loop turn, see `perTurn`), the
 * performance comes from the in-process copies of that version (LocalCatalog), the seats from the
 * in-process SeatDirectory. PostgreSQL and the Redis cache are read only on a process's first use
 * of a performance or after an admin write. A presale booking's presale name comes from the
 * performance's copy (its presales, loaded from PostgreSQL with it); only a presale the copy does not
 * list (deleted since, or a copy cached before copies listed presales) is looked up in PostgreSQL
 * (PresalesRepository.namesOf), once for a whole list.
 */
@Injectable()
export class BookingDescriber {
  private readonly logger = new Logger(BookingDescriber.name);
  /** The catalog version, one `GET` per event-loop turn whatever the number of bookings described in it. */
  private readonly currentVersion: () => Promise<string>;

  constructor(
    private readonly copies: CatalogCopies,
    private readonly directory: SeatDirectory,
    private readonly presales: PresalesRepository,
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
      return (
        this.keptDetails(booking) ??
        this.detailed(version, booking).then((described) =>
          Promise.resolve(this.named([described])).then(([named]) => named),
        )
      );
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
    return this.named(described.flat());
  }

  /**
   * `described` with the names of presales their copies did not list (`name` left null by
   * withDetails), read from PostgreSQL in one query; the same array when none lacks one. When
   * PostgreSQL fails to answer, the names stay null (logged): a purchase just made (the 201 of a
   * presale deleted during its hold) is answered rather than failed for its presale's name.
   */
  private named<T extends Booking>(described: Described<T>[]): Described<T>[] | Promise<Described<T>[]> {
    const unnamed = described.filter(({ details }) => details.presale !== null && details.presale.name === null);
    if (unnamed.length === 0) return described;
    const asked = unnamed.map(({ performanceId, details }) => ({ performanceId, presaleId: details.presale!.id }));
    return this.presales.namesOf(asked).then(
      (names) => {
        for (const { details } of unnamed) {
          const { id } = details.presale!;
          details.presale = { id, name: names.get(id) ?? null };
        }
        return described;
      },
      (error: unknown) => {
        this.logger.warn(`presale names not read, answered without them: ${(error as Error).message}`);
        return described;
      },
    );
  }

  private async detailed<T extends Booking>(version: string, booking: T): Promise<Described<T>> {
    const performance = await this.copies.performance(version, booking.performanceId);
    return withDetails(booking, performance, await this.directory.seats(performance, booking.seatIds));
  }

  /**
   * {@link detailed} from what this process holds already; undefined when it lacks the performance or
   * its seats, or the copy does not name the booking's presale (then read as `describe` reads it).
   */
  private keptDetails<T extends Booking>(booking: T): Described<T> | undefined {
    const performance = this.copies.keptPerformance(booking.performanceId);
    const seats = performance && this.directory.keptSeats(performance, booking.seatIds);
    const described = seats && withDetails(booking, performance, seats);
    return described && (described.details.presale === null || described.details.presale.name !== null)
      ? described
      : undefined;
  }
}

/**
 * The booking's presale as its performance's copy names it; `name` null when the copy does not list
 * it (a presale deleted since, or a copy without presales): BookingDescriber asks PostgreSQL then.
 */
function presaleOf(booking: Booking, performance: Performance): PresaleMark | null {
  const id = booking.presaleId;
  if (id === undefined) return null;
  return { id, name: performance.presales?.find((presale) => presale.id === id)?.name ?? null };
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
      presale: presaleOf(booking, performance),
    },
  };
}
