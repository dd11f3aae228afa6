import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { PerformanceEntity } from './performance.entity';

/**
 * One seat of one performance. `position` numbers the seats of a performance 1..N in layout
 * order: seat pages are keyset-paginated and cached by it.
 */
@Entity('seats')
@Unique('seats_performance_place', ['performanceId', 'section', 'row', 'number'])
@Unique('seats_performance_position', ['performanceId', 'position'])
export class SeatEntity {
  @PrimaryGeneratedColumn('identity', { generatedIdentity: 'ALWAYS' })
  id: number;

  @Column({ name: 'performance_id', type: 'int' })
  performanceId: number;

  @ManyToOne('PerformanceEntity', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'performance_id' })
  performance?: PerformanceEntity;

  @Column({ type: 'int' })
  position: number;

  @Column({ type: 'varchar', length: 50 })
  section: string;

  /** Orders the rows of a section, from 1. */
  @Column({ type: 'int' })
  row: number;

  /**
   * What tickets, e-mails and the seat map call the row ("A", "AA", "Balcony 3"): the admin's
   * label or the generated one (rowLabel in libs/ticketing: 1 → "A", 27 → "AA"); the same on
   * every seat of a row.
   */
  @Column({ name: 'row_label', type: 'varchar', length: 10 })
  rowLabel: string;

  @Column({ type: 'int' })
  number: number;

  @Column({ type: 'varchar', length: 20 })
  grade: string;

  /** An integer in minor units of the event's currency (won for KRW, cents for EUR). */
  @Column({ type: 'int' })
  price: number;

  /**
   * Map position in map units (the hall's own unit; seats 1 apart by default), y growing away
   * from the stage. The defaults serve only raw inserts (test fixtures): generated layouts and
   * the SeatGeometry migration set every seat's place.
   */
  @Column({ type: 'double precision', default: 0 })
  x: number;

  @Column({ type: 'double precision', default: 0 })
  y: number;

  /** 0…1000, higher is better: from the distance to the focal point, or the admin's section ranks. */
  @Column({ type: 'int', default: 0 })
  quality: number;

  /** A wheelchair space. */
  @Column({ type: 'boolean', default: false })
  accessible: boolean;

  /** A companion seat beside an accessible one. */
  @Column({ type: 'boolean', default: false })
  companion: boolean;
}
