import type { PerformanceStatus } from '@app/database';
import type { SeatStatus } from '../seats/seat-status';

/** An event of the catalog. Its HTTP form (ISO strings) is built in apps/api. */
export interface CatalogEvent {
  id: number;
  title: string;
  description: string | null;
  venue: string;
  /** ISO 4217 code of every price and amount of the event. */
  currency: string;
  /** Canonical IANA name of the venue's time zone (`Asia/Seoul`); `UTC` unless set. */
  timeZone: string;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * An event with when it plays: its first and last performance start (null without performances)
 * and how many performances it has.
 */
export interface DatedEvent extends CatalogEvent {
  firstStartsAt: Date | null;
  lastStartsAt: Date | null;
  performanceCount: number;
}

/** A performance of an event, without its seats. */
export interface Performance {
  id: number;
  eventId: number;
  startsAt: Date;
  salesOpenAt: Date;
  /** Sales end here; null = at startsAt. */
  salesCloseAt: Date | null;
  /** Buyers may cancel until here; null = never. */
  cancelUntil: Date | null;
  status: PerformanceStatus;
  totalSeats: number;
  /** ISO 4217 code of its event, which its seat prices are in. */
  currency: string;
  /** Its event's title, venue and the venue's IANA time zone (what holds and purchases show). */
  eventTitle: string;
  venue: string;
  timeZone: string;
  /**
   * Bumped by each change of its seats' static data (a section's price); the cached seat blocks
   * are keyed by it. Absent (= 0) in copies cached before it existed.
   */
  seatsVersion?: number;
  /** Seat-id holds may not leave a single free seat; absent (= false) in copies cached before it existed. */
  noOrphanSeats?: boolean;
  /**
   * Seats one buyer may have bought and hold together; null = no such limit; absent (= null) in
   * copies cached before it existed.
   */
  maxTicketsPerBuyer?: number | null;
  /**
   * Its own check-in window, minutes before and after `startsAt`; null = the global settings;
   * absent (= null) in copies cached before it existed.
   */
  checkInOpensBeforeMinutes?: number | null;
  checkInClosesAfterMinutes?: number | null;
  /**
   * Its presales (PresaleService), in opening order, never their codes; loaded with the copies the
   * reads serve (GET /performances/:id, an event's performances); absent in copies made otherwise
   * (a change's answer) and in copies cached before it existed.
   */
  presales?: PresaleListing[];
}

/** A presale as reads show it: its window, never its code. */
export interface PresaleListing {
  /** Decimal digits. */
  id: string;
  name: string;
  opensAt: Date;
  closesAt: Date;
}

/** Seat counts of a performance from its live state in Redis. */
export interface LiveSeatCounts {
  available: number;
  held: number;
  sold: number;
  /** Taken off sale by an operator (SeatBlocks). */
  blocked: number;
}

/**
 * A seat's static data: it never changes after its performance is created, so one immutable
 * object serves every page that shows the seat (see LocalCatalog).
 */
export interface SeatListing {
  readonly id: number;
  /** 1-based place in the performance's layout order (what cursors count). */
  readonly position: number;
  readonly section: string;
  /** Orders the rows of its section (1 is the first). */
  readonly row: number;
  /** What tickets and signs call the row ("A", "AA", "Balcony 3"). */
  readonly rowLabel: string;
  readonly number: number;
  readonly grade: string;
  /** An integer in minor units of `currency`. */
  readonly price: number;
  readonly currency: string;
}

/** A page of seats in layout order: `items[i]` has the live status `statuses[i]`. */
export interface SeatPage {
  items: readonly SeatListing[];
  statuses: SeatStatus[];
  nextCursor: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface SectionInput {
  name: string;
  grade: string;
  /** Price of each seat, an integer in minor units of the event's currency. */
  price: number;
  rows: number;
  seatsPerRow: number;
  /**
   * The label of each row (index row − 1), one per row, unique in the section, 1…10 characters;
   * absent = generated ("A", "B", …, "Z", "AA", …; see rowLabel).
   */
  rowLabels?: string[];
  /**
   * Where seat 1 of row 1 sits, in map units; give it on every section or on none (then the
   * sections stand side by side, see generateLayout).
   */
  origin?: MapPoint;
  /** Distance between neighbouring seats of a row, map units (default 1). */
  seatPitch?: number;
  /** Distance between neighbouring rows, map units (default 1). */
  rowSpacing?: number;
  /** Rotation of the section about its origin in degrees (x axis toward y axis); needs `origin`. */
  angle?: number;
  /** 1 = best: ranked sections' seats score above unranked ones', lower ranks above higher. */
  rank?: number;
  /** Wheelchair spaces. */
  accessible?: SeatRef[];
  /** Companion seats, each next to (same row, number ± 1) an accessible seat. */
  companions?: SeatRef[];
}

/** A point of the hall map, in map units (the unit is the admin's; seats are 1 apart by default). */
export interface MapPoint {
  x: number;
  y: number;
}

/** A seat of a section by its row and number (both from 1). */
export interface SeatRef {
  row: number;
  number: number;
}

/** An event as the catalog cache keeps it (JSON: its times are ISO strings there) read back. */
export function reviveEvent(cached: CatalogEvent): CatalogEvent {
  return { ...cached, createdAt: new Date(cached.createdAt), updatedAt: new Date(cached.updatedAt) };
}

/** A dated event as the catalog cache keeps it (JSON: its times are ISO strings there) read back. */
export function reviveDatedEvent(cached: DatedEvent): DatedEvent {
  return {
    ...reviveEvent(cached),
    firstStartsAt: cached.firstStartsAt ? new Date(cached.firstStartsAt) : null,
    lastStartsAt: cached.lastStartsAt ? new Date(cached.lastStartsAt) : null,
    performanceCount: cached.performanceCount,
  };
}

/** A performance as the catalog cache keeps it (JSON: its times are ISO strings there) read back. */
export function revivePerformance(cached: Performance): Performance {
  return {
    ...cached,
    startsAt: new Date(cached.startsAt),
    salesOpenAt: new Date(cached.salesOpenAt),
    salesCloseAt: cached.salesCloseAt ? new Date(cached.salesCloseAt) : null,
    cancelUntil: cached.cancelUntil ? new Date(cached.cancelUntil) : null,
    ...(cached.presales && {
      presales: cached.presales.map((presale) => ({
        ...presale,
        opensAt: new Date(presale.opensAt),
        closesAt: new Date(presale.closesAt),
      })),
    }),
  };
}
