import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A performance's waiting room as its admin set it (one row per performance; none: no queue).
 * Redis mirrors it for the hot paths; this row is the source of truth.
 */
@Entity('waiting_rooms')
export class WaitingRoomEntity {
  @PrimaryColumn({ name: 'performance_id', type: 'integer' })
  performanceId: number;

  /** Arrivals before it form the pre-queue, shuffled at this moment. */
  @Column({ name: 'opens_at', type: 'timestamptz' })
  opensAt: Date;

  @Column({ name: 'admit_per_second', type: 'integer' })
  admitPerSecond: number;

  @Column({ name: 'max_active', type: 'integer' })
  maxActive: number;

  @Column({ name: 'admission_ttl_seconds', type: 'integer' })
  admissionTtlSeconds: number;

  @Column({ name: 'session_ttl_seconds', type: 'integer' })
  sessionTtlSeconds: number;

  /** 64 hex digits: the seed of the pre-queue shuffle, secret until the opening. */
  @Column({ type: 'char', length: 64 })
  seed: string;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'clock_timestamp()' })
  updatedAt: Date;
}
