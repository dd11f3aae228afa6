import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { EventEntity } from './event.entity';

/**
 * Whether a performance sells: PAUSED and CLOSED refuse holds and purchases; CANCELED (the show
 * is called off, its purchases refunded; see performance_cancellations) refuses them for good.
 */
export type PerformanceStatus = 'ON_SALE' | 'PAUSED' | 'CLOSED' | 'CANCELED';

export const PERFORMANCE_STATUSES: readonly PerformanceStatus[] = ['ON_SALE', 'PAUSED', 'CLOSED', 'CANCELED'];

@Entity('performances')
@Index('performances_event_starts_at', ['eventId', 'startsAt', 'id'])
export class PerformanceEntity {
  @PrimaryGeneratedColumn('identity', { generatedIdentity: 'ALWAYS' })
  id: number;

  @Column({ name: 'event_id', type: 'int' })
  eventId: number;

  @ManyToOne('EventEntity', (event: EventEntity) => event.performances, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'event_id' })
  event?: EventEntity;

  @Column({ name: 'starts_at', type: 'timestamptz' })
  startsAt: Date;

  @Column({ name: 'sales_open_at', type: 'timestamptz' })
  salesOpenAt: Date;

  /** ON_SALE, PAUSED, CLOSED or CANCELED (PerformanceStatus). */
  @Column({ type: 'varchar', length: 8, default: 'ON_SALE' })
  status: PerformanceStatus;

  /** When sales end; null = at `startsAt`. */
  @Column({ name: 'sales_close_at', type: 'timestamptz', nullable: true })
  salesCloseAt: Date | null;

  /** Until when buyers may cancel their purchases; null = never (no self-service cancel). */
  @Column({ name: 'cancel_until', type: 'timestamptz', nullable: true })
  cancelUntil: Date | null;

  /**
   * Bumped by every change of the seats' static data (a section's price): the seat-page caches
   * are keyed by it, so none is read stale after such a change.
   */
  @Column({ name: 'seats_version', type: 'int', default: 0 })
  seatsVersion: number;

  @Column({ name: 'total_seats', type: 'int' })
  totalSeats: number;

  /** The stage's focal point on the seat map (map units): seat quality falls with distance to it. */
  @Column({ name: 'focal_x', type: 'double precision', default: 0 })
  focalX: number;

  @Column({ name: 'focal_y', type: 'double precision', default: 0 })
  focalY: number;

  /**
   * When true, a hold of chosen seat ids that would leave a single free seat between taken seats
   * or a row end is refused (best-available holds avoid such seats on their own).
   */
  @Column({ name: 'no_orphan_seats', type: 'boolean', default: false })
  noOrphanSeats: boolean;

  /**
   * Seats one buyer may have bought (paid purchases not canceled) and hold together for this
   * performance; null = no limit beyond the seats held at once (MAX_SEATS_PER_RESERVATION).
   */
  @Column({ name: 'max_tickets_per_buyer', type: 'int', nullable: true })
  maxTicketsPerBuyer: number | null;

  /** Doors open this many minutes before `startsAt` (0-10080); null = CHECK_IN_OPENS_BEFORE_MINUTES. */
  @Column({ name: 'check_in_opens_before_minutes', type: 'int', nullable: true })
  checkInOpensBeforeMinutes: number | null;

  /** Check-in closes this many minutes after `startsAt` (0-10080); null = CHECK_IN_CLOSES_AFTER_MINUTES. */
  @Column({ name: 'check_in_closes_after_minutes', type: 'int', nullable: true })
  checkInClosesAfterMinutes: number | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
